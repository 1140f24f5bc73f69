// SPDX-License-Identifier: Apache-2.0
// `tailfleet control`: runs a coordination server until SIGINT/SIGTERM.
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>

#include <iostream>

#include "nodes/actor_system_setup.hpp"
#include "nodes/cli/cli.hpp"
#include "nodes/control/coordination_server.hpp"

namespace tf::cli {

command add_control_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("control", "run a coordination server");
  auto opts = std::make_shared<control::coordination_server_options>();
  auto ephemeral_s = std::make_shared<double>(60.0);
  auto batch_ms = std::make_shared<int>(20);
  auto key_user = std::make_shared<std::string>();
  auto verbose = std::make_shared<bool>(false);
  cmd->add_option("--listen", opts->listen_host, "numeric address to bind")
    ->capture_default_str();
  cmd->add_option("--port", opts->control_port, "control port for nodes (0: any)")
    ->capture_default_str();
  cmd->add_option("--http-port", opts->http_port, "HTTP port: /key and the admin API (0: any)")
    ->capture_default_str();
  cmd->add_option("--db", opts->db_path, "SQLite database file")->capture_default_str();
  cmd->add_option("--domain", opts->tailnet.domain, "MagicDNS domain of the tailnet")
    ->capture_default_str();
  cmd->add_option("--ephemeral-timeout", *ephemeral_s,
                  "seconds before a vanished ephemeral node is removed")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  cmd->add_option("--batch-window", *batch_ms, "milliseconds changes are batched into one delta")
    ->capture_default_str()
    ->check(CLI::Range(0, 10'000));
  cmd->add_option("--admin-token", opts->admin_token, "bearer token of the admin API (default: random)");
  cmd->add_option("--create-key", *key_user,
                  "create a reusable auth key for this user at start and print it");
  cmd->add_flag("-v,--verbose", *verbose, "log connections and removals");
  return [=] {
    caf::actor_system_config cfg;
    configure_actor_system(cfg);
    caf::actor_system sys{cfg};
    opts->tailnet.ephemeral_timeout = std::chrono::milliseconds(
      static_cast<int64_t>(*ephemeral_s * 1000));
    opts->server.batch_window = std::chrono::milliseconds(*batch_ms);
    if (*verbose)
      opts->server.log = spdlog::stderr_color_mt("control");
    auto server = control::coordination_server::start(sys, *opts);
    if (!server) {
      std::cerr << "tailfleet control: " << server.error().message() << "\n";
      return 1;
    }
    auto& s = **server;
    std::cout << "control url:   " << s.url() << "\n"
              << "control port:  " << s.control_port() << "\n"
              << "server key:    " << s.public_key().to_string() << "\n"
              << "admin token:   " << s.admin_token() << "\n";
    if (!key_user->empty()) {
      control::auth_key_spec spec;
      spec.user = *key_user;
      auto key = s.create_auth_key(spec);
      if (!key) {
        std::cerr << "tailfleet control: " << key.error().message() << "\n";
        return 1;
      }
      std::cout << "auth key:      " << *key << "\n";
    }
    std::cout << std::flush;
    wait_for_signal();
    s.stop();
    return 0;
  };
}

} // namespace tf::cli
