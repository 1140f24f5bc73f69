// SPDX-License-Identifier: Apache-2.0
// Deterministic conversations of the shards, the bus and watchers on CAF's
// test coordinator: mask semantics, interest routing, patch promotion,
// first-notify assembly and the lagging-watcher rule.
#define CAF_SUITE bus
#include <caf/test/unit_test_impl.hpp>

#include <caf/test/dsl.hpp>

#include <deque>
#include <optional>

#include "actors/bus.hpp"
#include "actors/bus_watch.hpp"
#include "actors/peer_shard.hpp"
#include "actors/watcher.hpp"
#include "runtime/counters.hpp"
#include "runtime/map_plan.hpp"
#include "runtime/node_normalize.hpp"
#include "runtime/peer_intern.hpp"
#include "tests/support/synthetic.hpp"

using namespace tf;
using namespace tf::actors;

namespace {

constexpr size_t num_shards = 2;

/// collector gathers what one watcher delivered.
struct collector {
  std::vector<bus::notify> got;
  std::shared_ptr<bus::watch_flow> flow = std::make_shared<bus::watch_flow>();
};

struct fixture : test_coordinator_fixture<> {
  // Watchers outlive test bodies (they get a last notify when the bus ends
  // in ~fixture), so what they write into lives in the fixture.
  std::deque<collector> collectors;
  std::vector<std::pair<bus::notify, bool>> queued;
  std::vector<peer_shard_actor> shards;
  std::vector<std::shared_ptr<credit_window>> credits;
  bus_actor the_bus;
  uint64_t seq = 0;

  fixture() {
    for (size_t i = 0; i < num_shards; ++i) {
      credits.push_back(std::make_shared<credit_window>(4));
      shards.push_back(spawn_peer_shard(sys, i, credits.back()));
    }
    the_bus = spawn_bus(sys, shards);
    run();
  }

  ~fixture() {
    for (auto& s : shards)
      anon_send_exit(s, caf::exit_reason::user_shutdown);
    anon_send_exit(the_bus, caf::exit_reason::user_shutdown);
    run();
  }

  /// load sends a full map of `ids` to the shards, in one part each.
  void load(std::vector<wire::node_id> ids) {
    std::vector<wire::node> peers;
    for (auto id : ids)
      peers.push_back(tf::test::make_peer(id));
    auto plan = plan_full(peers, num_shards);
    ++seq;
    for (size_t i = 0; i < num_shards; ++i) {
      shard_load l;
      l.seq = l.gen = seq;
      l.last = true;
      l.expected = plan.shards[i].size();
      l.peers = std::move(plan.shards[i]);
      credits[i]->sent();
      self->send(shards[i], load_atom::value, std::move(l));
    }
    run();
  }

  void delta(wire::map_response r) {
    send_delta(std::move(r));
    run();
  }

  /// send_delta sends a delta's shard messages without running anyone.
  void send_delta(wire::map_response r) {
    auto plan = plan_delta(r, num_shards, 1234);
    ++seq;
    for (size_t i = 0; i < num_shards; ++i)
      if (!plan.shards[i].empty()) {
        plan.shards[i].gen = seq;
        shard_delta d;
        d.seq = seq;
        d.batches.push_back(std::move(plan.shards[i]));
        credits[i]->sent();
        self->send(shards[i], apply_atom::value, std::move(d));
      }
  }

  bool from_a_shard(const caf::actor_addr& a) const {
    for (auto& s : shards)
      if (caf::actor_cast<caf::actor_addr>(s) == a)
        return true;
    return false;
  }

  /// inbox is what one actor that watches the bus received.
  struct inbox {
    std::vector<bus::notify> got;
    std::vector<caf::actor_addr> from;   // the sender of each notify
    std::vector<bus::flow_ticket> kept;  // tickets held (a receiver that lags)
    bool keep_tickets = false;
    std::optional<caf::error> refused;
  };
  std::deque<inbox> inboxes;

