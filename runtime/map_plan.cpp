// SPDX-License-Identifier: Apache-2.0
// Splitting map responses by shard. Pure functions.
#include "runtime/map_plan.hpp"

#include "runtime/node_normalize.hpp"
#include "runtime/peer_intern.hpp"
#include "runtime/peer_table.hpp"

namespace tf {

size_t shard_of(wire::node_id id, size_t num_shards) noexcept {
  // splitmix64 finalizer: stable across runs, so tests can predict shards.
  uint64_t z = id + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<size_t>(z % num_shards);
}

void batch_prefetch::add(const shard_batch& b) {
  ids_.insert(ids_.end(), b.removes.begin(), b.removes.end());
  for (auto& rec : b.upserts)
    recs_.push_back(rec.get());
}

void batch_prefetch::run(peer_table& table) {
  table.prefetch(ids_, recs_);
  ids_.clear();
  recs_.clear();
}

delta_plan plan_delta(wire::map_response& r, size_t num_shards, int64_t now_unix) {
  delta_plan plan;
  plan_delta_into(r, num_shards, now_unix, plan);
  return plan;
}

void plan_delta_into(wire::map_response& r, size_t num_shards, int64_t now_unix,
                     delta_plan& plan) {
  plan.shards.resize(num_shards);
  for (auto& s : plan.shards) {
    s.gen = 0;
    s.removes.clear();
    s.upserts.clear();
    s.patches.clear();
  }
  plan.rejected = 0;
  // The table's misses run while the nodes are normalized.
  for (auto& n : r.peers_changed)
    prefetch_interned_peer(n.id);
  for (auto id : r.peers_removed)
    plan.shards[shard_of(id, num_shards)].removes.push_back(id);
  for (auto& n : r.peers_changed) {
    if (!normalize_node(n).ok()) {
      ++plan.rejected;
      continue;
    }
    plan.shards[shard_of(n.id, num_shards)].upserts.push_back(intern_peer(n));
  }
  for (auto& c : r.peers_changed_patch)
    plan.shards[shard_of(c.id, num_shards)].patches.push_back(std::move(c));
  for (auto& [id, online] : r.online_change) {
    wire::peer_change c;
    c.id = id;
    c.online = online;
    plan.shards[shard_of(id, num_shards)].patches.push_back(std::move(c));
  }
  for (auto& [id, seen] : r.peer_seen_change) {
    wire::peer_change c;
    c.id = id;
    c.last_seen = seen ? now_unix : 0;
    plan.shards[shard_of(id, num_shards)].patches.push_back(std::move(c));
  }
}

full_plan plan_full(std::span<wire::node> peers, size_t num_shards) {
  full_plan plan;
  plan.shards.resize(num_shards);
  for (auto& s : plan.shards)
    s.reserve(peers.size() / num_shards + 16);
  for (auto& n : peers) {
    if (!normalize_node(n).ok()) {
      ++plan.rejected;
      continue;
    }
    plan.shards[shard_of(n.id, num_shards)].push_back(intern_peer(n));
  }
  return plan;
}

} // namespace tf
