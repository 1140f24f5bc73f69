// SPDX-License-Identifier: Apache-2.0
// TCP between nodes of the shared stack over the in-memory switchboard, with
// real threads: 100 MB echo with a checksum, IPv6, direct (re-entrant)
// delivery, half-close, reset, refused, dial timeout, port rules, a stalled
// reader's receive buffer, and blocking calls refused inside callbacks.
#define CAF_SUITE netstack_tcp
#include <caf/test/unit_test_impl.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "netstack/netstack.hpp"
#include "netstack/tcp_listener_core.hpp"
#include "runtime/counters.hpp"
#include "tests/netstack/stream_util.hpp"
#include "tests/netstack/switchboard.hpp"
#include "tests/support/bytes_of.hpp"

using namespace tf;
using namespace tf::netstack;
using namespace tf::netstack::testing;
using namespace std::chrono_literals;
using tf::test::bytes_of;

namespace {

struct fixture : node_pair {
  explicit fixture(bool direct = false) : node_pair(0x3c00, direct) {}
};

std::string read_string(conn& c, size_t want) {
  std::string out;
  std::vector<uint8_t> buf(want);
  while (out.size() < want) {
    auto n = c.read(buf, after(5s));
    if (!n || *n == 0) {
      break;
    }
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return out;
}

/// wait_for_counter polls counter `name` until it reaches `want`.
bool wait_for_counter(const char* name, uint64_t want, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (counter_value(name) < want) {
    if (std::chrono::steady_clock::now() > end)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

/// connection is one TCP connection from a to b: b's listener and both ends.
struct connection {
  listener l;
  conn client;  // a's end
  conn server;  // b's end, accepted
};

connection connect_pair(fixture& f, uint16_t port) {
  auto l = listen_tcp(f.b, {ip_addr{}, port});
  CAF_REQUIRE(l.ok());
  auto c = dial_tcp(f.a, {f.b4, port}, after(5s));
  CAF_REQUIRE(c.ok());
  auto s = l->accept(after(5s));
  CAF_REQUIRE(s.ok());
  return {std::move(*l), std::move(*c), std::move(*s)};
}

// echo_test: a dials b, sends `total` bytes, b echoes, a checks the hash.
void echo_test(fixture& f, const ip_addr& to, size_t total) {
  auto l = listen_tcp(f.b, {ip_addr{}, 7});
  CAF_REQUIRE(l.ok());
  auto server = std::async(std::launch::async, [&] {
    auto c = l->accept(after(10s));
    return c ? echo(*c) : size_t{0};
  });
  auto c = dial_tcp(f.a, {to, 7}, after(5s));
  CAF_REQUIRE(c.ok());
  CAF_CHECK_EQUAL(c->remote_endpoint().port, 7);
  auto t0 = std::chrono::steady_clock::now();
  auto sent = std::async(std::launch::async, [&] {
    uint64_t h = send_stream(*c, 99, total);
    (void)c->shutdown_write();
    return h;
  });
  auto got = drain(*c);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  uint64_t want = sent.get();
  CAF_CHECK_EQUAL(server.get(), total);
  CAF_CHECK_EQUAL(got.end, errc::ok);
  CAF_CHECK_EQUAL(got.bytes, total);
  CAF_CHECK_NOT_EQUAL(want, 0u);
  CAF_CHECK_EQUAL(got.hash, want);
  CAF_MESSAGE("echoed " << (total >> 20) << " MiB in " << s << " s: "
                        << (2.0 * total * 8 / s / 1e9) << " Gbit/s through the stack (both ways)");
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(tcp, fixture)

CAF_TEST(echo_100_mb_with_checksum) {
  echo_test(*this, b4, 100u << 20);
}

CAF_TEST(echo_over_ipv6) {
  echo_test(*this, b6, 4u << 20);
}

CAF_TEST(half_close) {
  auto l = listen_tcp(b, {b4, 80});
  CAF_REQUIRE(l.ok());
  auto server = std::async(std::launch::async, [&] {
    auto c = l->accept(after(5s));
    CAF_REQUIRE(c.ok());
    auto got = read_string(*c, 100); // up to EOF
    auto w = c->write(bytes_of("bye:" + got), after(5s));
    CAF_CHECK(w.ok());
    c->close();
    return got;
  });
  auto c = dial_tcp(a, {b4, 80}, after(5s));
  CAF_REQUIRE(c.ok());
  CAF_CHECK(c->write(bytes_of("hello"), after(5s)).ok());
  CAF_CHECK(c->shutdown_write().ok());
  CAF_CHECK_EQUAL(c->write(bytes_of("late"), after(1s)).code(), errc::closed);
  CAF_CHECK_EQUAL(server.get(), "hello");
  CAF_CHECK_EQUAL(read_string(*c, 9), "bye:hello");
  std::vector<uint8_t> buf(16);
  auto eof = c->read(buf, after(5s));
  CAF_REQUIRE(eof.ok());
  CAF_CHECK_EQUAL(*eof, 0u);
}

CAF_TEST(stalled_reader_holds_at_most_its_receive_buffer) {
  constexpr size_t total = 4 << 20;
  auto l = listen_tcp(b, {b4, 82});
  CAF_REQUIRE(l.ok());
  auto c = dial_tcp(a, {b4, 82}, after(5s));
  CAF_REQUIRE(c.ok());
  auto accepted = l->accept(after(5s));
  CAF_REQUIRE(accepted.ok());
  auto sent = std::async(std::launch::async, [&] {
    uint64_t h = send_stream(*c, 5, total);
    (void)c->shutdown_write();
    return h;
  });
  // The reader reads once (conn's receive buffer applies from then on),
  // then stalls: the sender fills the receive buffer (acked on arrival
  // beyond the window, which doubled) and stops there.
  std::vector<uint8_t> first(1000);
  auto n = accepted->read(first, after(5s));
  CAF_REQUIRE(n.ok());
  fnv read_hash;
  read_hash.add({first.data(), *n});
  size_t held = 0;
  for (int i = 0; i < 100 && held < conn::receive_buffer; ++i) {
    std::this_thread::sleep_for(20ms);
    held = stats().rx_buffered;
  }
  std::this_thread::sleep_for(200ms);
  held = stats().rx_buffered;
  CAF_MESSAGE("a stalled reader holds " << held << " bytes");
  CAF_CHECK_GREATER(held, tcp_core::wide_window);
  CAF_CHECK_LESS_OR_EQUAL(held, conn::receive_buffer);
  CAF_CHECK(sent.wait_for(0s) != std::future_status::ready);
  // Reading resumes the stream; every byte arrives once, in order.
  auto got = drain(*accepted, after(60s), read_hash);
  CAF_CHECK_EQUAL(got.end, errc::ok);
  CAF_CHECK_EQUAL(*n + got.bytes, total);
  CAF_CHECK_EQUAL(got.hash, sent.get());
  CAF_CHECK_EQUAL(stats().rx_buffered, 0u);
}

CAF_TEST(a_full_accept_queue_drops_syns_until_there_is_room) {
  // Nobody accepts: max_pending connections wait; the next dial's SYN is
  // dropped and counted, not answered, and the dial completes by its SYN
  // retransmission once an accept made room (lwIP's first SYN timeout is
  // 3 s). The queued connections are served in order.
  auto l = listen_tcp(b, {ip_addr{}, 8080});
  CAF_REQUIRE(l.ok());
  std::vector<conn> queued;
  for (size_t i = 0; i < tcp_listener_core::max_pending; ++i) {
    auto c = dial_tcp(a, {b4, 8080}, after(5s));
    CAF_REQUIRE(c.ok());
    queued.push_back(std::move(*c));
  }
  auto dropped = counter_value("netstack_tcp_syn_dropped_queue_full");
  auto reset = counter_value("netstack_tcp_accept_queue_full");
  auto extra = std::async(std::launch::async, [&] { return dial_tcp(a, {b4, 8080}, after(20s)); });
  CAF_CHECK(wait_for_counter("netstack_tcp_syn_dropped_queue_full", dropped + 1, 5s));
  CAF_CHECK(extra.wait_for(200ms) == std::future_status::timeout); // still waiting
  auto first = l->accept(after(5s));
  CAF_REQUIRE(first.ok());
  CAF_REQUIRE(queued.front().write(bytes_of("hi"), after(5s)).ok());
  CAF_CHECK_EQUAL(read_string(*first, 2), "hi");
  auto late = extra.get();
  CAF_REQUIRE(late.ok());
  CAF_CHECK_EQUAL(counter_value("netstack_tcp_accept_queue_full"), reset);
  // The late connection joined the back of the queue.
  for (size_t i = 1; i < tcp_listener_core::max_pending; ++i)
    CAF_REQUIRE(l->accept(after(5s)).ok());
  auto last = l->accept(after(5s));
  CAF_REQUIRE(last.ok());
  CAF_REQUIRE(late->write(bytes_of("late"), after(5s)).ok());
  CAF_CHECK_EQUAL(read_string(*last, 4), "late");
}

CAF_TEST(reset_gives_clean_error) {
  auto [l, c, s] = connect_pair(*this, 80);
  auto reader = std::async(std::launch::async, [&] {
    std::vector<uint8_t> buf(16);
    return c.read(buf, after(10s));
  });
  std::this_thread::sleep_for(50ms);
  s.abort();
  auto r = reader.get();
  CAF_CHECK_EQUAL(r.code(), errc::connection_lost);
  if (!r) {
    CAF_MESSAGE("reader got: " << r.error().message());
    CAF_CHECK(r.error().detail.find("reset") != std::string::npos);
  }
  CAF_CHECK_EQUAL(c.write(bytes_of("x"), after(1s)).code(), errc::connection_lost);
  std::vector<uint8_t> buf(4);
  CAF_CHECK_EQUAL(s.read(buf, after(1s)).code(), errc::closed);
}

CAF_TEST(close_sends_fin_when_all_was_read_else_rst) {
  // Both cases read first (the window widens), as Linux's close: unread
  // data means RST, none means FIN (the peer's read sees EOF).
  for (bool read_all : {true, false}) {
    CAF_MESSAGE("case " << (read_all ? "everything read" : "data left unread"));
    auto [l, c, s] = connect_pair(*this, 83);
    std::string data(5000, 'x');
    CAF_REQUIRE(c.write(bytes_of(data), after(5s)).ok());
    auto got = read_string(s, read_all ? data.size() : 1);
    CAF_REQUIRE_EQUAL(got.size(), read_all ? data.size() : 1u);
    if (!read_all) {
      for (int i = 0; i < 500 && stats().rx_buffered < data.size() - 1; ++i)
        std::this_thread::sleep_for(10ms);
      CAF_REQUIRE_EQUAL(stats().rx_buffered, data.size() - 1);
    }
    s.close();
    std::vector<uint8_t> buf(16);
    auto end = c.read(buf, after(5s));
    if (read_all) {
      CAF_CHECK(end.ok() && *end == 0u);
    } else {
      CAF_CHECK_EQUAL(end.code(), errc::connection_lost);
    }
    CAF_CHECK_EQUAL(stats().rx_buffered, 0u);
    l.close();
  }
}

CAF_TEST(refused_timeout_and_rules) {
  auto refused = dial_tcp(a, {b4, 81}, after(5s));
  CAF_CHECK_EQUAL(refused.code(), errc::connection_lost);
  if (!refused) {
    CAF_CHECK(refused.error().detail.find("refused") != std::string::npos);
  }
  // Nobody answers for 100.64.99.99: the SYN vanishes.
  auto t0 = std::chrono::steady_clock::now();
  auto lost = dial_tcp(a, {v4(0x6363), 80}, after(300ms));
  CAF_CHECK_EQUAL(lost.code(), errc::timeout);
  CAF_CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  struct {
    const char* name;
    ip_endpoint to;
  } bad[] = {
    {"loopback", {*ip_addr::parse("127.0.0.1"), 80}},
    {"multicast", {*ip_addr::parse("224.0.0.1"), 80}},
    {"port 0", {b4, 0}},
    {"unspecified", {ip_addr::v4(0), 80}},
  };
  for (auto& c : bad) {
    CAF_MESSAGE("case " << c.name);
    CAF_CHECK_EQUAL(dial_tcp(a, c.to, after(1s)).code(), errc::invalid_argument);
  }
  CAF_CHECK_EQUAL(dial_tcp(a + 100000, {b4, 80}, after(1s)).code(), errc::not_found);
}

CAF_TEST(listen_ports_and_addresses) {
  auto any = listen_tcp(a, {ip_addr{}, 0});
  CAF_REQUIRE(any.ok());
  CAF_CHECK(any->port() >= 10002 && any->port() <= 19999);
  auto again = listen_tcp(a, {a4, any->port()});
  CAF_CHECK_EQUAL(again.code(), errc::invalid_argument);
  CAF_CHECK_EQUAL(listen_tcp(a, {b4, 80}).code(), errc::invalid_argument); // not a's address
  auto other = listen_tcp(b, {ip_addr{}, any->port()}); // same port, other node: fine
  CAF_CHECK(other.ok());
  any->close();
  auto accepted = any->accept(after(1s));
  CAF_CHECK_EQUAL(accepted.code(), errc::closed);
  auto reuse = listen_tcp(a, {a6, any->port()});
  CAF_CHECK(reuse.ok());
}

CAF_TEST(self_connect_loops_back_inside_the_node) {
  auto l = listen_tcp(a, {ip_addr{}, 90});
  CAF_REQUIRE(l.ok());
  auto c = dial_tcp(a, {a4, 90}, after(5s));
  CAF_REQUIRE(c.ok());
  auto s = l->accept(after(5s));
  CAF_REQUIRE(s.ok());
  CAF_CHECK(c->write(bytes_of("me"), after(1s)).ok());
  CAF_CHECK_EQUAL(read_string(*s, 2), "me");
}

CAF_TEST(blocking_calls_inside_callbacks_are_refused) {
  auto [l, c, s] = connect_pair(*this, 91);
  auto core = std::move(s).release();
  std::promise<errc> inner;
  std::atomic<bool> fired{false};
  {
    core_guard g;
    core->set_events_locked({[&](size_t) {
                               if (fired.exchange(true)) {
                                 return;
                               }
                               conn nested{core};
                               std::vector<uint8_t> buf(4);
                               inner.set_value(nested.read(buf, after(1s)).code());
                               (void)std::move(nested).release();
                             },
                             nullptr, nullptr});
  }
  CAF_CHECK(c.write(bytes_of("ping"), after(1s)).ok());
  auto fut = inner.get_future();
  CAF_REQUIRE(fut.wait_for(5s) == std::future_status::ready);
  CAF_CHECK_EQUAL(fut.get(), errc::invalid_argument);
  core_guard g;
  core->set_events_locked({});
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(direct_delivery_from_the_sink) {
  fixture f{true}; // sinks call deliver() under the core lock: deferred, not recursive
  echo_test(f, f.b4, 8u << 20);
}

CAF_TEST(a_peer_in_memory_keeps_the_narrow_send_buffer) {
  // A blocking conn widens its send buffer on its first write, unless the
  // node's sink hands the peer's packets over in memory (in_memory_to).
  for (bool in_memory : {true, false}) {
    CAF_MESSAGE("case " << (in_memory ? "in memory" : "a wire"));
    node_pair f{0x3d00, in_memory ? switchboard::delivery::in_memory
                                  : switchboard::delivery::direct};
    auto l = listen_tcp(f.b, {ip_addr{}, 9});
    CAF_REQUIRE(l.ok());
    auto c = dial_tcp(f.a, {f.b4, 9}, after(5s));
    CAF_REQUIRE(c.ok());
    auto s = l->accept(after(5s));
    CAF_REQUIRE(s.ok());
    auto kept = counter_value("netstack_tcp_send_buffer_kept_in_memory");
    CAF_REQUIRE(c->write(bytes_of("ping"), after(5s)).ok());
    CAF_REQUIRE(c->write(bytes_of("pong"), after(5s)).ok()); // decided once
    CAF_CHECK_EQUAL(read_string(*s, 8), "pingpong");
    CAF_CHECK_EQUAL(counter_value("netstack_tcp_send_buffer_kept_in_memory"),
                    kept + (in_memory ? 1 : 0));
  }
}
