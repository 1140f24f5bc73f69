// SPDX-License-Identifier: Apache-2.0
// core_lock: the one lock of the process-wide lwIP stack (lwIP's own core
// mutex), re-entrant per thread. Every lwIP call and every netstack object
// marked "_locked" runs under it. Any thread may take it; the tcpip thread
// always holds it while it runs our code. Never block while holding it.
#pragma once

#include <condition_variable>
#include <memory>

namespace tf::netstack {

/// core_lock is a BasicLockable view of lwIP's core mutex (usable with
/// std::condition_variable_any). lock() starts the stack on first use. The
/// lock is re-entrant per thread: nested lock()/unlock() only count. When
/// the outermost unlock() runs, packets deferred by re-entrant deliver()
/// calls are processed first, and waiters queued with notify_after_unlock
/// are woken after the lock is released.
class core_lock {
public:
  void lock();
  void unlock();
};

/// core_guard holds the core lock for one scope.
class core_guard {
public:
  core_guard() { lock_.lock(); }
  ~core_guard() { lock_.unlock(); }
  core_guard(const core_guard&) = delete;
  core_guard& operator=(const core_guard&) = delete;

private:
  core_lock lock_;
};

/// core_unguard releases the core lock for one scope (inside a core_guard
/// scope of a thread that holds the lock exactly once), e.g. to copy
/// bytes while other threads use the stack.
class core_unguard {
public:
  core_unguard() { lock_.unlock(); }
  ~core_unguard() { lock_.lock(); }
  core_unguard(const core_unguard&) = delete;
  core_unguard& operator=(const core_unguard&) = delete;

private:
  core_lock lock_;
};

namespace detail {

/// notify_after_unlock queues `cv` (a member of `owner`) for a notify_all
/// once the calling thread's outermost core_lock::unlock has released the
/// lock: the woken thread then does not block on the lock at once (one
/// wake-up instead of two). Call it holding the core lock, never on the
/// tcpip thread (it notifies at once). A dead owner is skipped.
void notify_after_unlock(std::weak_ptr<const void> owner, std::condition_variable_any& cv);

/// notify_queued_locked notifies everything queued, now (before waiting).
void notify_queued_locked();

/// wait_lock is core_lock for condition_variable_any waits: its unlock()
/// does not process deferred packets (that could notify the very condition
/// variable whose internal mutex is held during the wait's unlock). Drain
/// before waiting instead (wait.hpp does).
class wait_lock {
public:
  void lock();
  void unlock();
};

} // namespace detail

/// holds_core tells whether this thread holds the core lock (always true on
/// the tcpip thread while it runs callbacks).
bool holds_core() noexcept;

/// on_tcpip_thread tells whether this is lwIP's tcpip thread.
bool on_tcpip_thread() noexcept;

/// core_depth is how often this thread holds the lock (0: not at all).
int core_depth() noexcept;

} // namespace tf::netstack
