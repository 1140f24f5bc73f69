// SPDX-License-Identifier: Apache-2.0
// A node's tunnel against the peers of its netmap, end to end: a real
// coordination server, real nodes on the process's shared UDP socket, and a
// WireGuard peer driven by hand (tailfleet's runtime/wg device on a socket
// of the test's own, registered with control as a WireGuard-only node).
// - Allowed IPs: an authentic packet whose inner source is not the peer's
//   address is dropped and counted; the peer's own packets are answered.
// - A peer the admin deleted: the node drops its session, so its transport
//   packets hit an unknown index and its new initiations an unknown key,
//   both counted.
// - A peer the admin moves (new endpoint) is reached there: the change
//   reaches the tunnel because the peer is active.
// - A flood of initiations puts the node under load: it answers handshakes
//   without a valid MAC2 with cookie replies, and a peer that retries with
//   its cookie is answered.
// - Sessions are lazy: a node with a hundred peers holds WireGuard state
//   only for the one it talks to, and peers it never talked to come and go
//   without reaching the tunnel at all.
#define CAF_SUITE tunnel_peers
#include <caf/test/unit_test_impl.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "actors/tunnel/tunnel.hpp"
#include "nodes/local_client.hpp"
#include "runtime/counters.hpp"
#include "runtime/wg/device.hpp"
#include "tests/integration/wg_interop_util.hpp"
#include "tests/netstack/stream_util.hpp"
#include "tests/support/bytes_of.hpp"
#include "tests/support/harness.hpp"

using namespace tf;
using namespace tf::test;
using namespace std::chrono;
using namespace tf::wg::interop;
using json = nlohmann::json;

namespace {

constexpr const char* hand_name = "handpeer";
const ip_addr hand_ip = *ip_addr::parse("100.127.200.7");
const ip_addr not_hand_ip = *ip_addr::parse("100.127.200.99");

uint64_t counter_value(const char* name) {
  return get_counter(name).value();
}

/// register_wireguard_only adds a WireGuard-only node (key, endpoint, and
/// an IPv4 address unless `ipv4` is empty) through the admin API.
bool register_wireguard_only(test_control& control, const std::string& host,
                             const node_public_key& key, const std::string& endpoint,
                             const std::string& ipv4) {
  json body{{"user", test_user},
            {"hostname", host},
            {"node_key", to_base64(key.bytes())},
            {"endpoints", {endpoint}}};
  if (!ipv4.empty())
    body["ipv4"] = ipv4;
  auto added = control->admin("POST", "/api/v1/nodes/wireguard-only", body.dump());
  if (added.status != 201)
    CAF_MESSAGE("admin: " << added.status << " " << added.body);
  return added.status == 201;
}

bool delete_node(test_control& control, wire::node_id id) {
  auto r = control->admin("DELETE", "/api/v1/nodes/" + std::to_string(id));
  if (r.status != 200)
    CAF_MESSAGE("admin: " << r.status << " " << r.body);
  return r.status == 200;
}

/// hand_peer is a WireGuard peer driven by hand.
struct hand_peer {
  node_private_key key = node_private_key::generate();
  wg::device dev{key};
  udp_socket sock{"127.0.0.1"};
  ip_endpoint node_ep;  // the node's UDP socket
  wg::session* session = nullptr;

  /// talk sends `out`'s datagrams to the node, then, for up to `limit`,
  /// feeds what comes back to the device, sends its answers, and returns
  /// the first packets it decrypted (none: nothing came).
  std::vector<std::vector<uint8_t>> talk(wg::actions out, milliseconds limit) {
    for (auto& d : out.datagrams)
      sock.send_to(node_ep, d);
    auto until = steady_clock::now() + limit;
    while (steady_clock::now() < until) {
      auto got = sock.receive(milliseconds(20));
      if (!got)
        continue;
      auto src = wg::source_address::from(got->second);
      auto res = dev.receive(got->first, src.span(), wg::clock::now());
      for (auto& d : res.out.datagrams)
        sock.send_to(node_ep, d);
      if (!res.out.packets.empty())
        return std::move(res.out.packets);
    }
    return {};
  }

