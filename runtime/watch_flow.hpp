// SPDX-License-Identifier: Apache-2.0
// watch_flow: the bounded queue of one bus watcher, as a count shared by
// its producers (the bus and the node's shards, on any thread) and its one
// consumer. A producer admits a notify and enqueues it in one step; the
// consumer frees the slot when the notify has been consumed. The admission
// that would exceed bus::max_pending closes the flow and tells its producer
// to send the one terminal error. Any thread.
//
// Admission, enqueue and closing take one small lock, so every notify
// admitted before the flow closed is in a mailbox -- the watcher's, or the
// receiving actor's when a shard sends there directly -- before the close,
// and the terminal error, which always travels through the watcher, comes
// after all of them. Freeing a slot takes no lock (a ticket may be dropped
// inside an enqueue that holds it).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

#include "runtime/bus_types.hpp"

namespace tf::bus {

class watch_flow {
public:
  enum class admit { send, send_terminal_error, closed };

  /// admit_and_send claims a slot for one notify and, if it got one, calls
  /// `send` (which enqueues the notify) before anyone can close the flow.
  /// `send` must not call back into this flow's admit or close.
  template <class Send>
  admit admit_and_send(Send&& send) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_.load(std::memory_order_relaxed))
      return admit::closed;
    if (pending_.fetch_add(1, std::memory_order_acq_rel) + 1 <= max_pending) {
      send();
      return admit::send;
    }
    pending_.fetch_sub(1, std::memory_order_acq_rel);
    closed_.store(true, std::memory_order_release);
    return admit::send_terminal_error;
  }

  /// consumed frees the slot of one delivered notify.
  void consumed() noexcept { pending_.fetch_sub(1, std::memory_order_acq_rel); }

  /// close stops every producer (the watcher went away).
  void close() {
    std::lock_guard<std::mutex> guard{mtx_};
    closed_.store(true, std::memory_order_release);
  }

  /// close_lagging closes the flow for a producer that holds more than
  /// max_pending notifies of it; true if this call closed it (its caller
  /// then sends the terminal error).
  bool close_lagging() {
    std::lock_guard<std::mutex> guard{mtx_};
    return !closed_.exchange(true, std::memory_order_acq_rel);
  }

  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }
  int32_t pending() const noexcept { return pending_.load(std::memory_order_acquire); }

private:
  std::mutex mtx_;  // guards: admissions with their enqueue, and closing
  std::atomic<int32_t> pending_{0};
  std::atomic<bool> closed_{false};
};

/// flow_ticket is the slot of one notify handed on as a message (to an
/// actor): copies share the slot, and it is freed when the last copy is
/// destroyed -- when the receiver has handled and dropped the message. So a
/// slow receiving actor counts against its watcher's limit like a slow
/// reader does. Empty for notifies that hold no slot. Any thread.
class flow_ticket {
public:
  flow_ticket() = default;
  explicit flow_ticket(std::shared_ptr<watch_flow> flow)
      : slot_(std::make_shared<const slot>(std::move(flow))) {}

  bool holds_slot() const noexcept { return slot_ != nullptr; }

private:
  struct slot {
    explicit slot(std::shared_ptr<watch_flow> f) : flow(std::move(f)) {}
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;
    ~slot() { flow->consumed(); }
    std::shared_ptr<watch_flow> flow;
  };
  std::shared_ptr<const slot> slot_;
};

} // namespace tf::bus
