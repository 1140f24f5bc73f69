// SPDX-License-Identifier: Apache-2.0
// map_fanout (see map_fanout.hpp). Runs on the control session broker.
#include "actors/map_fanout.hpp"

#include <algorithm>
#include <chrono>

#include "actors/atoms.hpp"
#include "actors/send_from.hpp"
#include "runtime/counters.hpp"

namespace tf::actors {

map_fanout::map_fanout(std::vector<peer_shard_actor> shards,
                       std::vector<std::shared_ptr<credit_window>> credits,
                       size_t part_len)
  : shards_(std::move(shards)),
    part_len_(part_len),
    credits_(std::move(credits)),
    shard_has_(shards_.size()),
    held_(shards_.size()) {}

std::vector<profile_ptr> map_fanout::take_profiles(wire::map_response& r) {
  std::vector<profile_ptr> changed;
  for (auto& p : r.user_profiles) {
    auto ptr = std::make_shared<const wire::user_profile>(std::move(p));
    profiles_[ptr->id] = ptr;
    changed.push_back(std::move(ptr));
  }
  r.user_profiles.clear();
  return changed;
}

void map_fanout::add_profiles_for(size_t shard, std::span<const peer_ref> peers,
                                  std::vector<profile_ptr>& out) {
  auto& has = shard_has_[shard];
  for (auto& p : peers) {
    auto i = profiles_.find(p->user());
    if (i == profiles_.end())
      continue;
    auto& held = has[p->user()];
    if (held.get() == i->second.get())
      continue;
    held = i->second;
    out.push_back(i->second);
  }
}

void map_fanout::send_part(caf::local_actor* self, size_t shard, shard_load part) {
  add_profiles_for(shard, part.peers, part.profiles);
  credits_[shard]->sent();
  tell_to_workers(self, shards_[shard], load_atom::value, std::move(part));
}

result<size_t> map_fanout::apply_full(caf::local_actor* self, wire::map_response& r,
                                      wire::encoded_peers& peers) {
  TF_COUNTER("map_response_full_rebuild").add();
  flush(self);  // earlier deltas of the same read go first
  take_profiles(r);  // each reaches a shard with the first of its peers there
  auto n = shards_.size();
  auto gen = ++gen_;
  auto expected = peers.remaining() / n + 1;
  std::vector<size_t> parts_sent(n, 0);
  auto part_of = [&](size_t shard, std::vector<peer_ref> list, bool last) {
    shard_load l;
    l.seq = r.seq;
    l.gen = gen;
    l.part = parts_sent[shard]++;
    l.last = last;
    l.expected = expected;
    l.peers = std::move(list);
    return l;
  };
  size_t num_peers = 0;
  // One part's peers, decoded into the same nodes part after part, and
  // freed at the end (16k decoded nodes are ~10 MB: not kept per node).
  std::vector<wire::node> part;
  while (peers.remaining() > 0) {
    if (auto ok = peers.next_part(part, part_len_); !ok)
      return ok.error();
    auto plan = plan_full(part, n);
    for (size_t i = 0; i < n; ++i) {
      num_peers += plan.shards[i].size();
      send_part(self, i, part_of(i, std::move(plan.shards[i]), false));
    }
  }
  for (size_t i = 0; i < n; ++i)
    send_part(self, i, part_of(i, {}, true));
  return num_peers;
}

void map_fanout::apply_delta(wire::map_response& r) {
  TF_COUNTER("map_response_handled_incrementally").add();
  auto changed = take_profiles(r);
  int64_t now = 0;  // only "seen now" entries need the clock
  if (!r.peer_seen_change.empty()) {
    using namespace std::chrono;
    now = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
  }
  auto n = shards_.size();
  plan_delta_into(r, n, now, plan_);
  auto gen = ++gen_;
  for (size_t i = 0; i < n; ++i) {
    auto& out = held_[i];
    out.seq = r.seq;
    // New or changed profiles go to every shard; the users of upserted
    // peers come from the never-pruned table (a full map carried only the
    // profiles it needed, and a re-added peer's profile is not resent).
    for (auto& p : changed) {
      out.profiles.push_back(p);
      shard_has_[i][p->id] = p;
    }
    auto& batch = plan_.shards[i];
    if (batch.empty())
      continue;
    add_profiles_for(i, batch.upserts, out.profiles);
    batch.gen = gen;
    out.batches.push_back(std::move(batch));
  }
}

void map_fanout::flush(caf::local_actor* self) {
  auto has_upserts = [](const shard_delta& d) {
    return std::any_of(d.batches.begin(), d.batches.end(),
                       [](const auto& b) { return !b.upserts.empty(); });
  };
  for (size_t i = 0; i < held_.size(); ++i)
    if (has_upserts(held_[i]))
      send_held(self, i);
  for (size_t i = 0; i < held_.size(); ++i)
    send_held(self, i);
}

void map_fanout::send_held(caf::local_actor* self, size_t shard) {
  auto& d = held_[shard];
  if (!d.batches.empty()) {
    credits_[shard]->sent();
    size_t changes = 0;
    for (auto& b : d.batches)
      changes += b.num_ops();
    if (changes <= run_next_changes)
      tell_as(self, shards_[shard], apply_atom::value, std::move(d));
    else
      tell_to_workers(self, shards_[shard], apply_atom::value, std::move(d));
  } else if (!d.profiles.empty()) {
    credits_[shard]->sent();
    tell_as(self, shards_[shard], profiles_atom::value, std::move(d.profiles));
  }
  d = shard_delta{};
}

bool map_fanout::must_pause() {
  for (auto& c : credits_)
    if (c->exhausted() && c->try_wait())
      return true;
  return false;
}

} // namespace tf::actors
