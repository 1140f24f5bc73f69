// SPDX-License-Identifier: Apache-2.0
// map_fanout on CAF's test coordinator, with recording shards in place of
// real ones: which shard gets which message, and how many. A delta for one
// peer is one message to the shard that owns it; a read's deltas are one
// message per touched shard; a full map reaches every shard in ordered parts
// of one generation; a profile reaches a shard once per version; a full
// window pauses the reader; shards that get new peers are told first; a
// small read's message readies its shard through the sender's context (on
// the I/O thread: run there next), a burst's and a full map's do not.
#define CAF_SUITE map_fanout
#include <caf/test/unit_test_impl.hpp>

#include <caf/test/dsl.hpp>

#include <map>
#include <set>

#include "actors/map_fanout.hpp"
#include "tests/runtime/wire_test_util.hpp"
#include "tests/support/synthetic.hpp"

using namespace tf;
using namespace tf::actors;

namespace {

/// got is one message a recording shard received.
struct got {
  enum kind { load, apply, profiles } what;
  size_t shard;
  shard_load l;
  shard_delta d;
  std::vector<profile_ptr> p;
};

caf::behavior recording_shard(caf::event_based_actor*, size_t index,
                              std::shared_ptr<credit_window> credit, std::vector<got>* log) {
  return {
    [=](load_atom, shard_load& l) {
      log->push_back({got::load, index, std::move(l), {}, {}});
      credit->consumed();
    },
    [=](apply_atom, shard_delta& d) {
      log->push_back({got::apply, index, {}, std::move(d), {}});
      credit->consumed();
    },
    [=](profiles_atom, std::vector<profile_ptr>& p) {
      log->push_back({got::profiles, index, {}, {}, std::move(p)});
      credit->consumed();
    },
  };
}

wire::user_profile user(wire::user_id id, const std::string& login) {
  return {id, login, login, ""};
}

struct fixture : test_coordinator_fixture<> {
  static constexpr size_t num_shards = 4;
  std::vector<got> log;
  std::vector<peer_shard_actor> shards;
  std::vector<std::shared_ptr<credit_window>> credits;

  fixture() {
    for (size_t i = 0; i < num_shards; ++i) {
      credits.push_back(std::make_shared<credit_window>(8));
      shards.push_back(
        caf::actor_cast<peer_shard_actor>(sys.spawn(recording_shard, i, credits.back(), &log)));
    }
  }

  ~fixture() {
    for (auto& s : shards)
      anon_send_exit(s, caf::exit_reason::user_shutdown);
    run();
  }

  map_fanout make(size_t part_len = map_fanout::default_part_len) {
    return map_fanout{shards, credits, part_len};
  }

  /// deliver runs the shards and returns what they got since the last call.
  std::vector<got> deliver() {
    run();
    return std::exchange(log, {});
  }

  /// peer_in returns a peer id owned by `shard` (the n-th such id).
  static wire::node_id peer_in(size_t shard, size_t n = 0) {
    for (wire::node_id id = 1;; ++id)
      if (shard_of(id, num_shards) == shard && n-- == 0)
        return id;
  }
};

wire::map_response upsert(std::initializer_list<wire::node_id> ids) {
  wire::map_response r;
  for (auto id : ids)
    r.peers_changed.push_back(test::make_peer(id));
  return r;
}

/// deferred_peers decodes a full map's `frame` as the control connection
/// does: the peer list stays encoded (returned), `r` gets the rest.
wire::encoded_peers deferred_peers(const std::vector<uint8_t>& frame, wire::map_response& r) {
  wire::message m;
  wire::encoded_peers peers;
  CAF_REQUIRE(wire::decode_deferring(std::span<const uint8_t>{frame}, m, peers).ok());
  r = std::get<wire::map_response>(std::move(m));
  return peers;
}

std::vector<uint8_t> full_map_frame(std::vector<wire::node_id> ids, wire::user_profile owner) {
  wire::map_response r;
  r.seq = 7;
  r.peers.emplace();
  for (auto id : ids)
    r.peers->push_back(test::make_peer(id));
  r.user_profiles.push_back(owner);
  return wire::encode(wire::message{r});
}

/// recording_unit stands in for the I/O thread as a sender's execution
/// context: it counts the actors readied through it (those the I/O thread
/// would run next) and hands them to the test coordinator.
struct recording_unit : caf::execution_unit {
  explicit recording_unit(caf::actor_system& sys) : caf::execution_unit(&sys) {}

