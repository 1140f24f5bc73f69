// SPDX-License-Identifier: Apache-2.0
// ack_loop_breaker: ends the zero-window ACK loop between two nodes of one
// process. lwIP answers every segment outside its receive window with an
// ACK, and with a window of 0 that includes the acceptable pure ACK at
// rcv_nxt (its check is rcv_nxt <= seq <= rcv_nxt + wnd - 1). When both ends
// of a connection have closed their windows (both applications stopped
// reading, e.g. an echo whose reader lags), each one's ACK makes the other
// ACK back. Between processes that is a slow ping-pong until a reader
// reopens its window; in memory the replies are delivered in the same drain
// of the deferred queue, under the core lock, so it never ends and no
// reader ever gets the lock (measured: 1 in 15 runs of dataplane_test hung,
// one thread spinning on identical window-0 ACKs). Linux rate-limits such
// ACKs (tcp_invalid_ratelimit); here, within one drain, a window-0 pure ACK
// identical to the last one passed on its flow is dropped: it tells the
// receiver nothing the first did not. Pure function of the packets seen;
// used under the core lock by ip_input.cpp.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <array>
#include <cstdint>
#include <span>

#include "netstack/ip_check.hpp"

namespace tf::netstack::detail {

class ack_loop_breaker {
public:
  /// repeat says whether `pkt` (checked: `v`) is a window-0 pure ACK equal
  /// to the last one passed on its flow since clear(); if not and it is a
  /// window-0 pure ACK, it becomes its flow's last.
  bool repeat(const ip_view& v, std::span<const uint8_t> pkt);

  /// clear forgets every flow (call at the start of each drain).
  void clear() { last_.clear(); }

private:
  struct flow {
    std::array<uint8_t, 16> src{};
    std::array<uint8_t, 16> dst{};
    uint16_t sport = 0;
    uint16_t dport = 0;
    friend bool operator==(const flow&, const flow&) = default;
    template <class H>
    friend H AbslHashValue(H h, const flow& f) {
      return H::combine(std::move(h), f.src, f.dst, f.sport, f.dport);
    }
  };
  struct position {
    uint32_t seq = 0;
    uint32_t ack = 0;
  };
  absl::flat_hash_map<flow, position> last_;
};

} // namespace tf::netstack::detail
