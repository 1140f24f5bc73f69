// SPDX-License-Identifier: Apache-2.0
// Blocking helpers for the socket API: refuse to block where it would
// deadlock (tcpip thread, inside callbacks), and wait on a condition with
// the core lock released. Private to netstack/*.cpp.
#pragma once

#include <condition_variable>

#include "netstack/core_lock.hpp"
#include "netstack/sockets.hpp"
#include "netstack/stack_internal.hpp"

namespace tf::netstack::detail {

/// check_may_block fails when the calling thread must not block.
inline result<void> check_may_block() {
  if (on_tcpip_thread() || core_depth() > 0) {
    return make_error(errc::invalid_argument,
                      "blocking netstack call from the tcpip thread or a stack callback");
  }
  return {};
}

/// wait_locked waits (core lock held, depth 1) until pred() or the deadline;
/// returns pred() at the end.
template <class Pred>
bool wait_locked(std::condition_variable_any& cv, deadline d, Pred pred) {
  drain_deferred_locked();
  if (pred()) {
    return true; // queued wake-ups wait for the caller's unlock
  }
  notify_queued_locked(); // whoever they wake may be what this wait needs
  wait_lock lk;
  if (d == no_deadline) {
    cv.wait(lk, pred);
    return true;
  }
  return cv.wait_until(lk, d, pred);
}

} // namespace tf::netstack::detail
