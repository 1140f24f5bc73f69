// SPDX-License-Identifier: Apache-2.0
// The actor face of netstack connections on a real actor system (lwIP runs
// on its own thread, so not on the test coordinator), two nodes on the
// in-memory switchboard: a 10 MB echo between two actors, a slow owner that
// keeps lwIP's buffers bounded, every way a connection ends, a listener's
// bound on unaccepted connections, and node removal.
#define CAF_SUITE net_conn_actor
#include <caf/test/unit_test_impl.hpp>

#include <caf/actor_system_config.hpp>

#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "netstack/netstack.hpp"
#include "tests/actors/net_conn_util.hpp"
#include "tests/netstack/switchboard.hpp"

using namespace tf;
using namespace tf::actors;
using namespace tf::actors::testing;
using namespace tf::netstack;
using namespace tf::netstack::testing;
using namespace std::chrono_literals;

namespace {

caf::actor_system_config& prepared(caf::actor_system_config& cfg) {
  register_error_category(cfg);
  return cfg;
}

// The switchboard is declared last: it goes first, removing both nodes, so
// no connection (and no actor) outlives the test before the system waits
// for its actors.
struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{prepared(cfg)};
  switchboard sb;
  node_id a = 0;
  node_id b = 0;
  ip_addr a4 = v4(0x4801), b4 = v4(0x4802);

  fixture() {
    auto x = sb.add(a4);
    auto y = sb.add(b4);
    CAF_REQUIRE(x.ok() && y.ok());
    a = *x;
    b = *y;
  }

