// SPDX-License-Identifier: Apache-2.0
// The delta path's data structures without actors: interning, the shard
// table and its conditional evictions, map planning, interest routing and
// the state rule. Table tests in the style of Tailscale's delta tests.
#define CAF_SUITE peer_table
#include <caf/test/unit_test_impl.hpp>

#include <thread>
#include <vector>

#include "runtime/bus_interest.hpp"
#include "runtime/counters.hpp"
#include "runtime/credit_window.hpp"
#include "runtime/ipn_state.hpp"
#include "runtime/map_plan.hpp"
#include "runtime/node_normalize.hpp"
#include "runtime/peer_intern.hpp"
#include "runtime/peer_table.hpp"
#include "tests/support/synthetic.hpp"

using namespace tf;
using tf::test::make_peer;
using tf::test::make_peer_with;

namespace {

peer_ref interned(wire::node n) {
  auto ok = normalize_node(n);
  CAF_REQUIRE(ok.ok());
  return intern_peer(n);
}

wire::node_id id_at(const peer_table::entry* e) {
  return e ? e->rec->id() : 0;
}

} // namespace

CAF_TEST(interning_shares_equal_content_and_frees_on_last_release) {
  auto before = interned_peer_count();
  auto n = make_peer(7);
  {
    auto a = interned(n);
    auto b = interned(n);
    CAF_CHECK(a.get() == b.get());
    CAF_CHECK_EQUAL(a->use_count(), 2u);
    CAF_CHECK_EQUAL(interned_peer_count(), before + 1);
    auto changed = n;
    changed.online = true;
    prefetch_interned_peer(changed.id); // a hint: changes nothing
    CAF_CHECK_EQUAL(interned_peer_count(), before + 1);
    auto c = interned(changed);
    CAF_CHECK(c.get() != a.get());
    CAF_CHECK_EQUAL(interned_peer_count(), before + 2);
    // Two versions of one id share the table: each finds its own.
    CAF_CHECK(interned(n).get() == a.get());
    CAF_CHECK(interned(changed).get() == c.get());
  }
  CAF_CHECK_EQUAL(interned_peer_count(), before);
}

CAF_TEST(released_records_wait_until_freed_a_bounded_while) {
  free_dead_peers();
  auto before = interned_peer_count();
  std::vector<peer_ref> refs;
  for (wire::node_id id = 50'000; id < 50'100; ++id)
    refs.push_back(interned(make_peer(id)));
  std::thread{[&] { refs.clear(); }}.join(); // the last references go elsewhere
  CAF_CHECK_EQUAL(interned_peer_count(), before); // dead at once, if not yet freed
  CAF_CHECK_EQUAL(dead_peers_waiting(), peer_frees_deferred ? 100u : 0u);
  // The dead stay listed until freed: the releasing thread only buries them.
  CAF_CHECK_EQUAL(interned_peer_listed(), before + dead_peers_waiting());
  // Interning does not free them (the control session does, between
  // batches), nor does a call that wants more than wait.
  std::vector<peer_ref> next;
  for (wire::node_id id = 60'000; id < 60'000 + 2 * dead_peers_free_batch; ++id)
    next.push_back(interned(make_peer(id)));
  free_dead_peers(101);
  CAF_CHECK_EQUAL(dead_peers_waiting(), peer_frees_deferred ? 100u : 0u);
  free_dead_peers(100);
  CAF_CHECK_EQUAL(dead_peers_waiting(), 0u);
  auto kept = next.size();
  CAF_CHECK_EQUAL(interned_peer_listed(), before + kept);
  // Without frees, no more than the bound wait: the release that fills the
  // graveyard frees what waits, from every stripe, and is counted.
  auto at_bound = counter_value("peer_frees_at_bound");
  for (wire::node_id id = 70'000; id < 70'000 + 3 * max_dead_peers_waiting; ++id)
    refs.push_back(interned(make_peer(id)));
  std::thread{[&] { refs.clear(); }}.join();
  CAF_CHECK_LESS(dead_peers_waiting(), max_dead_peers_waiting);
  CAF_CHECK_EQUAL(counter_value("peer_frees_at_bound"), at_bound + (peer_frees_deferred ? 3 : 0));
  CAF_CHECK_EQUAL(interned_peer_listed(), before + kept + dead_peers_waiting());
  free_dead_peers();
  CAF_CHECK_EQUAL(dead_peers_waiting(), 0u);
  CAF_CHECK_EQUAL(interned_peer_count(), before + kept);
  CAF_CHECK_EQUAL(interned_peer_listed(), before + kept);
}

