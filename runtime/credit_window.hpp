// SPDX-License-Identifier: Apache-2.0
// credit_window: back-pressure between one producer and one consumer actor
// whose mailbox would otherwise grow without bound (CAF mailboxes are
// unbounded). The producer counts each message it sends and stops (e.g.
// stops reading its socket) once `limit` are outstanding; the consumer
// counts each message it finished, and the one that brings the count back
// to half the limit while the producer waits tells it to resume, exactly
// once. Lock-free; shared by the two actors.
#pragma once

#include <atomic>
#include <cstdint>

namespace tf {

class credit_window {
public:
  explicit credit_window(int32_t limit) : limit_(limit) {}

  int32_t limit() const noexcept { return limit_; }
  int32_t in_flight() const noexcept { return in_flight_.load(std::memory_order_acquire); }

  /// sent counts one message handed to the consumer (producer side).
  void sent() noexcept { in_flight_.fetch_add(1, std::memory_order_acq_rel); }

  /// exhausted reports whether the producer must stop sending.
  bool exhausted() const noexcept { return in_flight() >= limit_; }

  /// try_wait marks the producer as waiting; false if the consumer caught
  /// up meanwhile (then the producer just goes on).
  bool try_wait() noexcept {
    waiting_.store(true, std::memory_order_release);
    if (in_flight() > limit_ / 2)
      return true;
    return !waiting_.exchange(false, std::memory_order_acq_rel); // we cleared it: go on
  }

  /// consumed counts one finished message (consumer side) and returns true
  /// if the consumer must now wake the waiting producer.
  bool consumed() noexcept {
    auto left = in_flight_.fetch_sub(1, std::memory_order_acq_rel) - 1;
    return left <= limit_ / 2 && waiting_.load(std::memory_order_acquire)
           && waiting_.exchange(false, std::memory_order_acq_rel);
  }

  /// reset forgets everything in flight (a consumer that restarted).
  void reset() noexcept {
    in_flight_.store(0, std::memory_order_release);
    waiting_.store(false, std::memory_order_release);
  }

private:
  const int32_t limit_;
  std::atomic<int32_t> in_flight_{0};
  std::atomic<bool> waiting_{false};
};

} // namespace tf