  void exec_later(caf::resumable* job) override {
    ++readied;
    system().scheduler().enqueue(job);
  }

  size_t readied = 0;
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(map_fanout_tests, fixture)

CAF_TEST(a_delta_for_one_peer_is_one_message_to_its_shard) {
  auto fan = make();
  // A profile that changes goes to every shard, once each.
  wire::map_response r;
  r.user_profiles.push_back(user(test::synthetic_user, "fleet@example.com"));
  fan.apply_delta(r);
  fan.flush(self.ptr());
  auto first = deliver();
  CAF_REQUIRE_EQUAL(first.size(), num_shards);
  std::set<size_t> told;
  for (auto& g : first) {
    CAF_CHECK_EQUAL(g.what, got::profiles);
    CAF_REQUIRE_EQUAL(g.p.size(), 1u);
    CAF_CHECK_EQUAL(g.p[0]->login_name, "fleet@example.com");
    told.insert(g.shard);
  }
  CAF_CHECK_EQUAL(told.size(), num_shards);
  // One upsert: one message, to the owner, without the profile it holds.
  auto id = peer_in(2);
  auto one = upsert({id});
  fan.apply_delta(one);
  fan.flush(self.ptr());
  auto second = deliver();
  CAF_REQUIRE_EQUAL(second.size(), 1u);
  CAF_CHECK_EQUAL(second[0].what, got::apply);
  CAF_CHECK_EQUAL(second[0].shard, 2u);
  CAF_REQUIRE_EQUAL(second[0].d.batches.size(), 1u);
  CAF_REQUIRE_EQUAL(second[0].d.batches[0].upserts.size(), 1u);
  CAF_CHECK_EQUAL(second[0].d.batches[0].upserts[0]->id(), id);
  CAF_CHECK(second[0].d.profiles.empty());
  // One removal elsewhere: one message to that shard.
  wire::map_response gone;
  gone.peers_removed.push_back(peer_in(3));
  fan.apply_delta(gone);
  fan.flush(self.ptr());
  auto third = deliver();
  CAF_REQUIRE_EQUAL(third.size(), 1u);
  CAF_CHECK_EQUAL(third[0].shard, 3u);
  CAF_REQUIRE_EQUAL(third[0].d.batches.size(), 1u);
  CAF_CHECK_EQUAL(third[0].d.batches[0].removes.size(), 1u);
  // A flush with nothing held sends nothing.
  fan.flush(self.ptr());
  CAF_CHECK(deliver().empty());
}

CAF_TEST(a_reads_deltas_are_one_message_per_touched_shard) {
  auto fan = make();
  auto a = upsert({peer_in(1, 0)});
  auto b = upsert({peer_in(1, 1), peer_in(0)});
  wire::map_response c;
  c.online_change.push_back({peer_in(1, 2), true});
  fan.apply_delta(a);
  fan.apply_delta(b);
  fan.apply_delta(c);
  CAF_CHECK(deliver().empty()); // held until the read's flush
  fan.flush(self.ptr());
  auto out = deliver();
  CAF_REQUIRE_EQUAL(out.size(), 2u);
  std::map<size_t, const got*> by_shard;
  for (auto& g : out)
    by_shard[g.shard] = &g;
  CAF_REQUIRE(by_shard.count(0) == 1 && by_shard.count(1) == 1);
  auto& one = by_shard[1]->d.batches;
  CAF_REQUIRE_EQUAL(one.size(), 3u); // one batch per delta, in order
  CAF_CHECK(one[0].gen < one[1].gen && one[1].gen < one[2].gen);
  CAF_CHECK_EQUAL(one[2].patches.size(), 1u);
  CAF_REQUIRE_EQUAL(by_shard[0]->d.batches.size(), 1u);
  CAF_CHECK_EQUAL(by_shard[0]->d.batches[0].gen, one[1].gen); // same delta, same gen
}

CAF_TEST(shards_that_get_new_peers_are_told_first) {
  // The test coordinator runs idle shards in the order they were sent to.
  auto fan = make();
  CAF_CHECK(deliver().empty()); // the shards have started and are idle
  wire::map_response r = upsert({peer_in(3)});
  r.peers_removed.push_back(peer_in(0));
  r.online_change.push_back({peer_in(1), true});
  fan.apply_delta(r);
  auto also = upsert({peer_in(2)});
  fan.apply_delta(also);
  fan.flush(self.ptr());
  auto out = deliver();
  std::vector<size_t> order;
  for (auto& g : out)
    order.push_back(g.shard);
  CAF_CHECK_EQUAL(order, (std::vector<size_t>{2, 3, 0, 1}));
}

CAF_TEST(a_full_map_reaches_every_shard_in_ordered_parts_of_one_generation) {
  auto fan = make(4);
  // A delta held from earlier in the same read goes before the map.
  auto early = upsert({peer_in(0)});
  fan.apply_delta(early);
  std::vector<wire::node_id> ids;
  for (wire::node_id id = 100; id < 110; ++id)
    ids.push_back(id);
  auto frame = full_map_frame(ids, user(test::synthetic_user, "fleet@example.com"));
  wire::map_response r;
  auto peers = deferred_peers(frame, r);
  auto sent = fan.apply_full(self.ptr(), r, peers);
  CAF_REQUIRE(sent.ok());
  CAF_CHECK_EQUAL(*sent, ids.size());
  auto out = deliver();
  // 10 peers in parts of 4: three parts to every shard, then an empty last.
  CAF_REQUIRE_EQUAL(out.size(), 1 + 4 * num_shards);
  CAF_CHECK_EQUAL(out[0].what, got::apply);
  CAF_CHECK_EQUAL(out[0].shard, 0u);
  auto gen = out[1].l.gen;
  CAF_CHECK(gen > out[0].d.batches[0].gen);
  std::vector<size_t> next_part(num_shards, 0);
  std::vector<size_t> profiles_sent(num_shards, 0), peers_got(num_shards, 0);
  std::set<wire::node_id> loaded;
  for (size_t i = 1; i < out.size(); ++i) {
    auto& g = out[i];
    CAF_REQUIRE_EQUAL(g.what, got::load);
    CAF_CHECK_EQUAL(g.l.gen, gen);
    CAF_CHECK_EQUAL(g.l.seq, 7u);
    CAF_CHECK_EQUAL(g.l.part, next_part[g.shard]++);
    CAF_CHECK_EQUAL(g.l.last, g.l.part == 3);
    for (auto& p : g.l.peers) {
      CAF_CHECK_EQUAL(shard_of(p->id(), num_shards), g.shard);
      loaded.insert(p->id());
      ++peers_got[g.shard];
    }
    profiles_sent[g.shard] += g.l.profiles.size();
  }
  CAF_CHECK_EQUAL(loaded, std::set<wire::node_id>(ids.begin(), ids.end()));
  // The map's profile reaches each shard with a peer of that user once
  // (the early delta's peer came before the profile was known).
  for (size_t s = 0; s < num_shards; ++s)
    CAF_CHECK_EQUAL(profiles_sent[s], peers_got[s] > 0 ? 1u : 0u);
  CAF_CHECK_EQUAL(fan.num_profiles(), 1u);
}

CAF_TEST(a_malformed_peer_midway_fails_after_the_parts_before_it) {
  auto fan = make(2);
  wire::map_response whole;
  whole.seq = 3;
  whole.peers.emplace();
  for (wire::node_id id = 1; id <= 6; ++id)
    whole.peers->push_back(test::make_peer(id));
  using namespace wire::test_util;
  // Peer 4's hostname becomes a number: the list's shape passes, the peer
  // fails when the third part is decoded.
  auto frame = edited(wire::message{whole}, [](msgpack::object& root, msgpack::zone&) {
    at(root, {body, mr_peers, 4, 11}) = msgpack::object(uint64_t{5});
  });
  wire::map_response r;
  auto peers = deferred_peers(frame, r);
  auto sent = fan.apply_full(self.ptr(), r, peers);
  CAF_REQUIRE(!sent.ok());
  CAF_CHECK_EQUAL(sent.error().code, errc::malformed_message);
  auto out = deliver();
  CAF_REQUIRE_EQUAL(out.size(), 2 * num_shards); // parts 0 and 1 of every shard
  size_t loaded = 0;
  for (auto& g : out) {
    CAF_CHECK(!g.l.last);
    loaded += g.l.peers.size();
  }
  CAF_CHECK_EQUAL(loaded, 4u);
}

CAF_TEST(a_full_window_pauses_until_the_shard_catches_up) {
  auto fan = make();
  for (int i = 0; i < credits[1]->limit(); ++i) {
    auto d = upsert({peer_in(1, static_cast<size_t>(i))});
    fan.apply_delta(d);
    fan.flush(self.ptr());
  }
  CAF_CHECK_EQUAL(credits[1]->in_flight(), credits[1]->limit());
  CAF_CHECK(fan.must_pause());
  CAF_CHECK_EQUAL(deliver().size(), static_cast<size_t>(credits[1]->limit()));
  CAF_CHECK(!fan.must_pause());
}

CAF_TEST(a_small_read_runs_next_on_the_sender_and_a_burst_or_a_full_map_does_not) {
  auto fan = make();
  CAF_CHECK(deliver().empty()); // the shards have started and are idle
  recording_unit unit{sys};
  auto* own_context = self->context();
  self->context(&unit);
  // A delta: its shard is readied through the sender's context.
  auto one = upsert({peer_in(2)});
  fan.apply_delta(one);
  fan.flush(self.ptr());
  CAF_CHECK_EQUAL(unit.readied, 1u);
  CAF_CHECK_EQUAL(deliver().size(), 1u);
  // run_next_changes changes for one shard in one read still are.
  for (size_t i = 0; i < map_fanout::run_next_changes; ++i) {
    auto r = upsert({peer_in(1, i)});
    fan.apply_delta(r);
  }
  fan.flush(self.ptr());
  CAF_CHECK_EQUAL(unit.readied, 2u);
  CAF_CHECK_EQUAL(deliver().size(), 1u);
  // One more is a burst: the scheduler gets the shard, the context does not.
  for (size_t i = 0; i <= map_fanout::run_next_changes; ++i) {
    auto r = upsert({peer_in(1, i)});
    fan.apply_delta(r);
  }
  fan.flush(self.ptr());
  CAF_CHECK_EQUAL(unit.readied, 2u);
  auto burst = deliver();
  CAF_REQUIRE_EQUAL(burst.size(), 1u);
  CAF_CHECK_EQUAL(burst[0].d.batches.size(), map_fanout::run_next_changes + 1);
  // A full map's parts, however small, go to the scheduler too.
  auto frame = full_map_frame({peer_in(0), peer_in(3)}, user(test::synthetic_user, "a@b.c"));
  wire::map_response r;
  auto peers = deferred_peers(frame, r);
  CAF_REQUIRE(fan.apply_full(self.ptr(), r, peers).ok());
  CAF_CHECK_EQUAL(unit.readied, 2u);
  CAF_CHECK_EQUAL(deliver().size(), 2 * num_shards); // a part and a last part each
  self->context(own_context);
}

CAF_TEST_FIXTURE_SCOPE_END()