CAF_TEST(a_dead_record_still_listed_is_replaced_by_its_content_coming_back) {
  free_dead_peers();
  auto before = interned_peer_listed();
  auto n = make_peer(80'000);
  auto first = interned(n);
  auto* old = first.get();
  std::thread{[&] { first = peer_ref{}; }}.join(); // dead; listed until freed
  auto again = interned(n);
  CAF_REQUIRE(again);
  CAF_CHECK_EQUAL(again->use_count(), 1u);
  CAF_CHECK_EQUAL(again->id(), 80'000u);
  if (peer_frees_deferred)
    CAF_CHECK(again.get() != old); // the dead one is still allocated: a new record
  free_dead_peers();                // frees the old one, leaves the new one listed
  CAF_CHECK_EQUAL(interned_peer_listed(), before + 1);
  CAF_CHECK(interned(n).get() == again.get());
  again = peer_ref{};
  free_dead_peers();
  CAF_CHECK_EQUAL(interned_peer_listed(), before);
}

CAF_TEST(record_round_trips_every_field) {
  auto n = make_peer(42);
  n.endpoints = {*ip_endpoint::parse("192.0.2.1:41641"), *ip_endpoint::parse("[2001:db8::1]:41641")};
  n.tags = {"tag:web", "tag:ci"};
  n.online = false;
  n.last_seen = 123;
  n.addresses.push_back(*ip_prefix::parse("10.0.0.0/24"));
  n.allowed_ips = {*ip_prefix::parse("100.100.0.42/32"), *ip_prefix::parse("192.168.0.0/16")};
  n.name = "Peer-42.LargeTailnet.ts.net.";
  auto r = interned(n);
  auto w = r->to_wire();
  CAF_CHECK_EQUAL(w.name, "peer-42.largetailnet.ts.net");
  CAF_CHECK_EQUAL(r->short_name(), "peer-42");
  CAF_CHECK_EQUAL(w.tags.size(), 2u);
  CAF_CHECK_EQUAL(w.tags.front(), "tag:ci"); // sorted by normalize_node
  CAF_CHECK(w.endpoints == n.endpoints);
  CAF_CHECK(w.allowed_ips == n.allowed_ips);
  CAF_CHECK_EQUAL(w.addresses.size(), 3u);
  CAF_CHECK(r->same_content(w));
  auto again = interned(w);
  CAF_CHECK(again.get() == r.get());
  CAF_CHECK(r->is_tagged() && r->tags()->contains("tag:web"));
}

CAF_TEST(normalize_rejects_bad_peers) {
  auto before = counter_value("peer_rejected_invalid");
  struct {
    const char* name;
    void (*mutate)(wire::node&);
  } cases[] = {
    {"id zero", [](wire::node& n) { n.id = 0; }},
    {"name too long", [](wire::node& n) { n.name = std::string(300, 'a'); }},
    {"too many endpoints",
     [](wire::node& n) { n.endpoints.assign(65, *ip_endpoint::parse("1.2.3.4:5")); }},
    {"invalid address", [](wire::node& n) { n.addresses.push_back(ip_prefix{}); }},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto n = make_peer(9);
    c.mutate(n);
    CAF_CHECK_EQUAL(normalize_node(n).code(), errc::malformed_message);
  }
  CAF_CHECK_EQUAL(counter_value("peer_rejected_invalid"), before + 4);
}

// One delta step on a table: what to do and what must hold afterwards.
struct step {
  const char* name;
  enum { upsert, remove, patch } op;
  wire::node node;              // upsert
  wire::node_id id = 0;         // remove / patch
  wire::peer_change change;     // patch
  const char* lookup_addr;      // address to look up after the step
  wire::node_id want_owner;     // 0 = nobody
};

CAF_TEST(delta_steps_keep_indexes_right) {
  auto reuse_v4 = *ip_addr::parse("100.100.0.5");
  wire::peer_change online_patch;
  online_patch.id = 5;
  online_patch.online = true;
  wire::peer_change unknown_patch;
  unknown_patch.id = 999;
  unknown_patch.online = true;
  std::vector<step> steps = {
    {"add 5", step::upsert, make_peer(5), 0, {}, "100.100.0.5", 5},
    {"patch 5 online", step::patch, {}, 5, online_patch, "100.100.0.5", 5},
    {"add 9 reusing 5's address before 5's removal", step::upsert,
     make_peer_with(9, reuse_v4, "peer-9"), 0, {}, "100.100.0.5", 9},
    {"remove 5 keeps 9's address entry", step::remove, {}, 5, {}, "100.100.0.5", 9},
    {"patch unknown id is ignored", step::patch, {}, 999, unknown_patch, "100.100.0.5", 9},
    {"remove 9", step::remove, {}, 9, {}, "100.100.0.5", 0},
  };
  peer_table t;
  uint64_t gen = 0;
  for (auto& s : steps) {
    CAF_MESSAGE("case " << s.name);
    ++gen;
    switch (s.op) {
      case step::upsert:
        t.upsert(interned(s.node), gen);
        break;
      case step::remove:
        CAF_CHECK(t.remove(s.id));
        break;
      case step::patch: {
        auto r = t.patch(s.change, gen);
        CAF_CHECK_EQUAL(static_cast<bool>(r), s.id != 999);
        break;
      }
    }
    CAF_CHECK_EQUAL(id_at(t.find_by_addr(*ip_addr::parse(s.lookup_addr))), s.want_owner);
  }
  CAF_CHECK_EQUAL(t.size(), 0u);
  CAF_CHECK_EQUAL(t.evictions_skipped(), 1u);
}

CAF_TEST(patch_produces_new_record_and_reindexes_key) {
  peer_table t;
  auto n = make_peer(11);
  t.upsert(interned(n), 1);
  auto old_key = n.key;
  wire::peer_change c;
  c.id = 11;
  key_bytes k{};
  k[0] = 1;
  c.key = node_public_key{k};
  c.endpoints = std::vector<ip_endpoint>{*ip_endpoint::parse("198.51.100.1:41641")};
  auto r = t.patch(c, 2);
  CAF_REQUIRE(r);
  CAF_CHECK(r->key() == *c.key);
  CAF_CHECK_EQUAL(r->endpoints().size(), 1u);
  CAF_CHECK_EQUAL(id_at(t.find_by_key(*c.key)), 11u);
  CAF_CHECK(t.find_by_key(old_key) == nullptr);
  CAF_CHECK_EQUAL(t.find(11)->gen, 2u);
}

CAF_TEST(name_lookup_by_fqdn_and_short_name_with_reuse) {
  peer_table t;
  auto name = [](std::string_view n) { return magic_dns_fqdn(n, "LargeTailnet.ts.net."); };
  t.upsert(interned(make_peer_with(20, *ip_addr::parse("100.64.0.20"), "build")), 1);
  CAF_CHECK_EQUAL(id_at(t.find_by_name(name("build"))), 20u);
  CAF_CHECK_EQUAL(id_at(t.find_by_name(name("Build.largetailnet.ts.net."))), 20u);
  // A new "build" arrives before the old one leaves.
  t.upsert(interned(make_peer_with(21, *ip_addr::parse("100.64.0.21"), "build")), 2);
  t.remove(20);
  CAF_CHECK_EQUAL(id_at(t.find_by_name(name("build"))), 21u);
  CAF_CHECK_EQUAL(id_at(t.find_by_name(name("build.largetailnet.ts.net"))), 21u);
  CAF_CHECK_EQUAL(id_at(t.find_by_addr(*ip_addr::parse("100.64.0.20"))), 0u);
  // A peer outside the tailnet's suffix (a shared-in node) is found by its
  // FQDN only, as in Tailscale: the short name "web" means web.<our suffix>.
  t.upsert(interned(make_peer_with(22, *ip_addr::parse("100.64.0.22"), "web", "other.ts.net")),
           3);
  CAF_CHECK_EQUAL(id_at(t.find_by_name(name("web.other.ts.net"))), 22u);
  CAF_CHECK_EQUAL(id_at(t.find_by_name(name("web"))), 0u);
}

CAF_TEST(magic_dns_fqdn_completes_short_names_only) {
  CAF_CHECK_EQUAL(magic_dns_fqdn("Web", "tail1.ts.net"), "web.tail1.ts.net");
  CAF_CHECK_EQUAL(magic_dns_fqdn("web.", "Tail1.ts.net."), "web.tail1.ts.net");
  CAF_CHECK_EQUAL(magic_dns_fqdn("web.other.ts.net", "tail1.ts.net"), "web.other.ts.net");
  CAF_CHECK_EQUAL(magic_dns_fqdn("WEB.tail1.ts.net.", "tail1.ts.net"), "web.tail1.ts.net");
  CAF_CHECK_EQUAL(magic_dns_fqdn("web", ""), "web"); // no suffix known yet
  CAF_CHECK_EQUAL(magic_dns_fqdn("", "tail1.ts.net"), "");
}

CAF_TEST(full_load_replaces_everything) {
  peer_table t;
  t.upsert(interned(make_peer(1)), 1);
  std::vector<peer_ref> peers;
  for (wire::node_id id = 100; id < 110; ++id)
    peers.push_back(interned(make_peer(id)));
  t.load(std::move(peers), 2);
  CAF_CHECK_EQUAL(t.size(), 10u);
  CAF_CHECK(t.find(1) == nullptr);
  CAF_CHECK_EQUAL(id_at(t.find_by_addr(tf::test::synthetic_v6(105))), 105u);
}

CAF_TEST(plan_delta_splits_by_shard) {
  wire::map_response r;
  r.peers_changed = {make_peer(1), make_peer(2), make_peer(3)};
  r.peers_removed = {4, 5};
  r.online_change = {{1, true}};
  r.peer_seen_change = {{2, true}, {3, false}};
  auto bad = make_peer(6);
  bad.id = 0;
  r.peers_changed.push_back(bad);
  auto plan = plan_delta(r, 4, 777);
  CAF_CHECK_EQUAL(plan.shards.size(), 4u);
  CAF_CHECK_EQUAL(plan.rejected, 1u);
  size_t ops = 0;
  for (size_t s = 0; s < plan.shards.size(); ++s) {
    auto& b = plan.shards[s];
    ops += b.num_ops();
    for (auto& u : b.upserts)
      CAF_CHECK_EQUAL(shard_of(u->id(), 4), s);
    for (auto id : b.removes)
      CAF_CHECK_EQUAL(shard_of(id, 4), s);
    for (auto& p : b.patches) {
      CAF_CHECK_EQUAL(shard_of(p.id, 4), s);
      if (p.id == 2)
        CAF_CHECK_EQUAL(p.last_seen.value_or(-1), 777);
      if (p.id == 3)
        CAF_CHECK_EQUAL(p.last_seen.value_or(-1), 0);
    }
  }
  CAF_CHECK_EQUAL(ops, 3u + 2u + 3u);
}

CAF_TEST(plan_delta_into_a_reused_plan_holds_only_the_latest_delta) {
  delta_plan plan;
  wire::map_response first;
  first.peers_changed = {make_peer(11), make_peer(12)};
  first.peers_removed = {13};
  plan_delta_into(first, 2, 0, plan);
  CAF_CHECK_EQUAL(plan.shards[0].num_ops() + plan.shards[1].num_ops(), 3u);
  plan.shards[shard_of(11, 2)].gen = 42;
  wire::map_response second;
  second.peers_removed = {14};
  plan_delta_into(second, 2, 0, plan);
  CAF_CHECK_EQUAL(plan.shards.size(), 2u);
  auto& owner = plan.shards[shard_of(14, 2)];
  auto& other = plan.shards[1 - shard_of(14, 2)];
  CAF_CHECK(other.empty());
  CAF_CHECK(owner.upserts.empty());
  CAF_REQUIRE_EQUAL(owner.removes.size(), 1u);
  CAF_CHECK_EQUAL(owner.removes[0], 14u);
  CAF_CHECK_EQUAL(plan.shards[shard_of(11, 2)].gen, 0u);
}

CAF_TEST(prefetch_is_only_a_hint) {
  // Same mutations on two tables, one prefetched before each batch (with
  // known, unknown and replaced ids): every lookup must agree. Big enough
  // that prefetch does its work.
  peer_table plain;
  peer_table warmed;
  std::vector<peer_ref> kept;
  for (wire::node_id id = 1; id <= peer_table::prefetch_min_peers + 100; ++id) {
    kept.push_back(interned(make_peer(id)));
    plain.upsert(kept.back(), 1);
    warmed.upsert(kept.back(), 1);
  }
  std::vector<wire::node_id> removed{3, 7, 999'999}; // 999,999 is unknown
  std::vector<peer_ref> upserts{interned(make_peer(999'998)), interned(make_peer(8))};
  std::vector<const peer_record*> raw;
  for (auto& u : upserts)
    raw.push_back(u.get());
  warmed.prefetch(removed, raw);
  warmed.prefetch({}, {}); // empty batches are fine too
  for (auto* t : {&plain, &warmed}) {
    for (auto id : removed)
      t->remove(id);
    for (auto& u : upserts)
      t->upsert(u, 2);
  }
  CAF_CHECK_EQUAL(plain.size(), warmed.size());
  for (wire::node_id id : {1, 3, 7, 8, 9, 500, 999'998, 999'999}) {
    auto a = test::synthetic_v4(id);
    CAF_CHECK_EQUAL(id_at(plain.find(id)), id_at(warmed.find(id)));
    CAF_CHECK_EQUAL(id_at(plain.find_by_addr(a)), id_at(warmed.find_by_addr(a)));
    auto name = "peer-" + std::to_string(id) + "." + test::synthetic_domain;
    CAF_CHECK_EQUAL(id_at(plain.find_by_name(name)), id_at(warmed.find_by_name(name)));
  }
  CAF_CHECK_EQUAL(id_at(warmed.find(3)), 0u);
  CAF_CHECK_EQUAL(id_at(warmed.find(999'998)), 999'998u);
}

CAF_TEST(interest_routes_only_to_matching_watchers) {
  bus::interest_table it;
  it.add(1, {});                           // everything
  it.add(2, {{"peer-5"}, {}});             // one peer by short name
  it.add(3, {{}, {"tag:ci"}});             // by tag
  it.add(4, {{"PEER-5.largetailnet.ts.net"}, {"tag:ci"}});
  auto p5 = interned(make_peer(5));
  auto ci = make_peer(6);
  ci.tags = {"tag:ci"};
  auto p6 = interned(ci);
  auto p7 = interned(make_peer(7));
  std::vector<bus::watcher_id> out;
  it.matches(*p5, out);
  CAF_CHECK(out == (std::vector<bus::watcher_id>{1, 2, 4}));
  out.clear();
  it.matches(*p6, out);
  CAF_CHECK(out == (std::vector<bus::watcher_id>{1, 3, 4}));
  out.clear();
  it.matches(*p7, out);
  CAF_CHECK(out == (std::vector<bus::watcher_id>{1}));
  it.remove(1);
  out.clear();
  it.matches(*p7, out);
  CAF_CHECK(out.empty());
  CAF_CHECK(!bus::validate_mask(bus::notify_rate_limit | bus::notify_peer_changes).ok());
  CAF_CHECK(bus::validate_mask(bus::notify_rate_limit | bus::notify_initial_state).ok());
}

CAF_TEST(state_rule_table) {
  struct {
    const char* name;
    state_inputs in;
    ipn_state want;
  } cases[] = {
    {"store broken", {.store_healthy = false}, ipn_state::no_state},
    {"fresh node loading", {}, ipn_state::no_state},
    {"login pending", {.login_pending = true}, ipn_state::needs_login},
    {"registered, no netmap", {.has_node_key = true}, ipn_state::starting},
    {"netmap", {.has_node_key = true, .have_netmap = true}, ipn_state::running},
    {"stopped", {.want_running = false, .has_node_key = true}, ipn_state::stopped},
    {"key expired", {.has_node_key = true, .have_netmap = true, .self_key_expired = true},
     ipn_state::needs_login},
    {"machine not authorized",
     {.has_node_key = true, .have_netmap = true, .machine_authorized = false},
     ipn_state::needs_machine_auth},
    {"logged out", {.logged_out = true, .has_node_key = true}, ipn_state::needs_login},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    CAF_CHECK_EQUAL(to_string(next_state(c.in)), to_string(c.want));
  }
  CAF_CHECK(ipn_state_from_string("Running") == ipn_state::running);
  CAF_CHECK(!ipn_state_from_string("Bogus"));
}

CAF_TEST(credit_window_wakes_a_waiting_producer_once) {
  credit_window w{4};
  for (int i = 0; i < 4; ++i)
    w.sent();
  CAF_CHECK(w.exhausted());
  CAF_CHECK(w.try_wait());     // producer waits
  CAF_CHECK(!w.consumed());    // 3 left: above half
  CAF_CHECK(w.consumed());     // 2 left: wake the producer, once
  CAF_CHECK(!w.consumed());
  CAF_CHECK(!w.consumed());
  CAF_CHECK_EQUAL(w.in_flight(), 0);
  // A producer that marks itself waiting after the consumer caught up goes on.
  for (int i = 0; i < 4; ++i)
    w.sent();
  for (int i = 0; i < 3; ++i)
    static_cast<void>(w.consumed());
  CAF_CHECK(!w.try_wait());
  CAF_CHECK(!w.consumed()); // nobody waits any more
}
