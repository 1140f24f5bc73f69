// SPDX-License-Identifier: Apache-2.0
// The event bus of one node: registers watchers (id, mask, interest, flow),
// builds the header of each watcher's first notify from the node's current
// view, hands peer interest to the node's shards, and fans node-level
// notifies (state, self, login, errors) out to its watchers. Peer changes
// do not pass through here: shards send them to interested watchers
// directly. Only the bus actor touches its state.
#pragma once

#include <caf/typed_actor.hpp>

#include <vector>

#include "actors/atoms.hpp"
#include "actors/messages.hpp"
#include "actors/peer_shard.hpp"
#include "actors/watcher.hpp"

namespace tf::actors {

/// watch_request asks the bus to register an already spawned watcher.
struct watch_request {
  watcher_actor handle;
  bus::watch_mask mask = 0;
  bus::interest interest;
  std::shared_ptr<bus::watch_flow> flow;
};

using bus_actor = caf::typed_actor<
  caf::replies_to<watch_atom, watch_request>::with<uint64_t>,
  caf::reacts_to<unwatch_atom, uint64_t>,
  caf::reacts_to<publish_atom, bus::notify>,
  caf::reacts_to<view_atom, node_view>,
  caf::replies_to<stats_atom>::with<size_t>>;

/// spawn_bus starts the bus of a node whose peers live in `shards`.
bus_actor spawn_bus(caf::actor_system& sys, std::vector<peer_shard_actor> shards);

} // namespace tf::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::actors::watch_request)
