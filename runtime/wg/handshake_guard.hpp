// SPDX-License-Identifier: Apache-2.0
// handshake_guard: when a WireGuard endpoint stops answering handshakes
// blindly. A handshake costs the responder three X25519 operations, so a
// flood of initiations (valid MAC1 is all it takes) can keep a core busy.
// WireGuard's answer (paper, section 5.3; wireguard-go's IsUnderLoad and
// ratelimiter) has two parts, both here:
// - handshake_load: the endpoint is "under load" while handshake messages
//   arrive faster than it can take them -- here, more than `threshold`
//   within `window` -- and for `hold` after. Under load, handshake messages
//   need a valid MAC2, i.e. a cookie the responder handed out to the
//   sender's address, which proves the sender receives there.
// - handshake_rate_limiter: under load, each source address (IPv6: its
//   /64) may still start only `per_second` handshakes a second, `burst` at
//   once, as wireguard-go's 20/s and 5.
// Neither does I/O or reads a clock; both belong to the thread that owns
// them (the tunnel's I/O thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include <absl/container/flat_hash_map.h>

#include "runtime/wg/constants.hpp"

namespace tf::wg {

class handshake_load {
public:
  explicit handshake_load(size_t threshold = 128,
                          clock::duration window = std::chrono::milliseconds{100},
                          clock::duration hold = std::chrono::seconds{1});

  /// note counts one handshake message arriving at `now` and reports
  /// whether the endpoint is under load for it.
  bool note(time_point now);

  /// under_load reports the state at `now` without counting anything.
  bool under_load(time_point now) const noexcept { return now < loaded_until_; }

private:
  size_t threshold_;
  clock::duration window_;
  clock::duration hold_;
  time_point window_start_{};
  size_t in_window_ = 0;
  time_point loaded_until_{};
};

class handshake_rate_limiter {
public:
  explicit handshake_rate_limiter(uint32_t per_second = 20, uint32_t burst = 5,
                                  size_t max_sources = 1u << 16);

  /// allow takes one handshake from `source` (a source_address: address
  /// bytes, then the port) at `now`; false while that address has no token.
  /// Sources beyond max_sources are refused until idle ones are swept.
  bool allow(std::span<const uint8_t> source, time_point now);

  size_t num_sources() const noexcept { return buckets_.size(); }

private:
  struct bucket {
    clock::duration tokens{};
    time_point last{};
  };
  void sweep(time_point now);

  clock::duration cost_;        // one handshake's worth of tokens
  clock::duration max_tokens_;  // the burst
  size_t max_sources_;
  time_point last_sweep_{};
  // key: the address (IPv6: its /64) as 64 bits, and whether it is IPv6
  absl::flat_hash_map<std::pair<uint64_t, bool>, bucket> buckets_;
};

} // namespace tf::wg
