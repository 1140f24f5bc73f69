// SPDX-License-Identifier: Apache-2.0
// The data plane end to end in one process: real coordination server, real
// nodes, real UDP sockets. Nodes that share the process hand packets over in
// memory; nodes with in_memory_peers off talk WireGuard over loopback UDP
// (the same path two processes take). TCP echo with checksums, names,
// UDP datagrams, 1,000 connections, half-close, reset and listener close
// over WireGuard, listen addresses, deadlines and dial_fd at the server, a peer that leaves or that the admin deletes, and forged,
// unknown, truncated or oversized datagrams (replays and wrong keys:
// tests/runtime/wg_*; allowed IPs and lazy sessions: tunnel_peers_test).
#define CAF_SUITE dataplane
#include <caf/test/unit_test_impl.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <string>
#include <thread>

#include "nodes/echo_service.hpp"
#include "nodes/local_client.hpp"
#include "runtime/counters.hpp"
#include "tests/netstack/stream_util.hpp"
#include "tests/support/bytes_of.hpp"
#include "tests/support/harness.hpp"

using namespace tf;
using namespace tf::test;
using namespace tf::netstack::testing;
using namespace std::chrono;

namespace {

constexpr size_t echo_bytes = 100u << 20;

struct pair_fixture : system_fixture {
  test_control control;
  std::unique_ptr<server> a;
  std::unique_ptr<server> b;

  void start(bool in_memory) {
    auto c = start_control(sys);
    CAF_REQUIRE(c.ok());
    control = std::move(*c);
    auto tweak = [in_memory](server_options& o) { o.in_memory_peers = in_memory; };
    auto na = start_node(sys, control, "alpha", tweak);
    auto nb = start_node(sys, control, "bravo", tweak);
    CAF_REQUIRE(na.ok() && nb.ok());
    a = std::move(*na);
    b = std::move(*nb);
    // Both must see each other before dialing by name.
    CAF_REQUIRE(wait_until([&] { return b->local_client().peer_by_name("alpha").ok()
                                        && a->local_client().peer_by_name("bravo").ok(); },
                           seconds(10)));
  }

  /// connection is b's connection to a listener of a, and a's end of it.
  struct connection {
    netstack::listener listener;
    netstack::conn at_b;
    netstack::conn at_a;
  };

  /// connect_b_to_a dials a's `port` from b and sends "hello" through.
  connection connect_b_to_a(uint16_t port) {
    auto l = a->listen("tcp", ":" + std::to_string(port));
    CAF_REQUIRE(l.ok());
    auto accepted = std::async(std::launch::async,
                               [&] { return l->accept(netstack::after(seconds(20))); });
    auto c = b->dial("tcp", "alpha:" + std::to_string(port), seconds(20));
    CAF_REQUIRE(c.ok());
    auto sc = accepted.get();
    CAF_REQUIRE(sc.ok());
    CAF_REQUIRE(c->write(hello()).ok());
    std::vector<uint8_t> buf(64);
    auto n = sc->read(buf, netstack::after(seconds(10)));
    CAF_REQUIRE(n.ok());
    CAF_CHECK_EQUAL(*n, hello().size());
    return {std::move(*l), std::move(*c), std::move(*sc)};
  }

  static std::span<const uint8_t> hello() {
    return bytes_of("hello");
  }

