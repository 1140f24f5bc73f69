// SPDX-License-Identifier: Apache-2.0
// Connection lifecycles in the shared stack with real threads: a listener
// closed with connections pending, a handshake that completes after its
// listener closed, a node removed under open connections
// and blocked readers (clean errors, no pcbs left), and 1,000 concurrent
// connections between two nodes.
#define CAF_SUITE netstack_tcp_lifecycle
#include <caf/test/unit_test_impl.hpp>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "netstack/netstack.hpp"
#include "runtime/counters.hpp"
#include "tests/netstack/stream_util.hpp"
#include "tests/netstack/switchboard.hpp"

using namespace tf;
using namespace tf::netstack;
using namespace tf::netstack::testing;
using namespace std::chrono_literals;

namespace {

struct fixture : node_pair {
  fixture() : node_pair(0x4600) {}
};

uint64_t counter_value(const char* name) {
  return get_counter(name).value();
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(lifecycle, fixture)

CAF_TEST(listener_close_with_pending_connections) {
  auto l = listen_tcp(b, {ip_addr{}, 80});
  CAF_REQUIRE(l.ok());
  std::vector<conn> clients;
  for (int i = 0; i < 3; ++i) {
    auto c = dial_tcp(a, {i == 1 ? b6 : b4, 80}, after(5s)); // handshake done, never accepted
    CAF_REQUIRE(c.ok());
    clients.push_back(std::move(*c));
  }
  auto waiter = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(50ms);
    l->close();
  });
  // accept() takes the first queued one; close() resets the other two.
  auto first = l->accept(after(5s));
  CAF_CHECK(first.ok());
  waiter.get();
  CAF_CHECK_EQUAL(l->accept(after(1s)).code(), errc::closed);
  std::vector<uint8_t> buf(8);
  for (size_t i = 1; i < clients.size(); ++i) {
    auto r = clients[i].read(buf, after(5s));
    CAF_CHECK_EQUAL(r.code(), errc::connection_lost);
  }
  // The accepted one still works.
  uint8_t ping[] = {'p'};
  CAF_CHECK(clients[0].write(ping, after(1s)).ok());
  auto got = first->read(buf, after(5s));
  CAF_CHECK(got.ok() && *got == 1);
}

CAF_TEST(a_handshake_completing_after_its_listener_closed_is_reset) {
  // The dialer's last handshake ACK is held until the listener closed: it
  // then reaches a half-open connection of a retired listener, which lwIP
  // would hand to a missing accept callback (an assertion: abort).
  auto l = listen_tcp(b, {ip_addr{}, 86});
  CAF_REQUIRE(l.ok());
  sb.hold([to = b4](std::span<const uint8_t> p) {
    if (p.size() < 40 || (p[0] >> 4) != 4 || p[9] != 6)
      return false;
    size_t ihl = (p[0] & 0x0f) * 4u;
    auto tcp = p.subspan(ihl);
    size_t total = (size_t{p[2]} << 8) | p[3];
    size_t payload = total - ihl - (tcp[12] >> 4) * 4u;
    bool ack_only = (tcp[13] & 0x10) != 0 && (tcp[13] & 0x07) == 0;
    return ip_addr::v4(p[16], p[17], p[18], p[19]) == to && tcp[2] == 0 && tcp[3] == 86
           && ack_only && payload == 0;
  });
  auto c = dial_tcp(a, {b4, 86}, after(5s)); // established once the SYN-ACK came
  CAF_REQUIRE(c.ok());
  l->close();
  auto refused = counter_value("netstack_tcp_accept_after_close");
  CAF_REQUIRE_EQUAL(sb.release_held(), 1u);
  std::vector<uint8_t> buf(8);
  CAF_CHECK_EQUAL(c->read(buf, after(5s)).code(), errc::connection_lost);
  CAF_CHECK_EQUAL(counter_value("netstack_tcp_accept_after_close"), refused + 1);
  CAF_MESSAGE("the stack still takes connections");
  auto again = listen_tcp(b, {ip_addr{}, 87});
  CAF_REQUIRE(again.ok());
  auto d = dial_tcp(a, {b4, 87}, after(5s));
  CAF_CHECK(d.ok());
  CAF_CHECK(again->accept(after(5s)).ok());
}