  /// actor_watch spawns an actor that watches the bus with actors::watch_bus
  /// and writes into `box`.
  caf::actor actor_watch(inbox& box, bus::watch_mask mask) {
    // (CAF 0.17 dereferences a null argument tuple for a spawn without
    // arguments, which UBSan reports: the actor takes its inbox and mask.)
    auto watch = [b = the_bus](caf::event_based_actor* me, inbox* box,
                               bus::watch_mask mask) -> caf::behavior {
      if (auto w = actors::watch_bus(me, b, mask); !w)
        box->refused = caf::make_error(caf::sec::invalid_argument, w.error().message());
      return {
        [me, box](notify_atom, bus::notify& n, bus::flow_ticket& t) {
          box->got.push_back(std::move(n));
          box->from.push_back(caf::actor_cast<caf::actor_addr>(me->current_sender()));
          if (box->keep_tickets && t.holds_slot())
            box->kept.push_back(std::move(t));
        },
      };
    };
    auto a = sys.spawn(watch, &box, mask);
    run();
    return a;
  }

  size_t watchers_on_bus() {
    size_t on_bus = 0;
    auto rp = self->request(the_bus, caf::infinite, stats_atom::value);
    run();
    rp.receive([&](size_t n) { on_bus = n; }, [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
    return on_bus;
  }

  collector& new_collector() {
    return collectors.emplace_back();
  }

  /// watch registers a callback watcher that appends to `c`.
  watcher_actor watch(collector& c, bus::watch_mask mask, bus::interest interest = {}) {
    auto sink =
      watch_sink::callback([&c](bus::notify&& n, bool) { c.got.push_back(std::move(n)); });
    auto w = spawn_watcher(sys, std::move(sink), c.flow);
    self->send(the_bus, watch_atom::value, watch_request{w, mask, std::move(interest), c.flow});
    run();
    return w;
  }

  void publish_state(ipn_state s) {
    node_view v;
    v.state = s;
    self->send(the_bus, view_atom::value, v);
    bus::notify n;
    n.state = s;
    self->send(the_bus, publish_atom::value, n);
    run();
  }

  shard_stats stats_of(size_t i) {
    shard_stats out;
    auto rp = self->request(shards[i], caf::infinite, stats_atom::value);
    run();
    rp.receive([&](shard_stats s) { out = s; },
               [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
    return out;
  }
};

wire::map_response upsert(std::vector<wire::node> nodes) {
  wire::map_response r;
  r.peers_changed = std::move(nodes);
  return r;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(bus_tests, fixture)

CAF_TEST(first_notify_follows_the_mask) {
  load({1, 2, 3, 4});
  publish_state(ipn_state::running);
  auto& full = new_collector();
  auto& bare = new_collector();
  watch(full, bus::notify_initial_state | bus::notify_initial_netmap | bus::notify_peer_changes);
  watch(bare, 0);
  CAF_REQUIRE_EQUAL(full.got.size(), 1u);
  auto& first = full.got.front();
  CAF_CHECK(first.state == ipn_state::running);
  CAF_CHECK(!first.session_id.empty());
  CAF_REQUIRE(first.netmap != nullptr);
  CAF_REQUIRE_EQUAL(first.netmap->peers.size(), 4u);
  for (size_t i = 0; i < 4; ++i)
    CAF_CHECK_EQUAL(first.netmap->peers[i]->id(), i + 1); // sorted by id
  CAF_REQUIRE_EQUAL(bare.got.size(), 1u);
  CAF_CHECK(!bare.got.front().state && !bare.got.front().netmap);
  // A peer change reaches only the watcher that asked for peer changes.
  delta(upsert({tf::test::make_peer(5)}));
  CAF_REQUIRE_EQUAL(full.got.size(), 2u);
  CAF_CHECK_EQUAL(full.got.back().peers_changed.size(), 1u);
  CAF_CHECK_EQUAL(bare.got.size(), 1u);
  // Node-level notifies go to everyone.
  publish_state(ipn_state::starting);
  CAF_CHECK_EQUAL(full.got.size(), 3u);
  CAF_CHECK_EQUAL(bare.got.size(), 2u);
  CAF_CHECK(bare.got.back().state == ipn_state::starting);
}

CAF_TEST(interest_routes_changes_to_named_peers_and_tags_only) {
  load({1, 2});
  auto& of_x = new_collector();
  auto& of_ci = new_collector();
  watch(of_x, bus::notify_peer_changes, {{"peer-10"}, {}});
  watch(of_ci, bus::notify_peer_changes, {{}, {"tag:ci"}});
  auto sent_before = stats_of(0).notifies_sent + stats_of(1).notifies_sent;
  delta(upsert({tf::test::make_peer(11)})); // Y changes: nobody hears
  CAF_CHECK_EQUAL(of_x.got.size(), 1u);     // just the first notify
  CAF_CHECK_EQUAL(of_ci.got.size(), 1u);
  CAF_CHECK_EQUAL(stats_of(0).notifies_sent + stats_of(1).notifies_sent, sent_before);
  delta(upsert({tf::test::make_peer(10)})); // X changes
  CAF_REQUIRE_EQUAL(of_x.got.size(), 2u);
  CAF_CHECK_EQUAL(of_x.got.back().peers_changed.front()->id(), 10u);
  CAF_CHECK_EQUAL(of_ci.got.size(), 1u);
  auto tagged = tf::test::make_peer(12);
  tagged.tags = {"tag:ci"};
  delta(upsert({tagged}));
  CAF_CHECK_EQUAL(of_x.got.size(), 2u);
  CAF_REQUIRE_EQUAL(of_ci.got.size(), 2u);
  wire::map_response rm;
  rm.peers_removed = {10};
  delta(rm);
  CAF_REQUIRE_EQUAL(of_x.got.size(), 3u);
  CAF_CHECK(of_x.got.back().peers_removed == std::vector<wire::node_id>{10});
  CAF_CHECK_EQUAL(of_ci.got.size(), 2u);
}

CAF_TEST(patches_are_promoted_without_the_patch_bit) {
  load({1, 2, 3});
  auto& changes = new_collector();
  auto& patches = new_collector();
  watch(changes, bus::notify_peer_changes);
  watch(patches, bus::notify_peer_patches);
  auto unknown_before = counter_value("peer_patch_unknown_id");
  wire::map_response r;
  r.online_change = {{2, true}, {999, true}};
  delta(r);
  CAF_REQUIRE_EQUAL(changes.got.size(), 2u);
  CAF_REQUIRE_EQUAL(changes.got.back().peers_changed.size(), 1u);
  CAF_CHECK(changes.got.back().peers_changed.front()->online());
  CAF_REQUIRE_EQUAL(patches.got.size(), 2u);
  CAF_REQUIRE_EQUAL(patches.got.back().peer_patches.size(), 1u);
  CAF_CHECK_EQUAL(patches.got.back().peer_patches.front().id, 2u);
  CAF_CHECK_EQUAL(counter_value("peer_patch_unknown_id"), unknown_before + 1);
}

CAF_TEST(lagging_watcher_gets_one_terminal_error_and_is_closed) {
  load({1});
  // A queue consumer that never pops: every notify keeps its slot.
  auto flow = std::make_shared<bus::watch_flow>();
  auto sink = watch_sink::queue(
    [&](bus::notify&& n, bool slot) { queued.emplace_back(std::move(n), slot); });
  auto w = spawn_watcher(sys, std::move(sink), flow);
  self->send(the_bus, watch_atom::value, watch_request{w, bus::notify_peer_changes, {}, flow});
  run();
  for (wire::node_id id = 100; id < 100 + bus::max_pending + 5; ++id)
    delta(upsert({tf::test::make_peer(id)}));
  // first notify + 128 peer notifies + the terminal error, nothing more.
  CAF_REQUIRE_EQUAL(queued.size(), 1u + bus::max_pending + 1u);
  CAF_CHECK(!queued.front().second);
  CAF_CHECK(queued.back().first.err_message == std::string{lagging_message});
  CAF_CHECK(!queued.back().second);
  CAF_CHECK(flow->closed());
  size_t watchers = stats_of(0).num_watchers + stats_of(1).num_watchers;
  CAF_CHECK_EQUAL(watchers, 0u);
  // The watcher actor has ended; the bus dropped it.
  size_t on_bus = 0;
  auto rp = self->request(the_bus, caf::infinite, stats_atom::value);
  run();
  rp.receive([&](size_t n) { on_bus = n; }, [&](caf::error& e) { CAF_FAIL(sys.render(e)); });
  CAF_CHECK_EQUAL(on_bus, 0u);
}

CAF_TEST(rate_limit_with_peer_bits_is_refused) {
  auto& c = new_collector();
  auto sink = watch_sink::callback([&](bus::notify&& n, bool) { c.got.push_back(n); });
  auto w = spawn_watcher(sys, std::move(sink), c.flow);
  bool refused = false;
  auto rp = self->request(the_bus, caf::infinite, watch_atom::value,
                          watch_request{w, bus::notify_rate_limit | bus::notify_peer_changes,
                                        {}, c.flow});
  run();
  rp.receive([&](uint64_t) {}, [&](caf::error&) { refused = true; });
  CAF_CHECK(refused);
  anon_send_exit(w, caf::exit_reason::user_shutdown);
  run();
}

CAF_TEST(shards_return_credit_and_wake_a_waiting_producer) {
  auto& c = *credits[0];
  // Four messages fill the window of four; the producer waits.
  for (int i = 0; i < 4; ++i) {
    c.sent();
    self->send(shards[0], profiles_atom::value, std::vector<profile_ptr>{});
  }
  CAF_CHECK(c.exhausted());
  CAF_CHECK(c.try_wait());
  // The shard works through them; the one that brings the count to half
  // the window sends exactly one resume to the sender.
  run();
  CAF_CHECK_EQUAL(c.in_flight(), 0);
  size_t resumes = 0;
  bool more = true;
  self->receive_while(more)([&](resume_atom) { ++resumes; },
                            caf::after(std::chrono::milliseconds(10)) >> [&] { more = false; });
  CAF_CHECK_EQUAL(resumes, 1u);
}

CAF_TEST(an_actor_watches_the_bus_through_messages) {
  load({1, 2});
  auto& box = inboxes.emplace_back();
  auto a = actor_watch(box, bus::notify_peer_changes);
  CAF_REQUIRE(!box.refused);
  // The first notify, then one per delta; each ticket is dropped after the
  // handler, so far more than bus::max_pending deltas never lag.
  CAF_REQUIRE_EQUAL(box.got.size(), 1u);
  for (wire::node_id id = 100; id < 100 + 2 * bus::max_pending; ++id)
    delta(upsert({tf::test::make_peer(id)}));
  CAF_REQUIRE_EQUAL(box.got.size(), 1u + 2 * bus::max_pending);
  CAF_CHECK(!box.got.back().err_message);
  CAF_REQUIRE_EQUAL(box.got[1].peers_changed.size(), 1u);
  CAF_CHECK_EQUAL(box.got[1].peers_changed[0]->id(), 100u);
  CAF_CHECK_EQUAL(box.got.back().peers_changed[0]->id(), 100u + 2 * bus::max_pending - 1);
  anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
}

CAF_TEST(an_actors_peer_changes_come_from_the_shards_without_the_watcher_hop) {
  load({1, 2});
  auto& box = inboxes.emplace_back();
  auto a = actor_watch(box, bus::notify_initial_state | bus::notify_peer_changes);
  CAF_REQUIRE_EQUAL(box.got.size(), 1u);
  CAF_CHECK(!from_a_shard(box.from.back())); // the first notify: from the watcher
  delta(upsert({tf::test::make_peer(10)}));
  delta(upsert({tf::test::make_peer(11)}));
  CAF_REQUIRE_EQUAL(box.got.size(), 3u);
  CAF_CHECK(from_a_shard(box.from[1]));
  CAF_CHECK(from_a_shard(box.from[2]));
  CAF_REQUIRE_NOT_EQUAL(shard_of(10, num_shards), shard_of(11, num_shards));
  CAF_CHECK_NOT_EQUAL(box.from[1], box.from[2]); // each from its own shard
  publish_state(ipn_state::running);              // node-level: still the watcher's
  CAF_REQUIRE_EQUAL(box.got.size(), 4u);
  CAF_CHECK(!from_a_shard(box.from.back()));
  anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
}

CAF_TEST(the_switch_to_direct_sends_keeps_each_shards_notifies_in_order) {
  // Deltas arrive at every point of the watch's set-up and of the switch
  // (k jobs after the watch starts, then one job between deltas). Per
  // shard, the watching actor must see a gapless run of its ids, in order:
  // once one is seen, every later one is, whichever path it took.
  load({1});
  wire::node_id next = 100;
  size_t saw_all = 0; // watches set up before their first delta
  for (size_t k = 0; k < 40; ++k) {
    auto& box = inboxes.emplace_back();
    auto watch = [b = the_bus](caf::event_based_actor* me, inbox* box) -> caf::behavior {
      static_cast<void>(actors::watch_bus(me, b, bus::notify_peer_changes));
      return {[box](notify_atom, bus::notify& n, bus::flow_ticket&) {
        box->got.push_back(std::move(n));
      }};
    };
    auto a = sys.spawn(watch, &box);
    for (size_t j = 0; j < k && sched.try_run_once(); ++j) {
    }
    std::vector<wire::node_id> sent;
    for (int d = 0; d < 6; ++d) {
      sent.push_back(next);
      send_delta(upsert({tf::test::make_peer(next++)}));
      sched.try_run_once();
    }
    run();
    std::vector<std::vector<wire::node_id>> seen(num_shards);
    for (auto& n : box.got)
      for (auto& p : n.peers_changed)
        seen[shard_of(p->id(), num_shards)].push_back(p->id());
    for (size_t s = 0; s < num_shards; ++s) {
      std::vector<wire::node_id> of_shard;
      for (auto id : sent)
        if (shard_of(id, num_shards) == s)
          of_shard.push_back(id);
      // seen[s] must be a suffix of of_shard.
      CAF_REQUIRE_LESS_OR_EQUAL(seen[s].size(), of_shard.size());
      auto skipped = static_cast<ptrdiff_t>(of_shard.size() - seen[s].size());
      std::vector<wire::node_id> suffix(of_shard.begin() + skipped, of_shard.end());
      CAF_CHECK_EQUAL(seen[s], suffix);
    }
    if (seen[0].size() + seen[1].size() == sent.size())
      ++saw_all;
    anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }
  CAF_CHECK_GREATER(saw_all, 0u);
}

CAF_TEST(an_awaiting_actor_is_told_once_when_its_peer_becomes_visible) {
  // (await_atom, id, actor) to the shard that owns the id: answered at once
  // if the peer is there, else when an upsert brings it, exactly once.
  load({1});
  std::vector<wire::node_id> told;
  auto waiter = sys.spawn(
    [](caf::event_based_actor*, std::vector<wire::node_id>* out) -> caf::behavior {
      return {[out](visible_atom, wire::node_id id) { out->push_back(id); }};
    },
    &told);
  auto await = [&](wire::node_id id) {
    self->send(shards[shard_of(id, num_shards)], await_atom::value, id, waiter);
    run();
  };
  await(1);
  CAF_CHECK_EQUAL(told, std::vector<wire::node_id>{1});
  await(7);
  await(7);
  CAF_CHECK_EQUAL(told.size(), 1u); // not there yet
  delta(upsert({tf::test::make_peer(7)}));
  CAF_CHECK_EQUAL(told, (std::vector<wire::node_id>{1, 7, 7}));
  delta(upsert({tf::test::make_peer(7)})); // a change: nobody waits any more
  CAF_CHECK_EQUAL(told.size(), 3u);
  anon_send_exit(waiter, caf::exit_reason::user_shutdown);
  run();
}

CAF_TEST(an_actor_that_holds_its_notifies_lags_and_is_closed) {
  load({1});
  auto& box = inboxes.emplace_back();
  box.keep_tickets = true;
  auto a = actor_watch(box, bus::notify_peer_changes);
  for (wire::node_id id = 100; id < 100 + bus::max_pending + 5; ++id)
    delta(upsert({tf::test::make_peer(id)}));
  // first notify + 128 peer notifies + the terminal error, nothing more.
  CAF_REQUIRE_EQUAL(box.got.size(), 1u + bus::max_pending + 1u);
  CAF_CHECK(box.got.back().err_message == std::string{lagging_message});
  CAF_CHECK_EQUAL(box.kept.size(), bus::max_pending);
  CAF_CHECK_EQUAL(watchers_on_bus(), 0u);
  anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
}

CAF_TEST(an_actor_watch_ends_with_its_actor) {
  load({1});
  auto& box = inboxes.emplace_back();
  auto a = actor_watch(box, bus::notify_peer_changes);
  CAF_REQUIRE_EQUAL(watchers_on_bus(), 1u);
  anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
  CAF_CHECK_EQUAL(watchers_on_bus(), 0u);
  CAF_CHECK_EQUAL(stats_of(0).num_watchers + stats_of(1).num_watchers, 0u);
}

CAF_TEST(an_actor_watch_with_a_bad_mask_is_refused_at_once) {
  auto& box = inboxes.emplace_back();
  auto a = actor_watch(box, bus::notify_rate_limit | bus::notify_peer_changes);
  CAF_CHECK(box.refused);
  CAF_CHECK(box.got.empty());
  CAF_CHECK_EQUAL(watchers_on_bus(), 0u);
  anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
}

CAF_TEST_FIXTURE_SCOPE_END()
