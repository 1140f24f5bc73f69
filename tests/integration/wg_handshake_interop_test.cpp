// SPDX-License-Identifier: Apache-2.0
// Interop with an unmodified wireguard-go (scripts/wg-peer-netns.sh runs it in
// a network namespace). From the root namespace, one plain UDP socket and two
// tf::wg devices sharing an index table: node A initiates a handshake and
// pings wireguard-go's kernel through it; wireguard-go initiates to node B
// (the namespace pings B's tunnel address) and B answers the echo requests.
// Run as `wg_handshake_interop_test -- <path of scripts/wg-peer-netns.sh>`.
// Skips (passing) only when not root or network namespaces are unavailable.
#define CAF_SUITE wg_handshake_interop
#include <caf/test/unit_test_impl.hpp>

#include <unistd.h>

#include <atomic>
#include <thread>

#include "runtime/wg/device.hpp"
#include "tests/integration/wg_interop_util.hpp"

using namespace tf;
using namespace tf::wg;
using namespace tf::wg::interop;
using namespace std::chrono_literals;

namespace {

const ip_addr our_a = *ip_addr::parse("100.64.0.1");
const ip_addr their_ip = *ip_addr::parse("100.64.0.2");
const ip_addr our_b = *ip_addr::parse("100.64.0.3");

/// rig is our side: one socket, devices A and B, and what arrived.
struct rig {
  udp_socket sock;
  ip_endpoint wg_endpoint;
  std::shared_ptr<index_table> table = std::make_shared<index_table>();
  node_private_key key_a = node_private_key::generate();
  node_private_key key_b = node_private_key::generate();
  device dev_a{key_a, device_options{{}, table}};
  device dev_b{key_b, device_options{{}, table}};
  session* sa = nullptr;
  session* sb = nullptr;
  std::vector<std::vector<uint8_t>> at_a;
  size_t echo_replies_sent_by_b = 0;
  size_t initiations_to_b = 0;
  std::vector<event> events_b;

  rig(const std::string& local_ip, const ip_endpoint& ep, const node_public_key& theirs)
    : sock(local_ip), wg_endpoint(ep) {
    sa = *dev_a.add_peer({theirs});
    sb = *dev_b.add_peer({theirs});
  }

  void flush(const actions& out) {
    for (auto& d : out.datagrams) {
      sock.send_to(wg_endpoint, d);
    }
  }

  void handle(session* s, actions out, time_point now) {
    flush(out);
    if (s == sb) {
      events_b.insert(events_b.end(), out.events.begin(), out.events.end());
    }
    for (auto& p : out.packets) {
      if (s == sa) {
        at_a.push_back(p);
      } else if (is_icmp(p, 8) && destination_of(p) == our_b) {
        flush(sb->send(echo_reply_to(p), now));
        ++echo_replies_sent_by_b;
      }
    }
  }

