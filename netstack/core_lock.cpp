// SPDX-License-Identifier: Apache-2.0
// The re-entrant core lock over lwIP's core mutex (see core_lock.hpp). The
// depth is per thread; the tcpip thread counts as always holding the lock.
#include "netstack/core_lock.hpp"

#include <utility>
#include <vector>

#include "netstack/stack_internal.hpp"

namespace tf::netstack {

namespace {

thread_local int t_depth = 0;
thread_local bool t_tcpip = false;

struct queued_notify {
  std::weak_ptr<const void> owner;
  std::condition_variable_any* cv;
};

// Waiters to wake after the lock holder's outermost unlock. guards: the
// core lock.
std::vector<queued_notify>& queued() {
  static auto& q = *new std::vector<queued_notify>;
  return q;
}

void notify(std::vector<queued_notify>& batch) {
  for (auto& n : batch) {
    if (auto alive = n.owner.lock()) {
      n.cv->notify_all();
    }
  }
}

} // namespace

void core_lock::lock() {
  if (t_depth == 0) {
    detail::ensure_started();
    LOCK_TCPIP_CORE();
  }
  ++t_depth;
}

void core_lock::unlock() {
  std::vector<queued_notify> wake;
  if (t_depth == 1 && !t_tcpip) {
    detail::drain_deferred_locked();
    wake.swap(queued());
  }
  if (--t_depth == 0) {
    UNLOCK_TCPIP_CORE();
  }
  notify(wake); // an owner released here may take the lock again: it is free
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

void notify_after_unlock(std::weak_ptr<const void> owner, std::condition_variable_any& cv) {
  if (t_tcpip || t_depth == 0) {
    cv.notify_all();
    return;
  }
  queued().push_back({std::move(owner), &cv});
}

void notify_queued_locked() {
  std::vector<queued_notify> wake;
  wake.swap(queued());
  notify(wake);
}

void mark_tcpip_thread() {
  t_tcpip = true;
  t_depth = 1; // lwIP's tcpip thread holds the core lock whenever it runs us
}

} // namespace detail

} // namespace tf::netstack
