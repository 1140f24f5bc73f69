// SPDX-License-Identifier: Apache-2.0
// A real node's delta path, driven through a real coordination server whose
// alt_map_stream hook serves the node a synthetic full map and then deltas
// sent by the test (alt_atom messages): add, remove, patch, online change,
// address reuse before removal, a profile outliving its peer, and a patch
// of an unknown id. Counters prove the node never rebuilt its map in full.
#define CAF_SUITE node_delta
#include <caf/test/unit_test_impl.hpp>

#include <caf/send.hpp>

#include <atomic>
#include <string>
#include <vector>

#include "actors/atoms.hpp"
#include "nodes/local_client.hpp"
#include "runtime/counters.hpp"
#include "runtime/map_plan.hpp"
#include "runtime/peer_intern.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/synthetic.hpp"

using namespace tf;
using namespace tf::test;
using namespace std::chrono;

namespace {

constexpr size_t num_shards = 2;
constexpr wire::node_id first_peer = 1001;
constexpr size_t num_initial = 10;

wire::user_profile user_u() {
  return wire::user_profile{synthetic_user, "u@example.com", "User U", ""};
}

/// synthetic_full is the first (full) map: peers 1001..1010, all owned by
/// user U, whose profile only this message carries.
wire::map_response synthetic_full(const wire::node& self) {
  wire::map_response r;
  r.self = self;
  r.domain = synthetic_domain;
  r.dns = wire::dns_config{};
  r.peers.emplace();
  for (size_t i = 0; i < num_initial; ++i) {
    r.peers->push_back(make_peer(first_peer + i));
  }
  r.user_profiles = {user_u()};
  return r;
}

/// pick_id finds an unused id >= `from` whose shard is (or is not) `shard`.
wire::node_id pick_id(wire::node_id from, size_t shard, bool same) {
  for (auto id = from;; ++id) {
    if ((shard_of(id, num_shards) == shard) == same) {
      return id;
    }
  }
}

struct delta_fixture : system_fixture {
  test_control control;
  std::unique_ptr<server> viewer;
  wire::node_id viewer_id = 0;
  uint64_t seq = 0;
  uint64_t num_deltas = 0;

  /// send delivers one delta to the viewer's taken-over stream.
  void send(wire::map_response r) {
    r.seq = ++seq;
    caf::anon_send(control->actor(), actors::alt_atom::value, viewer_id, std::move(r));
    ++num_deltas;
  }

  local_client lc() { return viewer->local_client(); }

  bool has(wire::node_id id) { return lc().peer_by_id(id).ok(); }

  /// start_viewer starts a coordination server that serves synthetic_full
  /// and the viewer node, and waits until the viewer sees its peers.
  bool start_viewer() {
    auto started = start_control(sys, [](control::coordination_server_options& o) {
      o.server.alt = [](const wire::node& self, const wire::map_request&) {
        return std::optional<wire::map_response>{synthetic_full(self)};
      };
    });
    if (!started.ok())
      return false;
    control = std::move(*started);
    auto node = start_node(sys, control, "viewer",
                           [](server_options& o) { o.num_shards = num_shards; });
    if (!node.ok())
      return false;
    viewer = std::move(*node);
    viewer_id = node_id_of(*viewer);
    return viewer_id != 0
           && wait_until([&] { return num_peers_of(*viewer) == num_initial; }, seconds(5));
  }

