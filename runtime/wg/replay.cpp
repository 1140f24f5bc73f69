// SPDX-License-Identifier: Apache-2.0
// Anti-replay window (RFC 6479: a ring of 64-bit blocks, whole blocks cleared
// as the window advances). Confined to the keypair's owner.
#include "runtime/wg/replay.hpp"

#include <algorithm>

#include "runtime/wg/constants.hpp"

namespace tf::wg {

bool replay_window::would_accept(uint64_t counter) const noexcept {
  if (counter >= reject_after_messages) {
    return false;
  }
  if (counter > last_) {
    return true;
  }
  if (last_ - counter > window_len) {
    return false;
  }
  auto block = ring_[(counter / block_bits) % ring_blocks];
  return (block & (uint64_t{1} << (counter % block_bits))) == 0;
}

bool replay_window::accept(uint64_t counter) noexcept {
  if (!would_accept(counter)) {
    return false;
  }
  auto index = counter / block_bits;
  if (counter > last_) {
    auto current = last_ / block_bits;
    auto advance = std::min(index - current, ring_blocks);
    for (uint64_t i = 1; i <= advance; ++i) {
      ring_[(current + i) % ring_blocks] = 0;
    }
    last_ = counter;
  }
  ring_[index % ring_blocks] |= uint64_t{1} << (counter % block_bits);
  return true;
}

} // namespace tf::wg
