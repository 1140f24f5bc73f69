// SPDX-License-Identifier: Apache-2.0
// Turns one decoded map_response into per-shard work: a full netmap becomes
// K peer lists (the full path, O(peers)); a delta becomes one small batch
// per touched shard (O(changes), never O(peers)). Peers are normalized and
// interned here. Pure functions; the control session actor calls them.
#pragma once

#include <absl/container/inlined_vector.h>

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/peer_record.hpp"
#include "runtime/wire.hpp"

namespace tf {

class peer_table;

/// shard_of maps a node id to one of `num_shards` shards (stable hash).
size_t shard_of(wire::node_id id, size_t num_shards) noexcept;

/// shard_batch is the work one shard does for one delta: removals first,
/// then upserts, then patches (online/seen changes become patches). A
/// typical delta touches one or two peers: those fit without a heap block
/// (the session allocates a batch, its shard frees it: a cross-thread free
/// per block, measured as a tenth of a streamed delta's cost).
struct shard_batch {
  uint64_t gen = 0;  // stamped by the node: mutation order (see peer_table)
  absl::InlinedVector<wire::node_id, 2> removes;
  absl::InlinedVector<peer_ref, 2> upserts;
  std::vector<wire::peer_change> patches;

  bool empty() const noexcept {
    return removes.empty() && upserts.empty() && patches.empty();
  }
  size_t num_ops() const noexcept {
    return removes.size() + upserts.size() + patches.size();
  }
};

/// batch_prefetch gathers what a run of shard batches will touch, then
/// prefetches it in the shard's table (peer_table::prefetch) before the
/// batches are applied. Its buffers are reused from run to run.
class batch_prefetch {
public:
  void add(const shard_batch& b);
  /// run prefetches everything added into `table` and forgets it.
  void run(peer_table& table);

private:
  std::vector<wire::node_id> ids_;
  std::vector<const peer_record*> recs_;
};

/// delta_plan is a delta split by shard (index = shard number).
struct delta_plan {
  std::vector<shard_batch> shards;
  size_t rejected = 0;  // peers dropped by normalize_node (counted there)
};

/// plan_delta splits the delta fields of `r` over `num_shards` shards.
/// `now_unix` stamps peer_seen_change entries that say "seen now".
delta_plan plan_delta(wire::map_response& r, size_t num_shards, int64_t now_unix);

/// plan_delta_into is plan_delta() into a plan the caller reuses for every
/// delta (its shard batches are emptied first).
void plan_delta_into(wire::map_response& r, size_t num_shards, int64_t now_unix,
                     delta_plan& plan);

/// full_plan is a complete peer list split by shard.
struct full_plan {
  std::vector<std::vector<peer_ref>> shards;
  size_t rejected = 0;
};

/// plan_full splits part of a full map's peer list over the shards.
full_plan plan_full(std::span<wire::node> peers, size_t num_shards);

} // namespace tf
