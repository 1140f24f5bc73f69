// SPDX-License-Identifier: Apache-2.0
// watch_flow: the bounded queue of one bus watcher, as a count shared by
// its producers (the bus and the node's shards, on any thread) and its one
// consumer. A producer reserves a slot before sending; the consumer frees it
// when the notify has been consumed. The reservation that would exceed
// bus::max_pending closes the flow and tells its producer to send the one
// terminal error. Lock-free; any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include "runtime/bus_types.hpp"

namespace tf::bus {

class watch_flow {
public:
  enum class admit { send, send_terminal_error, closed };

  /// reserve claims a slot for one notify.
  admit reserve() noexcept {
    if (closed_.load(std::memory_order_acquire))
      return admit::closed;
    if (pending_.fetch_add(1, std::memory_order_acq_rel) + 1 <= max_pending)
      return admit::send;
    pending_.fetch_sub(1, std::memory_order_acq_rel);
    if (!closed_.exchange(true, std::memory_order_acq_rel))
      return admit::send_terminal_error;
    return admit::closed;
  }

  /// consumed frees the slot of one delivered notify.
  void consumed() noexcept { pending_.fetch_sub(1, std::memory_order_acq_rel); }

  /// close stops every producer (the watcher went away).
  void close() noexcept { closed_.store(true, std::memory_order_release); }

  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }
  int32_t pending() const noexcept { return pending_.load(std::memory_order_acquire); }

private:
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
