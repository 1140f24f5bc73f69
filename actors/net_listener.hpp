// SPDX-License-Identifier: Apache-2.0
// The actor face of a tailnet TCP listener (issue 4): turns each accepted
// connection into a conn actor owned by the listener's owner. Only the
// listener actor touches its state; the core's callback only enqueues a
// wake-up. Never blocks (short, non-blocking core calls under the core lock).
#pragma once

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include <cstddef>
#include <memory>

#include "actors/atoms.hpp"
#include "actors/messages.hpp"
#include "actors/net_conn.hpp"
#include "netstack/tcp_listener_core.hpp"

namespace tf::actors {

/// net_listener_actor is the handle of a listener actor. The owner sends
/// (close_atom) to stop listening (queued connections are reset) and may
/// ask (stats_atom) for its net_listener_stats. (net_ready_atom) is
/// internal, sent by the listener's callback.
using net_listener_actor = caf::typed_actor<
  caf::reacts_to<close_atom>,
  caf::replies_to<stats_atom>::with<net_listener_stats>,
  caf::reacts_to<net_ready_atom>>;

/// net_listener_owner is what a listener actor sends its owner (besides
/// what its conn actors send, net_conn_owner).
using net_listener_owner = caf::typed_actor<
  caf::reacts_to<accept_atom, net_conn_actor>,
  caf::reacts_to<closed_atom, net_listener_actor, caf::error>>;

/// default_max_unaccepted is spawn_listener_actor's default bound.
inline constexpr size_t default_max_unaccepted = 16;

/// spawn_listener_actor starts the actor that owns listener `core` and
/// reports to `owner`:
///  - (accept_atom, net_conn_actor) as a request, one per connection; the
///    conn actor is already running and owned by `owner` (see
///    spawn_conn_actor). Any reply (a handler returning nothing is enough)
///    or error accepts it. At most `max_unaccepted` requests are
///    unanswered at a time; further connections wait in the netstack accept
///    queue (at most tcp_listener_core::max_pending = 1,024; while it is
///    full, new SYNs are dropped and the dialers retry): the back-pressure
///    of a listen backlog.
///  - (closed_atom, net_listener_actor, caf::error): the listener ended,
///    exactly once: empty (ok) after close_atom, errc::closed "node
///    removed" when its node left. The actor then ends; conn actors it
///    started live on.
/// If the owner ends first, the listener closes without a message.
net_listener_actor spawn_listener_actor(caf::actor_system& sys,
                                        std::shared_ptr<netstack::tcp_listener_core> core,
                                        caf::actor owner,
                                        size_t max_unaccepted = default_max_unaccepted);

} // namespace tf::actors