  /// no_actors_left waits (at most 10 s) until every spawned actor ended,
  /// leaving only the test's `num_scoped` scoped actors (CAF 0.17 counts
  /// those as running, hidden or not).
  bool no_actors_left(size_t num_scoped = 0) {
    for (int i = 0; i < 1000 && sys.registry().running() > num_scoped; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    return sys.registry().running() == num_scoped;
  }

  /// accepted_pair dials b:port from a and accepts it with the blocking API.
  std::pair<conn, std::shared_ptr<tcp_core>> accepted_pair(listener& l) {
    auto c = dial_tcp(a, {b4, l.port()}, after(5s));
    CAF_REQUIRE(c.ok());
    auto s = l.accept(after(5s));
    CAF_REQUIRE(s.ok());
    return {std::move(*c), std::move(*s).release()};
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(net_conn_actor_tests, fixture)

CAF_TEST(echo_10_mb_between_two_actors) {
  constexpr size_t total = 10 << 20;
  constexpr uint64_t seed = 7;
  auto l = listen_tcp(b, {ip_addr{}, 80});
  CAF_REQUIRE(l.ok());
  auto server_done = std::make_shared<std::promise<caf::error>>();
  auto echo = sys.spawn(echo_server, server_done);
  spawn_listener_actor(sys, std::move(*l).release(), echo);
  auto client_done = std::make_shared<std::promise<client_report>>();
  auto client = sys.spawn(stream_client, seed, total, client_done);
  auto c = dial_tcp(a, {b4, 80}, after(5s));
  CAF_REQUIRE(c.ok());
  caf::anon_send(client, go_atom::value, spawn_conn_actor(sys, std::move(*c).release(), client));
  auto report_f = client_done->get_future();
  CAF_REQUIRE(report_f.wait_for(120s) == std::future_status::ready);
  auto report = report_f.get();
  stream want(seed);
  fnv want_hash;
  std::vector<uint8_t> buf(total);
  want.fill(buf);
  want_hash.add(buf);
  CAF_CHECK_EQUAL(report.received, total);
  CAF_CHECK_EQUAL(report.sent_hash, want_hash.h);
  CAF_CHECK_EQUAL(report.received_hash, want_hash.h);
  CAF_CHECK_LESS_OR_EQUAL(report.max_writes_in_flight, 2u);
  CAF_CHECK_EQUAL(code_of(report.reason), errc::ok);
  auto server_f = server_done->get_future();
  CAF_REQUIRE(server_f.wait_for(30s) == std::future_status::ready);
  CAF_CHECK_EQUAL(code_of(server_f.get()), errc::ok);
  CAF_CHECK(no_actors_left()); // the listener ends with its owner
}

CAF_TEST(slow_owner_keeps_lwip_buffers_bounded) {
  // One TCP window: what the peer may send beyond the bytes acked.
  // stats().rx_buffered counts every byte received and not acked: those in
  // lwIP and those held by the owner.
  constexpr size_t window = 64 * 1024;
  constexpr size_t total = 1 << 20;
  auto l = listen_tcp(b, {ip_addr{}, 81});
  CAF_REQUIRE(l.ok());
  auto pair = accepted_pair(*l);
  conn& client = pair.first;
  caf::scoped_actor owner{sys};
  auto the_conn = spawn_conn_actor(sys, std::move(pair.second), caf::actor_cast<caf::actor>(owner));
  auto sender = std::async(std::launch::async, [&client] {
    auto h = send_stream(client, 11, total);
    (void)client.shutdown_write();
    return h;
  });
  // Hold every byte (no ack) until nothing more comes.
  fnv got;
  size_t held = 0;
  size_t worst = 0;
  for (event ev; (ev = next(owner, 500ms)).kind != event::none;) {
    CAF_REQUIRE_EQUAL(ev.kind, event::data);
    CAF_CHECK(ev.conn == the_conn);
    CAF_CHECK_LESS_OR_EQUAL(ev.bytes.size(), net_chunk_len);
    got.add(ev.bytes);
    held += ev.bytes.size();
    worst = std::max(worst, netstack::stats().rx_buffered);
  }
  auto buffered = netstack::stats().rx_buffered;
  CAF_MESSAGE("held " << held << " bytes, unacked in all " << buffered << ", worst " << worst);
  CAF_CHECK_GREATER(held, 0u);
  CAF_CHECK_LESS_OR_EQUAL(held, buffered);
  CAF_CHECK_LESS_OR_EQUAL(buffered, window);
  CAF_CHECK_LESS_OR_EQUAL(worst, window);
  // 1 MB cannot fit in one window plus a send buffer: the writer is stuck.
  CAF_CHECK(sender.wait_for(0s) != std::future_status::ready);
  // Consume: ack what was held, then every chunk as it comes, until EOF.
  owner->send(the_conn, ack_atom::value, uint64_t{held});
  size_t received = held;
  for (;;) {
    auto ev = next(owner);
    if (ev.kind == event::data) {
      got.add(ev.bytes);
      received += ev.bytes.size();
      worst = std::max(worst, netstack::stats().rx_buffered);
      owner->send(the_conn, ack_atom::value, uint64_t{ev.bytes.size()});
      continue;
    }
    CAF_CHECK_EQUAL(ev.kind, event::eof);
    break;
  }
  CAF_CHECK_EQUAL(received, total);
  CAF_CHECK_LESS_OR_EQUAL(worst, window);
  auto sent_hash = sender.get();
  CAF_CHECK_NOT_EQUAL(sent_hash, 0u);
  CAF_CHECK_EQUAL(got.h, sent_hash);
  owner->send(the_conn, shutdown_atom::value);
  auto end = next(owner);
  CAF_CHECK_EQUAL(end.kind, event::closed);
  CAF_CHECK_EQUAL(code_of(end.err), errc::ok);
  std::vector<uint8_t> buf(8);
  auto r = client.read(buf, after(5s));
  CAF_CHECK(r.ok() && *r == 0); // our FIN
  client.close();
  CAF_CHECK(no_actors_left(1));
}

CAF_TEST(every_ending_gives_one_closed_message) {
  enum class how { owner_close, owner_abort, peer_reset, peer_fin_then_shutdown, owner_gone };
  struct test_case {
    const char* name;
    how action;
    errc want;       // the closed message's reason
    errc peer_read;  // what the peer's next read gives (ok: EOF)
  };
  test_case cases[] = {
    {"owner close", how::owner_close, errc::ok, errc::ok},
    {"owner abort", how::owner_abort, errc::closed, errc::connection_lost},
    {"peer reset", how::peer_reset, errc::connection_lost, errc::closed},
    {"peer fin then shutdown", how::peer_fin_then_shutdown, errc::ok, errc::ok},
    {"owner gone (no closed message)", how::owner_gone, errc::ok, errc::connection_lost},
  };
  auto l = listen_tcp(b, {ip_addr{}, 82});
  CAF_REQUIRE(l.ok());
  for (auto& tc : cases) {
    CAF_MESSAGE("case " << tc.name);
    auto pair = accepted_pair(*l);
    conn& peer = pair.first;
    caf::scoped_actor watcher{sys};
    auto owner = std::make_unique<caf::scoped_actor>(sys);
    auto the_conn = spawn_conn_actor(sys, std::move(pair.second),
                                    caf::actor_cast<caf::actor>(*owner));
    (*owner)->monitor(the_conn);
    watcher->monitor(the_conn);
    switch (tc.action) {
      case how::owner_close:
        (*owner)->send(the_conn, close_atom::value);
        break;
      case how::owner_abort:
        (*owner)->send(the_conn, abort_atom::value);
        break;
      case how::peer_reset:
        peer.abort();
        break;
      case how::peer_fin_then_shutdown: {
        CAF_CHECK(peer.shutdown_write().ok());
        auto ev = next(*owner);
        CAF_CHECK_EQUAL(ev.kind, event::eof);
        (*owner)->send(the_conn, shutdown_atom::value);
        break;
      }
      case how::owner_gone:
        owner.reset();
        break;
    }
    if (owner) {
      // Count closed messages until the actor's down message (which comes
      // after everything it sent).
      size_t num_closed = 0;
      errc got = errc::internal;
      for (event ev; (ev = next(*owner)).kind != event::down;) {
        CAF_REQUIRE_NOT_EQUAL(ev.kind, event::none);
        if (ev.kind == event::closed) {
          ++num_closed;
          got = code_of(ev.err);
          CAF_CHECK(ev.conn == the_conn);
        }
      }
      CAF_CHECK_EQUAL(num_closed, 1u);
      CAF_CHECK_EQUAL(got, tc.want);
    }
    auto gone = next(watcher);
    CAF_CHECK_EQUAL(gone.kind, event::down);
    std::vector<uint8_t> buf(8);
    auto r = peer.read(buf, after(5s));
    CAF_CHECK_EQUAL(r.code(), tc.peer_read);
    if (r.ok()) {
      CAF_CHECK_EQUAL(*r, 0u);
    }
    peer.close();
  }
  CAF_CHECK(no_actors_left());
}

CAF_TEST(listener_hands_out_connections_within_its_bound) {
  constexpr size_t num_clients = 5;
  constexpr size_t bound = 2;
  auto l = listen_tcp(b, {ip_addr{}, 83});
  CAF_REQUIRE(l.ok());
  caf::scoped_actor owner{sys};
  auto the_listener = spawn_listener_actor(sys, std::move(*l).release(),
                                           caf::actor_cast<caf::actor>(owner), bound);
  std::vector<conn> clients;
  for (size_t i = 0; i < num_clients; ++i) {
    auto c = dial_tcp(a, {b4, 83}, after(5s));
    CAF_REQUIRE(c.ok());
    clients.push_back(std::move(*c));
  }
  // Nobody accepts yet: `bound` requests go out, the rest stay queued.
  caf::scoped_actor probe{sys};
  auto stats_now = [&] {
    net_listener_stats s;
    probe->request(the_listener, caf::infinite, stats_atom::value)
      .receive([&](net_listener_stats& x) { s = x; }, [](caf::error&) {});
    return s;
  };
  // All five may be queued before the listener wakes to hand out the
  // first two: wait for the state it settles in (or 10 s, then fail).
  net_listener_stats s;
  auto settled = [&] {
    s = stats_now();
    return s.unaccepted == bound && s.queued == num_clients - bound;
  };
  for (int i = 0; i < 1000 && !settled(); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  CAF_CHECK_EQUAL(s.unaccepted, bound);
  CAF_CHECK_EQUAL(s.queued, num_clients - bound);
  CAF_CHECK_EQUAL(s.accepted, 0u);
  // Accepting frees slots: all five arrive, each a working connection.
  std::vector<net_conn_actor> conns;
  while (conns.size() < num_clients) {
    auto ev = next(owner);
    CAF_REQUIRE_EQUAL(ev.kind, event::accept);
    conns.push_back(ev.conn);
  }
  for (size_t i = 0; i < num_clients; ++i) {
    uint8_t x = static_cast<uint8_t>(i);
    CAF_CHECK(clients[i].write({&x, 1}, after(5s)).ok());
  }
  std::set<uint8_t> bytes_seen;
  std::set<net_conn_actor> conns_seen;
  while (bytes_seen.size() < num_clients) {
    auto ev = next(owner);
    CAF_REQUIRE_EQUAL(ev.kind, event::data);
    CAF_REQUIRE_EQUAL(ev.bytes.size(), 1u);
    bytes_seen.insert(ev.bytes[0]);
    conns_seen.insert(ev.conn);
    owner->send(ev.conn, ack_atom::value, uint64_t{1});
  }
  CAF_CHECK_EQUAL(conns_seen.size(), num_clients);
  CAF_CHECK(std::set<net_conn_actor>(conns.begin(), conns.end()) == conns_seen);
  for (int i = 0; i < 1000 && (s = stats_now()).accepted < num_clients; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  CAF_CHECK_EQUAL(s.accepted, num_clients);
  CAF_CHECK_EQUAL(s.unaccepted, 0u);
  // Closing the listener leaves its connections alone.
  owner->send(the_listener, close_atom::value);
  auto ev = next(owner);
  CAF_CHECK_EQUAL(ev.kind, event::listener_closed);
  CAF_CHECK_EQUAL(code_of(ev.err), errc::ok);
  for (auto& c : conns) {
    owner->send(c, close_atom::value);
  }
  for (size_t i = 0; i < num_clients; ++i) {
    ev = next(owner);
    CAF_CHECK_EQUAL(ev.kind, event::closed);
    CAF_CHECK_EQUAL(code_of(ev.err), errc::ok);
  }
  std::vector<uint8_t> buf(8);
  for (auto& c : clients) {
    auto r = c.read(buf, after(5s));
    CAF_CHECK(r.ok() && *r == 0); // FIN, not RST: every byte was acked
    c.close();
  }
  CAF_CHECK(no_actors_left(2));
}

CAF_TEST(node_removal_closes_conn_and_listener) {
  auto l = listen_tcp(b, {ip_addr{}, 84});
  CAF_REQUIRE(l.ok());
  caf::scoped_actor owner{sys};
  auto the_listener = spawn_listener_actor(sys, std::move(*l).release(),
                                           caf::actor_cast<caf::actor>(owner));
  auto c = dial_tcp(a, {b4, 84}, after(5s));
  CAF_REQUIRE(c.ok());
  auto first = next(owner);
  CAF_REQUIRE_EQUAL(first.kind, event::accept);
  auto the_conn = first.conn;
  owner->monitor(the_conn);
  owner->monitor(the_listener);
  CAF_REQUIRE(remove_node(b).ok());
  size_t num_downs = 0;
  size_t conn_closed = 0;
  size_t listener_closed = 0;
  while (num_downs < 2) {
    auto ev = next(owner);
    CAF_REQUIRE_NOT_EQUAL(ev.kind, event::none);
    if (ev.kind == event::down) {
      ++num_downs;
    } else if (ev.kind == event::closed) {
      ++conn_closed;
      auto f = from_caf(ev.err);
      CAF_CHECK_EQUAL(f.code, errc::closed);
      CAF_CHECK_EQUAL(f.detail, "node removed");
    } else if (ev.kind == event::listener_closed) {
      ++listener_closed;
      CAF_CHECK_EQUAL(code_of(ev.err), errc::closed);
    }
  }
  CAF_CHECK_EQUAL(conn_closed, 1u);
  CAF_CHECK_EQUAL(listener_closed, 1u);
  std::vector<uint8_t> buf(8);
  CAF_CHECK_EQUAL(c->read(buf, after(5s)).code(), errc::connection_lost);
  CAF_CHECK_EQUAL(num_pcbs_at(b4), 0u);
  c->close();
  CAF_CHECK(no_actors_left(1));
}

CAF_TEST_FIXTURE_SCOPE_END()