  /// owner_of is the node id WhoIs reports for `ip` (0 if none).
  wire::node_id owner_of(const ip_addr& ip) {
    auto who = lc().whois(ip.to_string());
    return who ? who->node->id() : 0;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(node_delta_tests, delta_fixture)

CAF_TEST(deltas_update_a_real_node_without_a_full_rebuild) {
  auto full_before = counter_value("map_response_full_rebuild");
  CAF_REQUIRE(start_viewer());
  auto full_after = counter_value("map_response_full_rebuild");
  CAF_CHECK_EQUAL(full_after, full_before + 1);
  auto incremental = counter_value("map_response_handled_incrementally");

  CAF_MESSAGE("add");
  auto added = pick_id(2001, 0, true);
  {
    wire::map_response r;
    r.peers_changed = {make_peer(added)};
    send(std::move(r));
  }
  CAF_CHECK(wait_until([&] { return has(added); }, seconds(5)));
  CAF_CHECK_EQUAL(num_peers_of(*viewer), num_initial + 1);
  CAF_CHECK_EQUAL(owner_of(synthetic_v4(added)), added);

  CAF_MESSAGE("remove");
  auto removed = first_peer + 1;
  {
    wire::map_response r;
    r.peers_removed = {removed};
    send(std::move(r));
  }
  CAF_CHECK(wait_until([&] { return !has(removed); }, seconds(5)));
  CAF_CHECK_EQUAL(owner_of(synthetic_v4(removed)), 0u);
  CAF_CHECK_EQUAL(num_peers_of(*viewer), num_initial);

  CAF_MESSAGE("patch");
  auto patched = first_peer + 2;
  auto endpoint = *ip_endpoint::parse("192.0.2.7:41641");
  {
    wire::peer_change c;
    c.id = patched;
    c.endpoints = std::vector<ip_endpoint>{endpoint};
    wire::map_response r;
    r.peers_changed_patch = {c};
    send(std::move(r));
  }
  CAF_CHECK(wait_until(
    [&] {
      auto p = lc().peer_by_id(patched);
      return p.ok() && (*p)->endpoints().size() == 1 && (*p)->endpoints()[0] == endpoint;
    },
    seconds(5)));

  CAF_MESSAGE("online change");
  auto flapping = first_peer + 3;
  for (bool online : {true, false}) {
    wire::map_response r;
    r.online_change = {{flapping, online}};
    send(std::move(r));
    CAF_CHECK(wait_until(
      [&] {
        auto p = lc().peer_by_id(flapping);
        return p.ok() && (*p)->online_known() && (*p)->online() == online;
      },
      seconds(5)));
  }

  // An address moves to a new peer before the old peer's removal arrives;
  // once it does, WhoIs must still find the new owner. Both shard layouts.
  struct {
    const char* name;
    wire::node_id old_id;
    bool same_shard;
  } reuses[] = {
    {"address reuse within one shard", first_peer + 4, true},
    {"address reuse across shards", first_peer + 5, false},
  };
  wire::node_id next_free = 3001;
  for (auto& c : reuses) {
    CAF_MESSAGE("case " << c.name);
    auto new_id = pick_id(next_free, shard_of(c.old_id, num_shards), c.same_shard);
    next_free = new_id + 1;
    auto addr = synthetic_v4(c.old_id);
    {
      wire::map_response r;
      r.peers_changed = {make_peer_with(new_id, addr, "reuser-" + std::to_string(new_id))};
      send(std::move(r));
    }
    CAF_CHECK(wait_until([&] { return has(new_id); }, seconds(5)));
    CAF_CHECK_EQUAL(owner_of(addr), new_id); // the newest claim wins
    {
      wire::map_response r;
      r.peers_removed = {c.old_id};
      send(std::move(r));
    }
    CAF_CHECK(wait_until([&] { return !has(c.old_id); }, seconds(5)));
    CAF_CHECK_EQUAL(owner_of(addr), new_id);
    auto by_name = lc().peer_by_name("reuser-" + std::to_string(new_id));
    CAF_CHECK(by_name.ok());
  }

  CAF_MESSAGE("a short name means a peer in the tailnet's own suffix only");
  auto shared_in = pick_id(next_free, 0, true);
  {
    wire::map_response r;
    r.peers_changed = {
      make_peer_with(shared_in, synthetic_v4(shared_in), "web", "other-tailnet.ts.net")};
    send(std::move(r));
  }
  CAF_CHECK(wait_until([&] { return has(shared_in); }, seconds(5)));
  auto by_fqdn = lc().peer_by_name("Web.Other-Tailnet.ts.net.");
  CAF_REQUIRE(by_fqdn.ok());
  CAF_CHECK_EQUAL((*by_fqdn)->id(), shared_in);
  CAF_CHECK_EQUAL(std::string{to_string(lc().peer_by_name("web").code())}, "not_found");
  auto own = lc().peer_by_name("PEER-" + std::to_string(first_peer));
  CAF_REQUIRE(own.ok());
  CAF_CHECK_EQUAL((*own)->id(), first_peer);

  CAF_MESSAGE("a re-added peer gets its user's profile from the full map");
  auto returning = first_peer + 6;
  auto returning_node = make_peer(returning);
  {
    wire::map_response r;
    r.peers_removed = {returning};
    send(std::move(r));
  }
  CAF_CHECK(wait_until([&] { return !has(returning); }, seconds(5)));
  {
    wire::map_response r;
    r.peers_changed = {returning_node}; // no user_profiles
    send(std::move(r));
  }
  CAF_CHECK(wait_until([&] { return has(returning); }, seconds(5)));
  auto who = lc().whois(synthetic_v4(returning).to_string() + ":80");
  CAF_REQUIRE(who.ok());
  CAF_CHECK_EQUAL(who->user.login_name, "u@example.com");
  CAF_CHECK_EQUAL(who->user.id, synthetic_user);

  CAF_MESSAGE("a changed profile reaches every shard, and later peers of its user get it");
  {
    wire::map_response r;
    auto renamed = user_u();
    renamed.login_name = "u-renamed@example.com";
    r.user_profiles = {renamed}; // no peers: the shards' own peers must see it
    send(std::move(r));
  }
  auto login_of = [&](wire::node_id id) {
    auto w = lc().whois(synthetic_v4(id).to_string());
    return w ? w->user.login_name : std::string{"(none)"};
  };
  // One initial peer (owned by U) still present in each shard.
  auto present_in = [&](bool shard0) {
    for (auto id = first_peer; id < first_peer + num_initial; ++id)
      if ((shard_of(id, num_shards) == 0) == shard0 && has(id))
        return id;
    return wire::node_id{0};
  };
  auto in_shard0 = present_in(true);
  auto in_shard1 = present_in(false);
  CAF_REQUIRE(in_shard0 != 0 && in_shard1 != 0);
  CAF_CHECK(wait_until([&] { return login_of(in_shard0) == "u-renamed@example.com"; },
                       seconds(5)));
  CAF_CHECK(wait_until([&] { return login_of(in_shard1) == "u-renamed@example.com"; },
                       seconds(5)));
  for (bool same : {true, false}) {
    auto id = pick_id(first_peer + 5000, 0, same);
    wire::map_response r;
    r.peers_changed = {make_peer(id)}; // no user_profiles
    send(std::move(r));
    CAF_CHECK(wait_until([&] { return has(id); }, seconds(5)));
    CAF_CHECK_EQUAL(login_of(id), "u-renamed@example.com");
  }

  CAF_MESSAGE("a patch of an unknown id is ignored and counted");
  auto unknown = counter_value("peer_patch_unknown_id");
  auto peers_before = num_peers_of(*viewer);
  {
    wire::peer_change c;
    c.id = 999'999;
    c.online = true;
    wire::map_response r;
    r.peers_changed_patch = {c};
    send(std::move(r));
  }
  CAF_CHECK(wait_until([&] { return counter_value("peer_patch_unknown_id") == unknown + 1; },
                       seconds(5)));
  CAF_CHECK(!has(999'999));
  CAF_CHECK_EQUAL(num_peers_of(*viewer), peers_before);

  CAF_MESSAGE("every delta took the incremental path; no full rebuild");
  CAF_CHECK_EQUAL(counter_value("map_response_handled_incrementally"), incremental + num_deltas);
  CAF_CHECK_EQUAL(counter_value("map_response_full_rebuild"), full_after);
  auto st = lc().status();
  CAF_REQUIRE(st.ok());
  CAF_CHECK_EQUAL(std::string{to_string(st->state)}, "Running");
}

CAF_TEST(the_session_frees_the_records_its_shards_dropped) {
  CAF_REQUIRE(start_viewer());
  constexpr wire::node_id first = 3001;
  constexpr size_t count = 2 * dead_peers_free_batch;
  {
    wire::map_response r;
    for (auto id = first; id < first + count; ++id)
      r.peers_changed.push_back(make_peer(id));
    send(std::move(r));
  }
  CAF_REQUIRE(wait_until([&] { return num_peers_of(*viewer) == num_initial + count; },
                         seconds(5)));
  // The test holds the last references, so that the records die after the
  // session handled the removal, not while it did.
  std::vector<peer_ref> held;
  for (auto id = first; id < first + count; ++id)
    if (auto p = lc().peer_by_id(id); p.ok())
      held.push_back(std::move(*p));
  CAF_REQUIRE_EQUAL(held.size(), count);
  {
    wire::map_response r;
    for (auto id = first; id < first + count; ++id)
      r.peers_removed.push_back(id);
    send(std::move(r));
  }
  CAF_REQUIRE(wait_until([&] { return num_peers_of(*viewer) == num_initial; }, seconds(5)));
  CAF_REQUIRE(wait_until([&] { return held.front()->use_count() == 1; }, seconds(5)));
  free_dead_peers();
  auto listed = interned_peer_listed();
  held.clear();
  if (!peer_frees_deferred) {
    CAF_CHECK_EQUAL(dead_peers_waiting(), 0u); // freed at once
    CAF_CHECK_EQUAL(interned_peer_listed() + count, listed);
    return;
  }
  // Dead, still listed; the session frees them after its next batch, here
  // a delta that adds one peer.
  CAF_CHECK_EQUAL(dead_peers_waiting(), count);
  CAF_CHECK_EQUAL(interned_peer_listed(), listed);
  {
    wire::map_response r;
    r.peers_changed = {make_peer(first + count)};
    send(std::move(r));
  }
  CAF_CHECK(wait_until([&] { return has(first + count); }, seconds(5)));
  CAF_CHECK(wait_until([&] { return dead_peers_waiting() == 0; }, seconds(5)));
  CAF_CHECK_EQUAL(interned_peer_listed() + count, listed + 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
