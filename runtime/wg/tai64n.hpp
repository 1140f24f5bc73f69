// SPDX-License-Identifier: Apache-2.0
// TAI64N timestamps (12 bytes, big-endian seconds + nanoseconds) as carried in
// handshake initiations; responders refuse any that does not increase. Pure
// values and functions; any thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace tf::wg {

inline constexpr size_t tai64n_len = 12;

/// tai64n is one timestamp in wire form; byte order makes memcmp order equal
/// time order.
using tai64n = std::array<uint8_t, tai64n_len>;

/// make_tai64n encodes `wall`. The nanoseconds are whitened (rounded down to
/// a multiple of 2^24 ns, about 16.8 ms) like wireguard-go, so the value does
/// not leak a precise clock.
tai64n make_tai64n(std::chrono::system_clock::time_point wall) noexcept;

/// is_after reports whether `a` is strictly later than `b`.
bool is_after(const tai64n& a, const tai64n& b) noexcept;

/// successor returns the timestamp one nanosecond after `t` (used so that a
/// sender's consecutive timestamps always increase).
tai64n successor(const tai64n& t) noexcept;

/// wall_anchor maps the monotonic `now` every tf::wg call takes to wall time:
/// it pairs one reading of both clocks taken at construction.
class wall_anchor {
public:
  wall_anchor()
    : wall_(std::chrono::system_clock::now()), steady_(std::chrono::steady_clock::now()) {}

  /// wall_at returns the wall time that corresponds to `now`.
  std::chrono::system_clock::time_point
  wall_at(std::chrono::steady_clock::time_point now) const noexcept {
    return wall_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(now - steady_);
  }

private:
  std::chrono::system_clock::time_point wall_;
  std::chrono::steady_clock::time_point steady_;
};

} // namespace tf::wg