  /// step receives for up to 50 ms, dispatches, and runs due timers.
  void step() {
    auto got = sock.receive(50ms);
    auto now = clock::now();
    if (got) {
      auto& [d, from] = *got;
      auto src = source_address::from(from);
      bool to_b = !d.empty() && d[0] == 1 && dev_b.is_addressed_to(d);
      initiations_to_b += to_b ? 1 : 0;
      auto res = (to_b ? dev_b : dev_a).receive(d, src.span(), now);
      if (!res.reply.empty()) {
        sock.send_to(from, res.reply);
      }
      if (res.peer != nullptr) {
        handle(res.peer, std::move(res.out), now);
      }
    }
    for (auto* s : {sa, sb}) {
      if (auto t = s->next_timer(); t && *t <= now) {
        handle(s, s->tick(now), now);
      }
    }
  }
};

/// CHECK_OR_RETURN checks `cond` and leaves the function when it fails (not
/// CAF_REQUIRE, which aborts: the namespace must be cleaned up on failure).
#define CHECK_OR_RETURN(cond)                                                  \
  do {                                                                         \
    bool ok_ = static_cast<bool>(cond);                                        \
    CAF_CHECK(ok_ && #cond);                                                   \
    if (!ok_) {                                                                \
      return;                                                                  \
    }                                                                          \
  } while (false)

/// run_interop is the test body once wireguard-go is up.
void run_interop(const std::string& script, peer_netns& ns) {
  auto their_key = from_base64(value_of(ns.env, "WG_PUBKEY"));
  auto endpoint = ip_endpoint::parse(value_of(ns.env, "WG_ENDPOINT"));
  auto local_ip = value_of(ns.env, "WG_LOCAL_IP");
  CHECK_OR_RETURN(their_key.has_value() && endpoint.has_value() && !local_ip.empty());
  CAF_MESSAGE("wireguard-go " << to_base64(*their_key) << " at " << endpoint->to_string());

  rig r{local_ip, *endpoint, node_public_key{*their_key}};
  CHECK_OR_RETURN(r.sock.ok());
  auto b_endpoint = local_ip + ":" + std::to_string(r.sock.port());
  auto peer_cmd = script + " peer " + ns.name + " ";
  auto add_a = run_command(peer_cmd + to_base64(r.key_a.public_key().bytes()) + " "
                           + our_a.to_string() + "/32");
  CHECK_OR_RETURN(add_a.first == 0);
  auto add_b = run_command(peer_cmd + to_base64(r.key_b.public_key().bytes()) + " "
                           + our_b.to_string() + "/32 " + b_endpoint);
  CHECK_OR_RETURN(add_b.first == 0);

  CAF_MESSAGE("A initiates and pings wireguard-go's kernel through the tunnel");
  for (uint16_t seq = 1; seq <= 3; ++seq) {
    std::string payload = "tailfleet-interop-" + std::to_string(seq);
    auto req = icmp_echo_request(our_a, their_ip, 0x7466, seq, payload);
    r.at_a.clear();
    r.handle(r.sa, r.sa->send(req, clock::now()), clock::now());
    auto deadline = clock::now() + 6s;
    auto is_reply = [&](const std::vector<uint8_t>& p) {
      return is_icmp(p, 0) && source_of(p) == their_ip && destination_of(p) == our_a
             && p.size() == req.size() && std::equal(p.begin() + 24, p.end(), req.begin() + 24);
    };
    while (clock::now() < deadline && std::none_of(r.at_a.begin(), r.at_a.end(), is_reply)) {
      r.step();
    }
    CAF_CHECK(std::any_of(r.at_a.begin(), r.at_a.end(), is_reply));
  }
  auto* ka = r.sa->current();
  CHECK_OR_RETURN(ka != nullptr);
  CAF_CHECK(ka->initiator);
  CAF_CHECK_EQUAL(ka->send_counter, 3u);

  CAF_MESSAGE("wireguard-go initiates to B; B answers as responder");
  std::atomic<bool> ping_done{false};
  int ping_rc = -1;
  std::string ping_out;
  std::thread pinger{[&] {
    auto [rc, out] = run_command("ip netns exec " + ns.name + " ping -c 3 -i 0.3 -W 3 "
                         + our_b.to_string() + " 2>&1");
    ping_rc = rc;
    ping_out = out;
    ping_done = true;
  }};
  auto deadline = clock::now() + 20s;
  while (!ping_done && clock::now() < deadline) {
    r.step();
  }
  pinger.join();
  CAF_MESSAGE("ping: " << ping_out);
  CAF_CHECK_EQUAL(ping_rc, 0);
  CAF_CHECK(r.initiations_to_b >= 1);
  CAF_CHECK(r.echo_replies_sent_by_b >= 1);
  CAF_CHECK(std::count(r.events_b.begin(), r.events_b.end(), event::handshake_complete) >= 1);
  auto* kb = r.sb->current();
  CHECK_OR_RETURN(kb != nullptr);
  CAF_CHECK(!kb->initiator);
  CAF_MESSAGE("wireguard-go says:\n" << run_command(script + " show " + ns.name).second);
}

} // namespace

CAF_TEST(handshakes_and_icmp_with_wireguard_go) {
  with_peer("tfwg", 40, their_ip.to_string(), run_interop);
}
