// SPDX-License-Identifier: Apache-2.0
// A bus watcher: one actor per LocalClient.watch_bus call. It assembles the
// first notify (the bus's header plus one part per shard), then hands every
// notify, in order, to its sink. Only the watcher actor touches its state;
// producers reach it through messages and its shared watch_flow.
#pragma once

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
                                       caf::reacts_to<close_atom, std::string>>;

/// watch_sink is where a watcher's notifies go. `holds_slot` tells whether
/// the notify holds a watch_flow slot (the first notify and the terminal
/// error do not). If `frees_slot` is false the watcher frees the slot after
/// `deliver` returns (a callback consumer); if true the sink frees it itself
/// later (a queue that frees on pop), so a slow reader still counts.
struct watch_sink {
  std::function<void(bus::notify&& n, bool holds_slot)> deliver;
  bool frees_slot = false;
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