  /// ping sends an echo request from `src` to `dst` through the session
  /// and reports whether its reply (the same sequence number: a late reply
  /// to an earlier ping does not count) came back within `limit`. The
  /// session's timers run meanwhile, as a WireGuard peer's do: a handshake
  /// that got no answer is sent again after 5 s.
  bool ping(const ip_addr& src, const ip_addr& dst, uint16_t seq, milliseconds limit) {
    auto request = icmp_echo_request(src, dst, 0x7466, seq, "tunnel peers");
    auto until = steady_clock::now() + limit;
    auto out = session->send(request, wg::clock::now());
    for (auto left = limit; left > milliseconds(0);
         left = duration_cast<milliseconds>(until - steady_clock::now())) {
      for (auto& p : talk(std::move(out), std::min(left, milliseconds(250))))
        if (is_echo_reply(p, seq))
          return true;
      out = session->tick(wg::clock::now());
    }
    return false;
  }
};

struct hand_fixture : system_fixture {
  test_control control;
  hand_peer hand;
  std::unique_ptr<server> alpha;
  ip_addr alpha_ip;

  /// start registers the hand peer (at its own socket unless `endpoint`
  /// says otherwise), starts node alpha on the shared socket and waits
  /// until alpha sees the hand peer.
  void start(std::string endpoint = {}) {
    CAF_REQUIRE(hand.sock.ok());
    auto c = start_control(sys);
    CAF_REQUIRE(c.ok());
    control = std::move(*c);
    if (endpoint.empty())
      endpoint = "127.0.0.1:" + std::to_string(hand.sock.port());
    CAF_REQUIRE(register_wireguard_only(control, hand_name, hand.key.public_key(), endpoint,
                                        hand_ip.to_string()));
    auto a = start_node(sys, control, "alpha",
                        [](server_options& o) { o.in_memory_peers = false; });
    CAF_REQUIRE(a.ok());
    alpha = std::move(*a);
    auto shared = tunnel::shared_tunnel();
    CAF_REQUIRE(shared.ok());
    hand.node_ep = {*ip_addr::parse("127.0.0.1"), (*shared)->port()};
    auto st = alpha->local_client().status();
    CAF_REQUIRE(st.ok() && st->self != nullptr && !st->tailnet_ips.empty());
    alpha_ip = st->tailnet_ips.front();
    auto session = hand.dev.add_peer({st->self->key});
    CAF_REQUIRE(session.ok());
    hand.session = *session;
    CAF_REQUIRE(wait_until([&] { return alpha->local_client().peer_by_name(hand_name).ok(); },
                           seconds(10)));
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(hand_peer_tests, hand_fixture)

CAF_TEST(a_peer_is_held_to_its_own_address) {
  start();
  CAF_MESSAGE("the hand peer pings alpha from its own address: handshake, answer");
  CAF_CHECK(hand.ping(hand_ip, alpha_ip, 1, seconds(10)));
  CAF_MESSAGE("the same session, another inner source: dropped and counted");
  auto bad_source = counter_value("tunnel_rx_bad_source");
  CAF_CHECK(!hand.ping(not_hand_ip, alpha_ip, 2, milliseconds(500)));
  CAF_CHECK_EQUAL(counter_value("tunnel_rx_bad_source"), bad_source + 1);
  CAF_MESSAGE("and its own address still gets answers");
  CAF_CHECK(hand.ping(hand_ip, alpha_ip, 3, seconds(5)));
}

CAF_TEST(packets_of_a_deleted_peer_are_dropped_and_counted) {
  start();
  CAF_REQUIRE(hand.ping(hand_ip, alpha_ip, 1, seconds(10)));
  auto peer = alpha->local_client().peer_by_name(hand_name);
  CAF_REQUIRE(peer.ok());
  auto removed = counter_value("tunnel_peers_removed");
  CAF_REQUIRE(delete_node(control, (*peer)->id()));
  CAF_CHECK(wait_until([&] { return !alpha->local_client().peer_by_name(hand_name).ok(); },
                       seconds(10)));
  CAF_CHECK(wait_until([&] { return counter_value("tunnel_peers_removed") > removed; },
                       seconds(10)));
  CAF_MESSAGE("its session is gone: a transport packet names an unknown index");
  auto unknown_index = counter_value("wg_rejected_unknown_index");
  CAF_CHECK(!hand.ping(hand_ip, alpha_ip, 2, milliseconds(500)));
  CAF_CHECK(wait_until([&] { return counter_value("wg_rejected_unknown_index") > unknown_index; },
                       seconds(5)));
  CAF_MESSAGE("a new handshake names a key alpha no longer knows");
  auto unknown_peer = counter_value("tunnel_rx_unknown_peer");
  CAF_REQUIRE(hand.dev.remove_peer(hand.session->remote()));
  auto fresh = hand.dev.add_peer({alpha->local_client().status()->self->key});
  CAF_REQUIRE(fresh.ok());
  hand.session = *fresh;
  CAF_CHECK(!hand.ping(hand_ip, alpha_ip, 3, milliseconds(500)));
  CAF_CHECK(wait_until([&] { return counter_value("tunnel_rx_unknown_peer") > unknown_peer; },
                       seconds(5)));
}

CAF_TEST(a_peer_the_admin_moves_is_reached_at_its_new_endpoint) {
  udp_socket old_home{"127.0.0.1"}; // registered first; never answers
  CAF_REQUIRE(old_home.ok());
  start("127.0.0.1:" + std::to_string(old_home.port()));
  CAF_MESSAGE("alpha sends to the hand peer: its handshake goes to the old endpoint");
  auto udp = alpha->listen_packet("udp", ":0");
  CAF_REQUIRE(udp.ok());
  static const std::string hello = "to the hand peer";
  CAF_REQUIRE(udp->send_to(bytes_of(hello), {hand_ip, 9}).ok());
  auto at_old = old_home.receive(milliseconds(5000));
  CAF_REQUIRE(at_old.has_value());
  CAF_CHECK_EQUAL(at_old->first[0], 1u); // an initiation
  CAF_MESSAGE("the admin moves the hand peer to its real socket");
  auto peer = alpha->local_client().peer_by_name(hand_name);
  CAF_REQUIRE(peer.ok());
  auto link_events = counter_value("tunnel_link_events");
  json body{{"endpoints", {"127.0.0.1:" + std::to_string(hand.sock.port())}}};
  auto moved = control->admin("POST", "/api/v1/nodes/" + std::to_string((*peer)->id())
                                        + "/endpoints", body.dump());
  CAF_REQUIRE_EQUAL(moved.status, 200);
  // The patch reaches the tunnel (the peer is active), so the handshake's
  // retry goes to the new endpoint, where the hand peer answers and gets
  // the datagram alpha queued.
  CAF_CHECK(wait_until([&] { return counter_value("tunnel_link_events") > link_events; },
                       seconds(10)));
  bool delivered = false;
  for (auto& p : hand.talk({}, seconds(15)))
    delivered = delivered || (p.size() >= 28 && p[9] == 17 && p.size() - 28 == hello.size());
  CAF_CHECK(delivered);
}

CAF_TEST(a_handshake_flood_makes_the_node_ask_for_cookies) {
  start();
  auto alpha_key = alpha->local_client().status()->self->key;
  auto now = wg::clock::now();
  CAF_MESSAGE("200 initiations from strangers, each with a valid MAC1, then the hand peer's");
  std::vector<std::unique_ptr<wg::device>> strangers;
  std::vector<std::vector<uint8_t>> burst;
  for (int i = 0; i < 200; ++i) {
    strangers.push_back(std::make_unique<wg::device>(node_private_key::generate()));
    auto s = strangers.back()->add_peer({alpha_key});
    CAF_REQUIRE(s.ok());
    burst.push_back((*s)->send(icmp_echo_request(hand_ip, alpha_ip, 1, 1, "x"), now).datagrams.at(0));
  }
  auto request = icmp_echo_request(hand_ip, alpha_ip, 0x7466, 1, "cookie");
  auto first = hand.session->send(request, now);
  CAF_REQUIRE_EQUAL(first.datagrams.size(), 1u);
  burst.push_back(first.datagrams[0]);
  auto entered = counter_value("tunnel_under_load_entered");
  auto cookie_required = counter_value("wg_rejected_cookie_required");
  for (auto& d : burst)
    hand.sock.send_to(hand.node_ep, d);

  CAF_MESSAGE("alpha answers the tail of the burst with cookie replies");
  size_t cookie_replies = 0;
  for (auto quiet_until = steady_clock::now() + seconds(10);
       steady_clock::now() < quiet_until;) {
    auto got = hand.sock.receive(milliseconds(300));
    if (!got) {
      if (cookie_replies > 0)
        break; // quiet after the replies
      continue;
    }
    if (got->first.size() == 64 && got->first[0] == 3)
      ++cookie_replies;
    // The hand peer's own reply carries its cookie; the strangers' ones
    // name indices it does not have.
    auto src = wg::source_address::from(got->second);
    auto res = hand.dev.receive(got->first, src.span(), wg::clock::now());
    CAF_CHECK(res.out.packets.empty()); // no handshake was answered
  }
  CAF_MESSAGE(cookie_replies << " cookie replies");
  CAF_CHECK_GREATER(cookie_replies, 0u);
  CAF_CHECK_GREATER(counter_value("tunnel_under_load_entered"), entered);
  CAF_CHECK_GREATER(counter_value("wg_rejected_cookie_required"), cookie_required);

  CAF_MESSAGE("the hand peer's retry carries MAC2 from its cookie and is answered");
  auto retry = hand.session->tick(wg::clock::now() + seconds(6));
  CAF_REQUIRE(!retry.datagrams.empty());
  bool answered = false;
  for (auto& p : hand.talk(retry, seconds(10)))
    answered = answered || is_icmp(p, 0);
  CAF_CHECK(answered);
}

CAF_TEST_FIXTURE_SCOPE_END()

namespace {

/// echo_once: b dials a's echo service at `to` and gets `text` back.
bool echo_once(server& a, server& b, const std::string& to, const std::string& text) {
  auto l = a.listen("tcp", ":7100");
  if (!l)
    return false;
  auto served = std::async(std::launch::async, [&] {
    auto c = l->accept(netstack::after(seconds(20)));
    return c ? netstack::testing::echo(*c) : size_t{0};
  });
  auto c = b.dial("tcp", to, seconds(20));
  bool ok = false;
  if (c) {
    ok = c->write(bytes_of(text)).ok()
         && c->shutdown_write().ok();
    auto got = netstack::testing::drain(*c, netstack::after(seconds(20)));
    ok = ok && got.bytes == text.size();
  }
  served.get();
  l->close();
  return ok;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(lazy_session_tests, system_fixture)

CAF_TEST(sessions_are_made_only_for_peers_a_node_talks_to) {
  constexpr size_t idle_peers = 100;
  auto control = start_control(sys);
  CAF_REQUIRE(control.ok());
  std::vector<node_public_key> idle_keys;
  for (size_t i = 0; i < idle_peers; ++i) {
    idle_keys.push_back(node_private_key::generate().public_key());
    CAF_REQUIRE(register_wireguard_only(*control, "idle" + std::to_string(i), idle_keys.back(),
                                        "127.0.0.1:9", ""));
  }
  auto tweak = [](server_options& o) { o.in_memory_peers = false; };
  auto a = start_node(sys, *control, "alpha", tweak);
  auto b = start_node(sys, *control, "bravo", tweak);
  CAF_REQUIRE(a.ok() && b.ok());
  auto shared = tunnel::shared_tunnel();
  CAF_REQUIRE(shared.ok());
  auto& tun = **shared;
  CAF_REQUIRE(wait_until([&] { return num_peers_of(**a) == idle_peers + 1; }, seconds(10)));
  CAF_MESSAGE("alpha sees " << num_peers_of(**a) << " peers and has talked to none");
  auto sessions = tun.stats().sessions;
  CAF_CHECK_EQUAL(sessions, 0u);

  CAF_REQUIRE(echo_once(**a, **b, "alpha:7100", "lazy"));
  CAF_MESSAGE("one conversation: one session on each side");
  CAF_CHECK_EQUAL(tun.stats().sessions, 2u);

  CAF_MESSAGE("half the idle peers leave: the tunnel never hears of it");
  auto removed = counter_value("tunnel_peers_removed");
  auto link_events = counter_value("tunnel_link_events");
  for (size_t i = 0; i < idle_peers / 2; ++i) {
    auto p = (*a)->local_client().peer_by_name("idle" + std::to_string(i));
    CAF_REQUIRE(p.ok());
    CAF_REQUIRE(delete_node(*control, (*p)->id()));
  }
  CAF_CHECK(wait_until([&] { return num_peers_of(**a) == idle_peers / 2 + 1; }, seconds(10)));
  CAF_CHECK_EQUAL(counter_value("tunnel_link_events"), link_events);
  CAF_CHECK_EQUAL(counter_value("tunnel_peers_removed"), removed);
  CAF_CHECK_EQUAL(tun.stats().sessions, 2u);

  CAF_MESSAGE("the one it talked to leaves: its session goes");
  CAF_REQUIRE((*b)->close().ok());
  CAF_CHECK(wait_until([&] { return counter_value("tunnel_link_events") > link_events; },
                       seconds(10)));
  CAF_CHECK(wait_until([&] { return counter_value("tunnel_peers_removed") > removed; },
                       seconds(10)));
  CAF_CHECK(wait_until([&] { return tun.stats().sessions == 0; }, seconds(10)));
}

CAF_TEST_FIXTURE_SCOPE_END()