  /// echo_through dials `to_addr` from b, where a echoes; returns true when
  /// every byte came back with the same hash.
  bool echo_through(const std::string& to_addr, size_t bytes) {
    auto l = a->listen("tcp", ":7000");
    if (!l) {
      CAF_MESSAGE("listen: " << l.error().message());
      return false;
    }
    auto server_side = std::async(std::launch::async, [&] {
      auto c = l->accept(netstack::after(seconds(30)));
      return c ? echo(*c) : size_t{0};
    });
    auto c = b->dial("tcp", to_addr, seconds(30));
    if (!c) {
      CAF_MESSAGE("dial " << to_addr << ": " << c.error().message());
      l->close();
      return false;
    }
    auto sent = std::async(std::launch::async, [&] {
      auto h = send_stream(*c, 7, bytes);
      (void)c->shutdown_write();
      return h;
    });
    auto got = drain(*c, netstack::after(seconds(120)));
    auto sent_hash = sent.get();
    auto echoed = server_side.get();
    CAF_MESSAGE("echoed " << echoed << " bytes, got back " << got.bytes);
    l->close();
    return sent_hash != 0 && got.end == errc::ok && got.bytes == bytes && got.hash == sent_hash;
  }
};

uint64_t counter_value(const char* name) {
  return get_counter(name).value();
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(dataplane_tests, pair_fixture)

CAF_TEST(in_process_peers_echo_100_mb_in_memory) {
  start(true);
  auto datagrams = counter_value("tunnel_tx_datagrams");
  auto in_memory = counter_value("tunnel_tx_in_memory");
  CAF_CHECK(echo_through("alpha:7000", echo_bytes));
  // Every packet went over in memory: not one UDP datagram.
  CAF_CHECK_EQUAL(counter_value("tunnel_tx_datagrams"), datagrams);
  CAF_CHECK_GREATER(counter_value("tunnel_tx_in_memory"), in_memory + echo_bytes / 1240);
}

CAF_TEST(wireguard_path_echo_100_mb_by_fqdn_and_ip) {
  start(false);
  auto fqdn = std::string{"alpha."} + test_domain + ":7000";
  auto datagrams = counter_value("tunnel_tx_datagrams");
  CAF_CHECK(echo_through(fqdn, echo_bytes));
  CAF_CHECK_GREATER(counter_value("tunnel_tx_datagrams"), datagrams + 2 * echo_bytes / 1240);
  auto ip = a->local_client().status();
  CAF_REQUIRE(ip.ok() && !ip->tailnet_ips.empty());
  CAF_CHECK(echo_through(ip->tailnet_ips.front().to_string() + ":7000", 1 << 20));
}

CAF_TEST(udp_datagrams_both_ways) {
  start(false);
  auto pa = a->listen_packet("udp", ":5353");
  auto pb = b->listen_packet("udp", ":0");
  CAF_REQUIRE(pa.ok() && pb.ok());
  auto a_ip = a->local_client().status()->tailnet_ips.front();
  std::string msg = "ping over the tailnet";
  std::vector<uint8_t> buf(2048);
  bool answered = false;
  // UDP may lose the first datagrams while the handshake runs: retry.
  for (int i = 0; i < 50 && !answered; ++i) {
    CAF_REQUIRE(pb->send_to(bytes_of(msg), {a_ip, 5353}).ok());
    auto got = pa->recv_from(buf, netstack::after(milliseconds(200)));
    if (!got) {
      continue;
    }
    CAF_CHECK_EQUAL(std::string(reinterpret_cast<char*>(buf.data()), got->len), msg);
    std::string reply = "pong";
    CAF_REQUIRE(pa->send_to(bytes_of(reply), got->from).ok());
    auto back = pb->recv_from(buf, netstack::after(seconds(5)));
    CAF_REQUIRE(back.ok());
    CAF_CHECK_EQUAL(std::string(reinterpret_cast<char*>(buf.data()), back->len), reply);
    CAF_CHECK_EQUAL(back->from.addr, a_ip);
    answered = true;
  }
  CAF_CHECK(answered);
}

CAF_TEST(removed_peer_connections_fail_cleanly) {
  start(false);
  auto conn = connect_b_to_a(7001);
  // b leaves the tailnet (ephemeral: control deletes it and tells a).
  auto removed_before = counter_value("tunnel_peers_removed");
  CAF_MESSAGE("closing bravo");
  CAF_REQUIRE(b->close().ok());
  CAF_MESSAGE("bravo closed");
  CAF_CHECK(wait_until([&] { return !a->local_client().peer_by_name("bravo").ok(); }, seconds(10)));
  CAF_CHECK(wait_until([&] { return counter_value("tunnel_peers_removed") > removed_before; },
                       seconds(10)));
  CAF_MESSAGE("alpha dropped bravo's session");
  // The closed node's own connection fails at once.
  std::vector<uint8_t> buf(64);
  auto r = conn.at_b.read(buf, netstack::after(seconds(2)));
  CAF_CHECK(!r.ok() && r.error().code != errc::timeout);
  CAF_CHECK(!conn.at_b.write(hello()).ok());
  // The survivor's ends: by b's reset or by a dropping the peer, never by
  // waiting out a timeout.
  auto rs = conn.at_a.read(buf, netstack::after(seconds(5)));
  CAF_CHECK((rs.ok() && *rs == 0) || (!rs.ok() && rs.error().code != errc::timeout));
  conn.listener.close();
}

CAF_TEST(a_peer_the_admin_deletes_fails_connections_to_it) {
  start(false);
  auto conn = connect_b_to_a(7002);
  // bravo keeps running and sends nothing; only control says it is gone.
  auto bravo = a->local_client().peer_by_name("bravo");
  CAF_REQUIRE(bravo.ok());
  auto id = (*bravo)->id();
  auto deleted = control->admin("DELETE", "/api/v1/nodes/" + std::to_string(id));
  CAF_REQUIRE_EQUAL(deleted.status, 200);
  CAF_MESSAGE("the admin deleted bravo (node " << id << ")");
  std::vector<uint8_t> buf(64);
  auto rs = conn.at_a.read(buf, netstack::after(seconds(10)));
  CAF_REQUIRE(!rs.ok());
  CAF_CHECK_EQUAL(rs.error().code, errc::connection_lost);
  CAF_CHECK(!conn.at_a.write(hello()).ok());
  CAF_CHECK(!a->local_client().peer_by_name("bravo").ok());
  conn.listener.close();
}

CAF_TEST(thousand_concurrent_connections_over_wireguard) {
  start(false);
  auto echo_svc = echo_service::start(*a, 7003);
  CAF_REQUIRE(echo_svc.ok());
  constexpr size_t num_conns = 1000;
  std::vector<netstack::conn> conns;
  for (size_t i = 0; i < num_conns; ++i) {
    auto c = b->dial("tcp", "alpha:7003", seconds(30));
    if (!c)
      CAF_FAIL("dial " << i << ": " << c.error().message());
    conns.push_back(std::move(*c));
  }
  auto echoed = echo_on_each(conns, netstack::after(seconds(60)));
  CAF_CHECK_EQUAL(echoed, num_conns);
  CAF_CHECK_EQUAL((*echo_svc)->connections(), num_conns);
  for (auto& c : conns)
    c.close();
}

CAF_TEST(half_close_reset_and_listener_close_over_wireguard) {
  start(false);
  std::vector<uint8_t> buf(64);
  CAF_MESSAGE("half-close: b's FIN ends a's reads, a still writes to b");
  {
    auto conn = connect_b_to_a(7004);
    CAF_REQUIRE(conn.at_b.shutdown_write().ok());
    auto eof = conn.at_a.read(buf, netstack::after(seconds(10)));
    CAF_CHECK(eof.ok() && *eof == 0);
    static const std::string late = "after your FIN";
    CAF_REQUIRE(conn.at_a.write(bytes_of(late)).ok());
    conn.at_a.close();
    std::string got;
    for (;;) {
      auto n = conn.at_b.read(buf, netstack::after(seconds(10)));
      if (!n || *n == 0) {
        CAF_CHECK(n.ok()); // EOF, not an error
        break;
      }
      got.append(reinterpret_cast<char*>(buf.data()), *n);
    }
    CAF_CHECK_EQUAL(got, late);
    conn.listener.close();
  }
  CAF_MESSAGE("reset: a aborts, b's read and write fail with connection_lost");
  {
    auto conn = connect_b_to_a(7005);
    conn.at_a.abort();
    auto r = conn.at_b.read(buf, netstack::after(seconds(10)));
    CAF_CHECK_EQUAL(r.code(), errc::connection_lost);
    CAF_CHECK_EQUAL(conn.at_b.write(hello()).code(), errc::connection_lost);
    conn.listener.close();
  }
  CAF_MESSAGE("listener close: connections never accepted are reset");
  {
    auto l = a->listen("tcp", ":7006");
    CAF_REQUIRE(l.ok());
    std::vector<netstack::conn> pending;
    for (int i = 0; i < 3; ++i) {
      auto c = b->dial("tcp", "alpha:7006", seconds(20));
      CAF_REQUIRE(c.ok());
      pending.push_back(std::move(*c));
    }
    l->close();
    CAF_CHECK_EQUAL(l->accept(netstack::after(seconds(1))).code(), errc::closed);
    for (auto& c : pending)
      CAF_CHECK_EQUAL(c.read(buf, netstack::after(seconds(10))).code(), errc::connection_lost);
  }
}

CAF_TEST(listen_addresses_fds_and_deadlines_at_the_server) {
  start(true);
  auto a_ip = a->local_client().status()->tailnet_ips.front();
  std::vector<uint8_t> buf(64);
  CAF_MESSAGE("a listener on the node's own IP; port 0 picks one");
  auto own = a->listen("tcp", a_ip.to_string() + ":0");
  CAF_REQUIRE(own.ok());
  CAF_REQUIRE_NOT_EQUAL(own->port(), 0u);
  auto accepted = std::async(std::launch::async,
                             [&] { return own->accept(netstack::after(seconds(20))); });
  auto c = b->dial("tcp", a_ip.to_string() + ":" + std::to_string(own->port()), seconds(20));
  CAF_CHECK(c.ok());
  auto at_a = accepted.get(); // kept open: the read below must wait
  CAF_CHECK(at_a.ok());
  auto udp = a->listen_packet("udp", a_ip.to_string() + ":0");
  CAF_REQUIRE(udp.ok());
  CAF_MESSAGE("addresses it refuses");
  CAF_CHECK(!a->listen("tcp", "100.64.9.9:7020").ok()); // not the node's
  for (auto bad : {"nonsense", ":70000", "[::1:7020", "host.example:80", ":"})
    CAF_CHECK_EQUAL(a->listen("tcp", bad).code(), errc::invalid_argument);
  CAF_CHECK_EQUAL(a->listen("udp", ":7020").code(), errc::invalid_argument);
  CAF_CHECK_EQUAL(a->listen("tcp6", a_ip.to_string() + ":7020").code(), errc::invalid_argument);
  CAF_CHECK_EQUAL(a->listen_packet("tcp", ":7020").code(), errc::invalid_argument);
  CAF_CHECK_EQUAL(b->dial("tcp", "nobody-here:80", seconds(2)).code(), errc::unreachable);

  CAF_MESSAGE("deadlines: accept and read give up with errc::timeout");
  auto idle = a->listen("tcp", ":7021");
  CAF_REQUIRE(idle.ok());
  auto t0 = steady_clock::now();
  CAF_CHECK_EQUAL(idle->accept(netstack::after(milliseconds(200))).code(), errc::timeout);
  CAF_CHECK_GREATER_OR_EQUAL(steady_clock::now() - t0, milliseconds(200));
  CAF_REQUIRE(c.ok());
  CAF_CHECK_EQUAL(c->read(buf, netstack::after(milliseconds(200))).code(), errc::timeout);

  CAF_MESSAGE("dial_fd: a plain file descriptor to a's echo service");
  auto echo_svc = echo_service::start(*a, 7022);
  CAF_REQUIRE(echo_svc.ok());
  auto fd = b->dial_fd("tcp", "alpha:7022", seconds(20));
  CAF_REQUIRE(fd.ok());
  std::string msg = "through a socketpair";
  CAF_REQUIRE_EQUAL(::write(*fd, msg.data(), msg.size()), static_cast<ssize_t>(msg.size()));
  ::shutdown(*fd, SHUT_WR);
  std::string got;
  for (;;) {
    auto n = ::read(*fd, buf.data(), buf.size());
    if (n <= 0)
      break;
    got.append(reinterpret_cast<char*>(buf.data()), static_cast<size_t>(n));
  }
  CAF_CHECK_EQUAL(got, msg);
  ::close(*fd);
}

CAF_TEST(forged_and_unknown_datagrams_are_dropped_and_counted) {
  start(false);
  // Find a's UDP port through its reported endpoints, as a peer would.
  auto peer = b->local_client().peer_by_name("alpha");
  CAF_REQUIRE(peer.ok());
  auto eps = (*peer)->endpoints();
  CAF_REQUIRE(!eps.empty());
  uint16_t port = eps.back().port;
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  CAF_REQUIRE(fd >= 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto send = [&](std::vector<uint8_t> d) {
    ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  };
  auto malformed = counter_value("tunnel_rx_malformed");
  auto no_node = counter_value("tunnel_rx_initiation_no_node");
  auto unknown_index = counter_value("wg_rejected_unknown_index");
  auto oversized = counter_value("tunnel_rx_oversized");
  send({9, 0, 0, 0, 1, 2, 3});               // unknown type
  send({1, 0});                              // truncated
  send(std::vector<uint8_t>(148, 0));        // zero type
  auto init = std::vector<uint8_t>(148, 0x5a);
  init[0] = 1, init[1] = init[2] = init[3] = 0;  // an initiation with a forged MAC1
  send(init);
  auto transport = std::vector<uint8_t>(64, 0x11);
  transport[0] = 4, transport[1] = transport[2] = transport[3] = 0;  // unknown index
  send(transport);
  auto huge = std::vector<uint8_t>(4000, 0x22);
  huge[0] = 4, huge[1] = huge[2] = huge[3] = 0;  // longer than any WireGuard datagram
  send(huge);
  CAF_CHECK(wait_until([&] { return counter_value("tunnel_rx_malformed") >= malformed + 3; },
                       seconds(5)));
  CAF_CHECK(wait_until([&] { return counter_value("tunnel_rx_initiation_no_node") > no_node; },
                       seconds(5)));
  CAF_CHECK(wait_until([&] { return counter_value("wg_rejected_unknown_index") > unknown_index; },
                       seconds(5)));
  CAF_CHECK(wait_until([&] { return counter_value("tunnel_rx_oversized") > oversized; },
                       seconds(5)));
  ::close(fd);
  // The tunnel still works after all of that.
  CAF_CHECK(echo_through("alpha:7000", 1 << 20));
}

CAF_TEST_FIXTURE_SCOPE_END()
