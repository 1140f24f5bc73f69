// SPDX-License-Identifier: Apache-2.0
// A peer-map shard: owns the peers of one node whose ids hash to it (a
// peer_table with all indexes), the user profiles they reference, and the
// interest table of that node's bus watchers. A delta for one peer is one
// message here; a change is sent only to watchers whose interest matches,
// and to the data path (peer_link) only for peers it is talking to.
// Only the shard actor touches its state. Never blocks.
#pragma once

#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/messages.hpp"
#include "actors/watcher.hpp"
#include "runtime/credit_window.hpp"

namespace tf::actors {

using peer_shard_actor = caf::typed_actor<
  caf::reacts_to<load_atom, shard_load>,
  caf::reacts_to<apply_atom, shard_delta>,
  caf::reacts_to<profiles_atom, std::vector<profile_ptr>>,
  caf::replies_to<lookup_atom, peer_query>::with<peer_hit>,
  caf::replies_to<snapshot_atom>::with<std::vector<peer_ref>>,
  caf::reacts_to<watch_atom, watcher_registration>,
  caf::reacts_to<unwatch_atom, uint64_t>,
  caf::reacts_to<direct_atom, uint64_t, caf::actor>,
  caf::reacts_to<drained_atom, uint64_t>,
  caf::reacts_to<await_atom, wire::node_id, caf::actor>,
  caf::reacts_to<link_atom, std::shared_ptr<peer_link>>,
  caf::reacts_to<resolve_atom, peer_query, uint64_t>,
  caf::replies_to<stats_atom>::with<shard_stats>>;

/// spawn_peer_shard starts shard number `index` of a node. `credit` is the
/// window of the control session feeding it: the shard counts every load,
/// apply and profiles message it finished and sends (resume_atom) to that
/// message's sender when a waiting session may read again.
peer_shard_actor spawn_peer_shard(caf::actor_system& sys, size_t index,
                                  std::shared_ptr<credit_window> credit);

} // namespace tf::actors
