// SPDX-License-Identifier: Apache-2.0
// The Internet checksum's core (RFC 1071): the 16-bit one's complement sum
// of a byte string, eight bytes per step. Pure function, any thread. The
// netstack hands it to lwIP (netstack/lwip_checksum.cpp), whose own sum
// goes two bytes per step and was a fifth of the in-process data path.
#pragma once

#include <cstdint>
#include <span>

namespace tf {

/// ones_complement_sum is the folded one's complement sum of `data` read as
/// 16-bit words in host byte order (an odd tail byte is padded with zero),
/// the way RFC 1071 section 2(B) sums them: the result is in the same byte
/// order as the data. It is 0 only when every byte is 0.
uint16_t ones_complement_sum(std::span<const uint8_t> data) noexcept;

} // namespace tf
