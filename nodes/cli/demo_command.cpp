// SPDX-License-Identifier: Apache-2.0
// `tailfleet demo`: an embedded coordination server on loopback and a
// handful of ephemeral nodes in this one process. They join, print the peers
// they see and their bus events; one node leaves and the others see it go.
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include <spdlog/sinks/stdout_color_sinks.h>

#include "nodes/actor_system_setup.hpp"
#include "nodes/echo_service.hpp"
#include "nodes/cli/cli.hpp"
#include "nodes/cli/print.hpp"
#include "nodes/control/coordination_server.hpp"
#include "nodes/local_client.hpp"
#include "nodes/server.hpp"
#include "runtime/counters.hpp"

namespace tf::cli {

namespace {

using namespace std::chrono;

/// peer_names remembers peer names per watching node, so "peer left" lines
/// can say who left. Shared by watcher actors: mutex-guarded.
struct peer_names {
  std::mutex mtx; // guards: names
  std::map<wire::node_id, std::string> names;

  std::string name_of(wire::node_id id) {
    std::lock_guard<std::mutex> guard{mtx};
    auto i = names.find(id);
    return i == names.end() ? "node " + std::to_string(id) : i->second;
  }
  void learn(const peer_record& p) {
    std::lock_guard<std::mutex> guard{mtx};
    names[p.id()] = std::string{p.short_name()};
  }
};

void print_event(const std::string& node, peer_names& names, const bus::notify& n) {
  auto prefix = "  [" + node + "] ";
  if (n.state)
    print_line(prefix + "state " + std::string{to_string(*n.state)});
  if (n.err_message)
    print_line(prefix + "error: " + *n.err_message);
  for (auto& p : n.peers_changed) {
    names.learn(*p);
    print_line(prefix + "peer joined: " + describe_peer(*p));
  }
  for (auto id : n.peers_removed)
    print_line(prefix + "peer left: " + names.name_of(id));
}

// wait_until polls `done` every 10 ms for at most `limit`.
template <class F>
bool wait_until(F done, milliseconds limit) {
  auto deadline = steady_clock::now() + limit;
  while (!done()) {
    if (steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

size_t peers_seen(server& node) {
  auto st = node.local_client().status();
  return st ? st->num_peers : 0;
}

int run_demo(int num_nodes) {
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  auto started = steady_clock::now();

  print_line("== 1. a coordination server on loopback");
  control::coordination_server_options copts;
  copts.tailnet.domain = "demo.tailnet.internal";
  auto control = control::coordination_server::start(sys, copts);
  if (!control) {
    print_line("demo: " + control.error().message());
    return 1;
  }
  print_line("   control url " + (*control)->url() + ", key " + (*control)->public_key().to_string());
  control::auth_key_spec spec;
  spec.user = "demo@example.com";
  spec.ephemeral = true;
  auto key = (*control)->create_auth_key(spec);
  if (!key) {
    print_line("demo: " + key.error().message());
    return 1;
  }
  print_line("   reusable ephemeral auth key " + key->substr(0, 16) + "...");

  print_line("== 2. " + std::to_string(num_nodes) + " ephemeral nodes join (bus events follow)");
  std::vector<std::unique_ptr<server>> nodes;
  std::vector<bus_subscription> subs;
  std::vector<std::unique_ptr<peer_names>> names;
  auto quiet_log = spdlog::stderr_color_mt("demo");
  quiet_log->set_level(spdlog::level::warn);
  for (int i = 1; i <= num_nodes; ++i) {
    server_options o;
    o.hostname = "node-" + std::to_string(i);
    o.ephemeral = true;
    o.store = make_memory_store();
    o.auth_key = *key;
    o.control_url = (*control)->url();
    o.user_log = quiet_log; // the bus events below tell the story
    auto s = std::make_unique<server>(sys, o);
    names.push_back(std::make_unique<peer_names>());
    auto* pn = names.back().get();
    auto sub = s->local_client().watch_bus(
      bus::notify_initial_state | bus::notify_peer_changes, {},
      [name = o.hostname, pn](const bus::notify& n) { print_event(name, *pn, n); });
    if (sub)
      subs.push_back(std::move(*sub));
    nodes.push_back(std::move(s));
  }
  for (auto& s : nodes) {
    auto st = s->up(seconds(20));
    if (!st) {
      print_line("demo: " + s->hostname() + ": " + st.error().message());
      return 1;
    }
  }
  auto everyone_sees = [&](size_t n) {
    for (auto& s : nodes)
      if (s && peers_seen(*s) != n)
        return false;
    return true;
  };
  if (!wait_until([&] { return everyone_sees(nodes.size() - 1); }, seconds(10))) {
    print_line("demo: nodes did not all see each other");
    return 1;
  }

  print_line("== 3. what each node sees");
  for (auto& s : nodes) {
    auto lc = s->local_client();
    auto st = lc.status();
    auto nm = lc.netmap();
    if (!st || !nm)
      continue;
    std::string line = "   " + describe_status(*st) + ":";
    for (auto& p : nm->peers)
      line += " " + describe_peer(*p);
    print_line(line);
  }
  auto first = nodes.front()->local_client();
  auto second_ip = nodes[1]->local_client().status()->tailnet_ips.front();
  if (auto who = first.whois(second_ip.to_string() + ":443"); who)
    print_line("   node-1 whois " + second_ip.to_string() + ":443 -> "
               + std::string{who->node->name()} + ", user " + who->user.login_name);

  print_line("== 3b. node-1 talks to node-2 over the tailnet (TCP echo, by MagicDNS name)");
  if (auto echo = echo_service::start(*nodes[1], 7); echo) {
    auto t0 = steady_clock::now();
    auto c = nodes.front()->dial("tcp", "node-2:7", seconds(10));
    std::string msg = "hello from node-1";
    std::string back(msg.size(), '\0');
    bool ok = c.ok()
              && c->write({reinterpret_cast<const uint8_t*>(msg.data()), msg.size()}).ok();
    for (size_t got = 0; ok && got < back.size();) {
      auto n = c->read({reinterpret_cast<uint8_t*>(back.data()) + got, back.size() - got},
                       netstack::after(seconds(10)));
      ok = n.ok() && *n > 0;
      got += ok ? *n : 0;
    }
    auto us = duration_cast<microseconds>(steady_clock::now() - t0).count();
    print_line(ok ? "   node-2 echoed \"" + back + "\" in " + std::to_string(us)
                      + " us (dial included; in-process peers skip the cipher)"
                  : "   echo failed: " + (c ? std::string{"read/write"} : c.error().message()));
  } else {
    print_line("   echo service: " + echo.error().message());
  }

  auto leaving = nodes.size() / 2;
  print_line("== 4. " + nodes[leaving]->hostname() + " closes (an ephemeral node logs out)");
  auto close_at = steady_clock::now();
  subs[leaving].cancel();
  static_cast<void>(nodes[leaving]->close());
  nodes[leaving].reset();
  if (!wait_until([&] { return everyone_sees(num_nodes - 2); }, seconds(10))) {
    print_line("demo: the others did not see the node leave");
    return 1;
  }
  auto gone_ms = duration_cast<milliseconds>(steady_clock::now() - close_at).count();
  print_line("   every other node saw it leave within " + std::to_string(gone_ms) + " ms");

  print_line("== 5. shutting down");
  subs.clear();
  for (auto& s : nodes)
    if (s)
      static_cast<void>(s->close());
  nodes.clear();
  (*control)->stop();
  auto total = duration_cast<milliseconds>(steady_clock::now() - started).count();
  print_line("   done in " + std::to_string(total) + " ms; control deltas sent: "
             + std::to_string(counter_value("control_deltas_flushed"))
             + ", node deltas applied incrementally: "
             + std::to_string(counter_value("map_response_handled_incrementally"))
             + ", full netmaps: " + std::to_string(counter_value("map_response_full_rebuild")));
  return 0;
}

} // namespace

command add_demo_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "a coordination server and a few nodes in one process");
  auto num = std::make_shared<int>(5);
  cmd->add_option("--nodes", *num, "how many nodes")->capture_default_str()->check(
    CLI::Range(3, 200));
  return [=] { return run_demo(*num); };
}

} // namespace tf::cli
