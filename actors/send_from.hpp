// SPDX-License-Identifier: Apache-2.0
// tell_as: a send from inside any actor, as that actor and from its
// execution context, for code that holds a caf::local_actor* (CAF 0.17's
// send() lives in each actor type's sender mixin, not in local_actor).
// Call only from the actor `self` while it runs.
//
// The context decides where an idle receiver runs next: with it, on the
// sender's worker, right after the sender; without it (caf::anon_send), on
// a worker the scheduler picks, which may have to be woken. The shards'
// visible answers and the watchers' forwarded notifies use it: since the
// I/O thread spins (nodes/spinning_multiplexer.hpp), a parked worker is
// what is left to wake, and giant_tailnet's op on two vCPUs took 3-5 us
// less with it. (On one vCPU it cost 2-4 us while the scheduler had a
// second worker there to wake in turn; it has one worker per usable CPU.)
// From the I/O thread, the context is that thread, which runs the receiver
// next itself (nodes/spinning_multiplexer.hpp); tell_to_workers is for bulk
// work, which should run beside the sender rather than after it.
#pragma once

#include <caf/local_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message_id.hpp>

#include <utility>

namespace tf::actors {

/// tell_as sends `xs` to `dest` with `self` as the sender (the receiver may
/// answer it).
template <class Handle, class... Ts>
void tell_as(caf::local_actor* self, const Handle& dest, Ts&&... xs) {
  if (dest)
    dest->enqueue(caf::make_mailbox_element(self->ctrl(), caf::make_message_id(), {},
                                            std::forward<Ts>(xs)...),
                  self->context());
}

/// tell_to_workers is tell_as without the sender's context: an idle `dest`
/// is scheduled on a worker, never run next by the sending thread. For
/// bulk work sent from the I/O thread (a full netmap's parts, milliseconds
/// each), which the workers apply while that thread reads on.
template <class Handle, class... Ts>
void tell_to_workers(caf::local_actor* self, const Handle& dest, Ts&&... xs) {
  if (dest)
    dest->enqueue(caf::make_mailbox_element(self->ctrl(), caf::make_message_id(), {},
                                            std::forward<Ts>(xs)...),
                  nullptr);
}

} // namespace tf::actors
