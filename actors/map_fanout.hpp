// SPDX-License-Identifier: Apache-2.0
// map_fanout: the node-side half of "a delta for one peer is one message to
// the one shard that owns that peer". It turns decoded map responses into
// messages for a node's peer-map shards: a full map becomes load parts for
// every shard, a read's deltas become at most one message per touched shard
// (flush), and user profiles reach each shard once per version. It counts
// every message against the shard's credit window, so its owner knows when
// to stop reading (must_pause).
//
// Owned by the control session broker; only that actor calls it (`self` is
// the sender the shards answer with resume_atom).
#pragma once

#include <caf/fwd.hpp>

#include <absl/container/flat_hash_map.h>

#include <memory>
#include <vector>

#include "actors/messages.hpp"
#include "actors/peer_shard.hpp"
#include "runtime/credit_window.hpp"
#include "runtime/map_plan.hpp"
#include "runtime/result.hpp"
#include "runtime/wire.hpp"
#include "runtime/wire_codec.hpp"

namespace tf::actors {

class map_fanout {
public:
  /// run_next_changes is the most peer changes (upserts, removes, patches)
  /// a flush sends a shard for the sending thread to apply next itself --
  /// the I/O thread, which runs the actors it readies
  /// (nodes/spinning_multiplexer.hpp): tens of us at most. A read with more
  /// (a burst of deltas) goes to a worker, which applies it while the I/O
  /// thread reads on: giant_tailnet's pipelined deltas, 200-odd to a read,
  /// took 1.4-2.1 us each at 250k peers when the I/O thread applied them
  /// and 1.0-1.1 us when a worker did. Full maps' parts always go to a worker.
  static constexpr size_t run_next_changes = 64;

  /// default_part_len is how many peers of a full map are decoded, planned
  /// and sent at a time (each shard gets ~part_len / K of them per part).
  static constexpr size_t default_part_len = 16384;

  /// One credit window per shard, in the same order.
  map_fanout(std::vector<peer_shard_actor> shards,
             std::vector<std::shared_ptr<credit_window>> credits,
             size_t part_len = default_part_len);

  /// apply_full sends every shard the peers of full map `r`, decoding
  /// `peers` a part at a time into the same nodes while the shards load
  /// the parts before; the last part of each shard says so. Deltas held
  /// for flush() go first. Returns how many peers the shards got. A peer
  /// list that turns out malformed midway fails with its decode error: the
  /// parts sent stay until the next full map's generation replaces them.
  result<size_t> apply_full(caf::local_actor* self, wire::map_response& r,
                            wire::encoded_peers& peers);

  /// apply_delta plans the delta fields of `r` (moved out) by shard and
  /// holds them for flush(); new or changed profiles are held for every
  /// shard. O(changes in r), never O(peers).
  void apply_delta(wire::map_response& r);

  /// flush sends each shard what apply_delta held for it, in one message
  /// (none to a shard the deltas did not touch). Shards that get new or
  /// changed peers go first, so that a peer someone awaits is visible before
  /// other shards' removals run (shards are independent: no order between
  /// them was ever promised). In bench/giant_tailnet, where each delta adds
  /// a peer to one shard and removes one from another, that made the op
  /// 0.1-0.9 us faster in ten of ten runs (ops of both orders alternating
  /// within each run).
  void flush(caf::local_actor* self);

  /// must_pause reports whether some shard has a full window of unfinished
  /// messages; it then sends its owner (resume_atom) once it caught up.
  bool must_pause();

  /// num_profiles counts the user profiles known (none is ever dropped).
  size_t num_profiles() const noexcept { return profiles_.size(); }

private:
  /// take_profiles moves `r`'s user profiles into the table and returns them.
  std::vector<profile_ptr> take_profiles(wire::map_response& r);
  /// add_profiles_for appends to `out` the profiles of `peers`' users that
  /// `shard` does not hold yet (or holds in an older version).
  void add_profiles_for(size_t shard, std::span<const peer_ref> peers,
                        std::vector<profile_ptr>& out);
  void send_part(caf::local_actor* self, size_t shard, shard_load part);
  /// send_held sends what is held for `shard`, if anything, and clears it:
  /// up to run_next_changes for the sender to run next, more to a worker.
  void send_held(caf::local_actor* self, size_t shard);

  std::vector<peer_shard_actor> shards_;
  size_t part_len_;
  std::vector<std::shared_ptr<credit_window>> credits_;
  uint64_t gen_ = 0;  // stamps every load and batch: the shards' mutation order
  absl::flat_hash_map<wire::user_id, profile_ptr> profiles_;  // never pruned
  // Per shard: the profile each user had when last sent to it. Shards never
  // prune theirs, so a profile is sent to a shard once, not with every
  // delta (which cost two atomic updates of one cache line per delta,
  // passed between the session's and the shard's cores).
  std::vector<absl::flat_hash_map<wire::user_id, profile_ptr>> shard_has_;
  delta_plan plan_;                   // apply_delta's, reused
  std::vector<shard_delta> held_;     // per shard: deltas awaiting flush()
};

} // namespace tf::actors
