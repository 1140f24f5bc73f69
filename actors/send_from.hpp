// SPDX-License-Identifier: Apache-2.0
// Sending from inside an actor without going through its typed send(): as
// the actor (tell_as) or anonymously (tell_anon), always with the sending
// actor's execution context. That context matters: CAF 0.17 schedules a
// receiver that a worker woke onto that same worker, but a message with no
// context (caf::anon_send) hands the receiver to the scheduler, which picks
// a worker round robin -- often a parked one on the other vCPU, a wake-up
// of ~7 us on these machines (perf sched timehist of bench/giant_tailnet).
// Call only from the actor `self` while it runs.
#pragma once

#include <caf/local_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message_id.hpp>

#include <utility>

namespace tf::actors {

/// tell_as sends `xs` to `dest` with `self` as the sender (the receiver may
/// answer it). Unlike send(), it takes any local actor and any handle.
template <class Handle, class... Ts>
void tell_as(caf::local_actor* self, const Handle& dest, Ts&&... xs) {
  if (dest)
    dest->enqueue(caf::make_mailbox_element(self->ctrl(), caf::make_message_id(), {},
                                            std::forward<Ts>(xs)...),
                  self->context());
}

/// tell_anon sends `xs` to `dest` without a sender (nobody answers), like
/// caf::anon_send, but scheduled like a send from `self`.
template <class Handle, class... Ts>
void tell_anon(caf::local_actor* self, const Handle& dest, Ts&&... xs) {
  if (dest)
    dest->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                            std::forward<Ts>(xs)...),
                  self->context());
}

} // namespace tf::actors