CAF_TEST(node_removal_with_open_connections) {
  auto l = listen_tcp(b, {ip_addr{}, 80});
  CAF_REQUIRE(l.ok());
  auto c1 = dial_tcp(a, {b4, 80}, after(5s));
  auto c2 = dial_tcp(a, {b6, 80}, after(5s));
  CAF_REQUIRE(c1.ok() && c2.ok());
  auto s1 = l->accept(after(5s));
  CAF_REQUIRE(s1.ok());
  auto u = listen_udp(b, {ip_addr{}, 53});
  CAF_REQUIRE(u.ok());
  // Blocked callers on b: a reader, an acceptor, a UDP receiver.
  auto reader = std::async(std::launch::async, [&] {
    std::vector<uint8_t> buf(8);
    return s1->read(buf, after(10s)).code();
  });
  auto acceptor = std::async(std::launch::async, [&] {
    auto s2 = l->accept(after(10s)); // takes c2's connection, then blocks
    CAF_CHECK(s2.ok());
    return l->accept(after(10s)).code();
  });
  auto receiver = std::async(std::launch::async, [&] {
    std::vector<uint8_t> buf(8);
    return u->recv_from(buf, after(10s)).code();
  });
  std::this_thread::sleep_for(100ms);
  CAF_CHECK_GREATER(num_pcbs_at(b4), 0u);
  CAF_REQUIRE(remove_node(b).ok());
  CAF_CHECK_EQUAL(reader.get(), errc::closed);
  CAF_CHECK_EQUAL(acceptor.get(), errc::closed);
  CAF_CHECK_EQUAL(receiver.get(), errc::closed);
  CAF_CHECK_EQUAL(num_pcbs_at(b4), 0u);
  CAF_CHECK_EQUAL(num_pcbs_at(b6), 0u);
  // a's side saw an RST for both connections.
  std::vector<uint8_t> buf(8);
  CAF_CHECK_EQUAL(c1->read(buf, after(5s)).code(), errc::connection_lost);
  CAF_CHECK_EQUAL(c2->read(buf, after(5s)).code(), errc::connection_lost);
  // Calls on b's objects after removal fail cleanly.
  uint8_t x[] = {1};
  CAF_CHECK_EQUAL(s1->write(x, after(1s)).code(), errc::closed);
  CAF_CHECK_EQUAL(u->send_to(x, {a4, 53}).code(), errc::closed);
  CAF_CHECK_EQUAL(listen_tcp(b, {ip_addr{}, 80}).code(), errc::not_found);
  c1->close();
  c2->close();
  CAF_CHECK(remove_node(a).ok());
  CAF_CHECK_EQUAL(num_pcbs_at(a4), 0u);
  CAF_CHECK_EQUAL(num_pcbs_at(a6), 0u);
}

CAF_TEST(thousand_concurrent_connections) {
  constexpr size_t num = 1000;
  constexpr size_t msg = 1000;
  auto l = listen_tcp(b, {ip_addr{}, 80});
  CAF_REQUIRE(l.ok());
  std::vector<conn> servers(num);
  auto acceptor = std::async(std::launch::async, [&] {
    for (size_t i = 0; i < num; ++i) {
      auto s = l->accept(after(30s));
      if (!s) {
        return i;
      }
      servers[i] = std::move(*s);
    }
    return num;
  });
  auto t0 = std::chrono::steady_clock::now();
  std::vector<conn> clients;
  for (size_t i = 0; i < num; ++i) {
    auto c = dial_tcp(a, {i % 2 ? b6 : b4, 80}, after(10s));
    CAF_REQUIRE(c.ok());
    clients.push_back(std::move(*c));
  }
  CAF_REQUIRE_EQUAL(acceptor.get(), num);
  auto t1 = std::chrono::steady_clock::now();
  CAF_CHECK_GREATER_OR_EQUAL(stats().tcp_active, 2 * num);
  // Every client sends its own bytes; 4 server threads echo them; all open at once.
  std::vector<std::thread> echoers;
  for (size_t t = 0; t < 4; ++t) {
    echoers.emplace_back([&, t] {
      std::vector<uint8_t> buf(msg);
      for (size_t k = t; k < 2 * num; k += 4) {
        size_t i = k % num;
        size_t got = 0;
        while (got < msg) {
          auto n = servers[i].read({buf.data() + got, msg - got}, after(30s));
          if (!n || *n == 0) {
            break;
          }
          got += *n;
        }
        (void)servers[i].write({buf.data(), got}, after(30s));
      }
    });
  }
  // Two rounds: the second after every connection went idle and was parked
  // (taken off lwIP's active list); its segments must unpark them.
  std::vector<uint8_t> out(msg);
  std::vector<uint8_t> in(msg);
  size_t good = 0;
  for (int round = 0; round < 2; ++round) {
    if (round == 1) {
      std::this_thread::sleep_for(1200ms);
      auto st = stats();
      CAF_MESSAGE("parked " << st.tcp_parked << " of " << st.tcp_active << " active pcbs");
      CAF_CHECK_GREATER_OR_EQUAL(st.tcp_parked, 2 * num - 10);
    }
    for (size_t i = 0; i < num; ++i) {
      stream(i + round).fill(out);
      CAF_REQUIRE(clients[i].write(out, after(10s)).ok());
    }
    for (size_t i = 0; i < num; ++i) {
      stream(i + round).fill(out);
      size_t got = 0;
      while (got < msg) {
        auto n = clients[i].read({in.data() + got, msg - got}, after(30s));
        if (!n || *n == 0) {
          break;
        }
        got += *n;
      }
      good += got == msg && in == out ? 1 : 0;
    }
  }
  for (auto& t : echoers) {
    t.join();
  }
  CAF_CHECK_EQUAL(good, 2 * num);
  auto t2 = std::chrono::steady_clock::now();
  using ms = std::chrono::duration<double, std::milli>;
  double dial_ms = ms(t1 - t0).count();
  double echo_ms = ms(t2 - t1).count();
  CAF_MESSAGE("1000 connections: dial+accept " << dial_ms << " ms, echo " << echo_ms << " ms");
  clients.clear();
  servers.clear();
  CAF_CHECK_EQUAL(stats().tcp_parked, 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
