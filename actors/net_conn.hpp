// SPDX-License-Identifier: Apache-2.0
// The actor face of one tailnet TCP connection (issue 4): a conn actor owns a
// netstack::tcp_core and talks to one owner actor with messages. Only the
// conn actor touches its state; lwIP callbacks only enqueue a wake-up. Never
// blocks (it takes the core lock for short, non-blocking core calls only).
#pragma once

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "actors/atoms.hpp"
#include "netstack/tcp_core.hpp"

namespace tf::actors {

/// net_conn_actor is the handle of a conn actor. The owner sends:
///  - (ack_atom, n): n bytes of earlier data messages were consumed. Only
///    acked bytes reopen the TCP receive window, so a slow owner makes the
///    peer stop sending: the bytes in flight to it and buffered in lwIP
///    together stay within one TCP window (64 KiB). Acking more than was
///    delivered is counted (net_conn_ack_excess) and clamped.
///  - (write_atom, bytes) -> uint64_t: queues the bytes behind earlier
///    writes; the reply (the byte count) comes once all of them sit in
///    lwIP's send buffer, so a writer paces itself by keeping one or a few
///    writes in flight. Fails with errc::closed after shutdown or close
///    (net_conn_write_refused) and with the connection's error if it ends.
///  - (shutdown_atom): half-close; FIN goes out after the queued writes,
///    receiving goes on. Idempotent.
///  - (close_atom): closes both directions now. Bytes already in lwIP are
///    still sent (then FIN); writes not yet queued fail. Data the owner has
///    not acked makes it a reset, as on Linux.
///  - (abort_atom): resets the connection (RST).
///  - (net_ready_atom): internal, sent by the connection's callbacks.
using net_conn_actor = caf::typed_actor<
  caf::reacts_to<ack_atom, uint64_t>,
  caf::replies_to<write_atom, std::vector<uint8_t>>::with<uint64_t>,
  caf::reacts_to<shutdown_atom>,
  caf::reacts_to<close_atom>,
  caf::reacts_to<abort_atom>,
  caf::reacts_to<net_ready_atom>>;

/// net_conn_owner is what a conn actor sends its owner (the owner is any
/// actor handling these; see spawn_conn_actor).
using net_conn_owner = caf::typed_actor<
  caf::reacts_to<data_atom, net_conn_actor, std::vector<uint8_t>>,
  caf::reacts_to<eof_atom, net_conn_actor>,
  caf::reacts_to<closed_atom, net_conn_actor, caf::error>>;

/// net_chunk_len is the largest data message a conn actor sends.
inline constexpr size_t net_chunk_len = 64 * 1024;

/// spawn_conn_actor starts the actor that owns connection `core` (open, or
/// connecting: writes then wait for the connection) and reports to `owner`:
///  - (data_atom, net_conn_actor, std::vector<uint8_t>): received bytes,
///    in order, at most net_chunk_len per message; ack them when consumed.
///  - (eof_atom, net_conn_actor): the peer finished sending (after all
///    data messages), at most once.
///  - (closed_atom, net_conn_actor, caf::error): the connection ended,
///    exactly once, last. The reason is empty (ok) after close_atom or when
///    both sides finished (eof seen and shutdown done); otherwise it wraps a
///    tf::failure (actors/errors.hpp from_caf): errc::closed "connection
///    aborted" after abort_atom, errc::closed "node removed",
///    errc::connection_lost for a reset or timeout, errc::timeout when a
///    connecting core got no answer. The actor then ends.
/// The actor monitors `owner`: if the owner ends first, the connection is
/// reset and no closed message is sent. An exit message (other than kill)
/// resets the connection and is reported as errc::closed. While the
/// connection lives, its callbacks keep the actor alive even if the owner
/// drops every handle: end connections explicitly.
net_conn_actor spawn_conn_actor(caf::actor_system& sys, std::shared_ptr<netstack::tcp_core> core,
                                caf::actor owner);

} // namespace tf::actors
