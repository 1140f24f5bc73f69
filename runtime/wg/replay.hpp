// SPDX-License-Identifier: Apache-2.0
// replay_window: the anti-replay sliding window of one receiving keypair
// (RFC 6479 style bitmap ring). A plain value confined to the session that
// owns the keypair; it never allocates.
#pragma once

#include <array>
#include <cstdint>

namespace tf::wg {

/// replay_window accepts each counter at most once, and only within
/// window_len of the highest counter accepted so far: with highest H, counter
/// H - 2048 is still accepted (once), H - 2049 is too old. Counters at or
/// beyond reject_after_messages are always refused. Feed it only counters of
/// authenticated packets (check would_accept before decrypting, accept after).
class replay_window {
public:
  /// window_len is how far behind the highest counter a counter may lie.
  static constexpr uint64_t window_len = 2048;

  /// would_accept reports whether accept(counter) would succeed; no change.
  bool would_accept(uint64_t counter) const noexcept;

  /// accept marks `counter` as seen; false (nothing changes) when it is a
  /// duplicate, too old, or at/beyond reject_after_messages.
  bool accept(uint64_t counter) noexcept;

  /// highest is the highest counter accepted (0 before any).
  uint64_t highest() const noexcept { return last_; }

private:
  static constexpr uint64_t block_bits = 64;
  // 64 blocks = 4096 bits: more than the 2048 + 64 the window can touch, so a
  // block that is cleared when the window advances never holds a live bit.
  static constexpr uint64_t ring_blocks = 64;

  std::array<uint64_t, ring_blocks> ring_{};
  uint64_t last_ = 0;
};

} // namespace tf::wg
