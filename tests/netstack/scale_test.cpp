// SPDX-License-Identifier: Apache-2.0
// 10,000 nodes in one process, each listening on port 80 (IPv4 and IPv6),
// reachable from each other over the switchboard; removing them leaves no
// pcb behind. Prints the times (bench-like numbers live in the log only).
#define CAF_SUITE netstack_scale
#include <caf/test/unit_test_impl.hpp>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "netstack/netstack.hpp"
#include "tests/netstack/switchboard.hpp"

using namespace tf;
using namespace tf::netstack;
using namespace tf::netstack::testing;
using namespace std::chrono_literals;

namespace {

using ms = std::chrono::duration<double, std::milli>;

double since(std::chrono::steady_clock::time_point t0) {
  return ms(std::chrono::steady_clock::now() - t0).count();
}

// round_trip: `from` dials `to`, the listener echoes one message.
bool round_trip(node_id from, listener& l, const ip_endpoint& to) {
  auto server = std::async(std::launch::async, [&] {
    auto s = l.accept(after(10s));
    if (!s) {
      return false;
    }
    std::vector<uint8_t> buf(64);
    auto n = s->read(buf, after(10s));
    return n && *n > 0 && s->write({buf.data(), *n}, after(10s)).ok();
  });
  auto c = dial_tcp(from, to, after(10s));
  if (!c) {
    return false;
  }
  std::string msg = "hello " + to.to_string();
  if (!c->write({reinterpret_cast<const uint8_t*>(msg.data()), msg.size()}, after(10s))) {
    return false;
  }
  std::vector<uint8_t> buf(64);
  auto n = c->read(buf, after(10s));
  bool ok = server.get() && n && std::string(reinterpret_cast<const char*>(buf.data()), *n) == msg;
  return ok;
}

} // namespace

CAF_TEST(ten_thousand_listening_nodes) {
  constexpr uint32_t num = 10000;
  auto base = stats();
  switchboard sb;
  std::vector<node_id> nodes;
  std::vector<listener> listeners;
  auto t0 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < num; ++i) {
    auto id = sb.add(v4(0x10000 + i), v6(0x10000 + i));
    if (!id) {
      CAF_FAIL("add node " << i << ": " << id.error().message());
    }
    nodes.push_back(*id);
  }
  double add_ms = since(t0);
  t0 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < num; ++i) {
    auto l = listen_tcp(nodes[i], {ip_addr{}, 80});
    if (!l) {
      CAF_FAIL("listen on node " << i << ": " << l.error().message());
    }
    listeners.push_back(std::move(*l));
  }
  double listen_ms = since(t0);
  CAF_CHECK_EQUAL(stats().tcp_listen, base.tcp_listen + 2 * num);
  t0 = std::chrono::steady_clock::now();
  CAF_CHECK(round_trip(nodes[0], listeners[num - 1], {v4(0x10000 + num - 1), 80}));
  CAF_CHECK(round_trip(nodes[num - 1], listeners[0], {v4(0x10000), 80}));
  CAF_CHECK(round_trip(nodes[1234], listeners[5000], {v6(0x10000 + 5000), 80}));
  double dial_ms = since(t0);
  t0 = std::chrono::steady_clock::now();
  listeners.clear();
  size_t removed = 0;
  for (auto id : nodes) {
    removed += remove_node(id).ok() ? 1 : 0;
  }
  CAF_CHECK_EQUAL(removed, num);
  double remove_ms = since(t0);
  auto after_all = stats();
  CAF_CHECK_EQUAL(after_all.tcp_listen, base.tcp_listen);
  CAF_CHECK_EQUAL(after_all.tcp_active, base.tcp_active);
  CAF_CHECK_EQUAL(after_all.tcp_time_wait, base.tcp_time_wait);
  CAF_CHECK_EQUAL(after_all.nodes, base.nodes);
  // Closed listening pcbs are unlinked and freed in batches by the reaper.
  for (int i = 0; i < 100 && stats().tcp_listen_closing > 0; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  CAF_CHECK_EQUAL(stats().tcp_listen_closing, 0u);
  CAF_MESSAGE("10000 nodes: add " << add_ms << " ms, listen :80 (v4+v6) " << listen_ms
              << " ms, 3 dial+echo round trips " << dial_ms << " ms, remove " << remove_ms << " ms");
}
