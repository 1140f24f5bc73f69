// SPDX-License-Identifier: Apache-2.0
// The actor face of the bus: an actor watches a node's bus and receives
// every notify as a message, without a blocking thread or a callback in
// between. Called from inside the watching actor's handler.
#pragma once

#include <caf/event_based_actor.hpp>
#include <caf/typed_actor.hpp>

#include "actors/bus.hpp"
#include "actors/watcher.hpp"
#include "runtime/bus_types.hpp"
#include "runtime/result.hpp"

namespace tf::actors {

/// bus_watch_target is what takes watch requests: a node_actor (or its
/// bus_actor) converts to it.
using bus_watch_target =
  caf::typed_actor<caf::replies_to<watch_atom, watch_request>::with<uint64_t>>;

/// watch_bus starts a bus watch of `node` for the actor `self`. Every
/// notify arrives as (notify_atom, bus::notify, bus::flow_ticket), those of
/// one producer (the bus, or one peer-map shard) in the order it sent them;
/// the first is the initial state the mask asks for, and once it has
/// arrived every later peer change reaches `self` (after the first, peer
/// changes come from the shards themselves, not through the watcher). A
/// notify whose ticket holds a slot counts against bus::max_pending until
/// `self` has handled (and dropped) the message: an actor that falls behind
/// receives one terminal notify (err_message set), as does one whose
/// registration failed. The watch ends with `self` (the watcher monitors
/// it) or when the returned watcher is sent an exit. A bad mask fails at
/// once.
result<watcher_actor> watch_bus(caf::event_based_actor* self, const bus_watch_target& node,
                                bus::watch_mask mask, bus::interest interest = {});

} // namespace tf::actors
