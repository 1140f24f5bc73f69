// SPDX-License-Identifier: Apache-2.0
// lifecycle_peer: the far end of tests/integration/cross_process_lifecycle_test,
// a node in a process of its own with three services whose behaviour the
// test can only see through the tailnet:
//   port 7101: accepts, reads one byte, then resets the connection (abort);
//   port 7102: listens and never accepts; the first connection to port 7103
//              closes that listener (what waited in its queue is reset);
//   port 7104: reads until the client's FIN, then writes "got <n> bytes"
//              and closes (a half-close from the other side).
// Prints "ready" once the node is up and every service listens; runs until
// SIGTERM or SIGINT (then closes the node: logout). Test support only.
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "nodes/actor_system_setup.hpp"
#include "nodes/server.hpp"
#include "tests/support/bytes_of.hpp"

using namespace tf;
using namespace std::chrono;

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_signal(int) {
  stop_requested = 1;
}

/// serve_each accepts on `l` until it closes and runs `f` on each connection.
template <class F>
std::thread serve_each(netstack::listener& l, F f) {
  return std::thread{[&l, f] {
    for (;;) {
      auto c = l.accept();
      if (!c)
        return;
      f(*c);
    }
  }};
}

} // namespace

int main(int argc, char** argv) {
  server_options opts;
  CLI::App app{"lifecycle_peer: reset, listener close and half-close over the tailnet"};
  app.add_option("--control-url", opts.control_url)->required();
  app.add_option("--auth-key", opts.auth_key)->required();
  app.add_option("--hostname", opts.hostname)->required();
  CLI11_PARSE(app, argc, argv);
  opts.ephemeral = true;
  opts.store = make_memory_store();
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  server node{sys, opts};
  if (auto st = node.up(); !st) {
    std::cerr << "lifecycle_peer: " << st.error().message() << std::endl;
    return 1;
  }
  auto resetting = node.listen("tcp", ":7101");
  auto never_accepting = node.listen("tcp", ":7102");
  auto closer = node.listen("tcp", ":7103");
  auto half_close = node.listen("tcp", ":7104");
  if (!resetting || !never_accepting || !closer || !half_close) {
    std::cerr << "lifecycle_peer: listen failed" << std::endl;
    return 1;
  }
  std::vector<std::thread> services;
  services.push_back(serve_each(*resetting, [](netstack::conn& c) {
    std::vector<uint8_t> one(1);
    (void)c.read(one, netstack::after(seconds(10)));
    c.abort();
  }));
  services.push_back(serve_each(*closer, [&](netstack::conn&) { never_accepting->close(); }));
  services.push_back(serve_each(*half_close, [](netstack::conn& c) {
    std::vector<uint8_t> buf(4096);
    size_t total = 0;
    for (;;) {
      auto n = c.read(buf, netstack::after(seconds(10)));
      if (!n || *n == 0)
        break;
      total += *n;
    }
    auto reply = "got " + std::to_string(total) + " bytes";
    (void)c.write(test::bytes_of(reply));
    c.close();
  }));
  std::cout << "ready" << std::endl;
  while (!stop_requested)
    std::this_thread::sleep_for(milliseconds(20));
  for (auto* l : {&*resetting, &*never_accepting, &*closer, &*half_close})
    l->close();
  for (auto& t : services)
    t.join();
  (void)node.close();
  return 0;
}
