// SPDX-License-Identifier: Apache-2.0
// `tailfleet up`: runs one node until SIGINT/SIGTERM, printing its state and
// (with --watch) its bus events.
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <iostream>
#include <mutex>

#include "nodes/actor_system_setup.hpp"
#include "nodes/cli/cli.hpp"
#include "nodes/cli/print.hpp"
#include "nodes/echo_service.hpp"
#include "nodes/local_client.hpp"
#include "nodes/server.hpp"

namespace tf::cli {

command add_up_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("up", "run one node until stopped");
  auto opts = std::make_shared<server_options>();
  auto memory = std::make_shared<bool>(false);
  auto watch = std::make_shared<bool>(false);
  auto echo_port = std::make_shared<int>(-1);
  auto discard_port = std::make_shared<int>(-1);
  auto wireguard_only = std::make_shared<bool>(false);
  cmd->add_option("--control-url", opts->control_url, "coordination server (or $TS_CONTROL_URL)");
  cmd->add_option("--auth-key", opts->auth_key, "auth key (or $TS_AUTHKEY)");
  cmd->add_option("--hostname", opts->hostname, "node name");
  cmd->add_option("--state-dir", opts->dir, "state directory");
  cmd->add_option("--tags", opts->advertise_tags, "tags to advertise (tag:x)")->delimiter(',');
  cmd->add_flag("--ephemeral", opts->ephemeral, "register as an ephemeral node");
  cmd->add_flag("--mem", *memory, "keep state in memory (ephemeral nodes only)");
  cmd->add_flag("--watch", *watch, "print bus events");
  cmd->add_option("--port", opts->port, "own WireGuard UDP port (default: shared, any)");
  cmd->add_option("--echo", *echo_port, "serve TCP and UDP echo on this tailnet port")
    ->check(CLI::Range(0, 65535));
  cmd->add_option("--discard", *discard_port, "serve TCP and UDP discard on this tailnet port")
    ->check(CLI::Range(0, 65535));
  cmd->add_flag("--no-in-memory", *wireguard_only,
                "reach nodes of this process over WireGuard too (tests)");
  return [=] {
    caf::actor_system_config cfg;
    configure_actor_system(cfg);
    caf::actor_system sys{cfg};
    if (*memory)
      opts->store = make_memory_store();
    opts->in_memory_peers = !*wireguard_only;
    server node{sys, *opts};
    bus_subscription sub;
    if (*watch) {
      auto lc = node.local_client();
      auto name = node.hostname();
      auto s = lc.watch_bus(bus::notify_initial_state | bus::notify_peer_changes, {},
                            [name](const bus::notify& n) { print_notify(name, n); });
      if (s)
        sub = std::move(*s);
    }
    auto st = node.up();
    if (!st) {
      std::cerr << "tailfleet up: " << st.error().message() << "\n";
      return 1;
    }
    std::cout << "up: " << describe_status(*st) << std::endl;
    std::unique_ptr<echo_service> echo;
    if (*echo_port >= 0) {
      auto e = echo_service::start(node, static_cast<uint16_t>(*echo_port));
      if (!e) {
        std::cerr << "tailfleet up: echo: " << e.error().message() << "\n";
        return 1;
      }
      echo = std::move(*e);
      std::cout << "echo: TCP and UDP port " << echo->port() << std::endl;
    }
    std::unique_ptr<echo_service> discard;
    if (*discard_port >= 0) {
      auto d = echo_service::start(node, static_cast<uint16_t>(*discard_port),
                                   echo_service::mode::discard);
      if (!d) {
        std::cerr << "tailfleet up: discard: " << d.error().message() << "\n";
        return 1;
      }
      discard = std::move(*d);
      std::cout << "discard: TCP and UDP port " << discard->port() << std::endl;
    }
    wait_for_signal();
    if (discard)
      discard->stop();
    if (echo)
      echo->stop();
    sub.cancel();
    auto closed = node.close();
    return closed ? 0 : 1;
  };
}

} // namespace tf::cli
