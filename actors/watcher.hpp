// SPDX-License-Identifier: Apache-2.0
// A bus watcher: one actor per LocalClient.watch_bus call. It assembles the
// first notify (the bus's header plus one part per shard), then hands every
// notify, in order, to its sink. When the sink is an actor, the watcher then
// asks the shards to send peer changes to that actor themselves (one hop
// fewer per notify; peer_shard.cpp keeps each shard's notifies in order
// across the switch), and passes on the bus's node-level notifies. Only the
// watcher actor touches its state; producers reach it through messages and
// its shared watch_flow.
#pragma once

#include <caf/actor.hpp>
#include <caf/typed_actor.hpp>

#include <functional>
#include <memory>

#include "actors/atoms.hpp"
#include "actors/messages.hpp"
#include "runtime/watch_flow.hpp"

namespace tf::actors {

using watcher_actor = caf::typed_actor<caf::reacts_to<initial_atom, initial_header>,
                                       caf::reacts_to<part_atom, initial_part>,
                                       caf::reacts_to<notify_atom, bus::notify>,
                                       caf::reacts_to<lagged_atom>,
                                       caf::reacts_to<drained_atom>,
                                       caf::reacts_to<close_atom, std::string>>;

/// watch_sink is where a watcher's notifies go. `holds_slot` tells whether
/// the notify holds a watch_flow slot (the first notify and the terminal
/// error do not). If `frees_slot` is false the watcher frees the slot after
/// `deliver` returns (a callback consumer); if true the sink frees it itself
/// later (a queue that frees on pop), so a slow reader still counts.
/// With `forward_to` set, `deliver` is unused: every notify goes to that
/// actor as (notify_atom, bus::notify, bus::flow_ticket); the ticket frees
/// the slot when the receiver drops the message.
struct watch_sink {
  using deliver_fn = std::function<void(bus::notify&& n, bool holds_slot)>;

  /// callback: `fn` consumes each notify before it returns.
  static watch_sink callback(deliver_fn fn) { return {std::move(fn), false, {}}; }
  /// queue: `fn` stores each notify; whoever pops it frees its slot.
  static watch_sink queue(deliver_fn fn) { return {std::move(fn), true, {}}; }
  /// actor: each notify is a message to `to`.
  static watch_sink actor(caf::actor to) { return {{}, false, std::move(to)}; }

  deliver_fn deliver;
  bool frees_slot = false;
  caf::actor forward_to;
};

/// spawn_watcher starts a watcher. It ends after delivering a terminal error
/// (a lagging flow, or (close_atom, reason) when its node closes), or when
/// killed; either way it closes `flow`.
watcher_actor spawn_watcher(caf::actor_system& sys, watch_sink sink,
                            std::shared_ptr<bus::watch_flow> flow);

/// watcher_registration is what the bus tells each shard about a watcher.
struct watcher_registration {
  uint64_t id = 0;
  watcher_actor handle;
  bus::watch_mask mask = 0;
  bus::interest interest;
  std::shared_ptr<bus::watch_flow> flow;
  bool want_snapshot = false;  // send an initial_part with every peer
  bool want_changes = false;   // route peer changes to it from now on
};

/// lagging_message is the terminal error text, as in Tailscale.
inline constexpr const char* lagging_message = "bus consumer fell behind; closing watch";

} // namespace tf::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::actors::watcher_registration)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::bus::flow_ticket)
