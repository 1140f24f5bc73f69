// SPDX-License-Identifier: Apache-2.0
// The re-entrant core lock over lwIP's core mutex (see core_lock.hpp). The
// depth is per thread; the tcpip thread counts as always holding the lock.
#include "netstack/core_lock.hpp"

#include "netstack/stack_internal.hpp"

namespace tf::netstack {

namespace {

thread_local int t_depth = 0;
thread_local bool t_tcpip = false;

} // namespace

void core_lock::lock() {
  if (t_depth == 0) {
    detail::ensure_started();
    LOCK_TCPIP_CORE();
  }
  ++t_depth;
}

void core_lock::unlock() {
  if (t_depth == 1 && !t_tcpip) {
    detail::drain_deferred_locked();
  }
  if (--t_depth == 0) {
    UNLOCK_TCPIP_CORE();
  }
}

void detail::wait_lock::lock() {
  if (t_depth == 0) {
    LOCK_TCPIP_CORE();
  }
  ++t_depth;
}

void detail::wait_lock::unlock() {
  if (--t_depth == 0) {
    UNLOCK_TCPIP_CORE();
  }
}

bool holds_core() noexcept {
  return t_depth > 0;
}

bool on_tcpip_thread() noexcept {
  return t_tcpip;
}

int core_depth() noexcept {
  return t_depth;
}

namespace detail {

void mark_tcpip_thread() {
  t_tcpip = true;
  t_depth = 1; // lwIP's tcpip thread holds the core lock whenever it runs us
}

} // namespace detail

} // namespace tf::netstack
