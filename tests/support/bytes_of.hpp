// SPDX-License-Identifier: Apache-2.0
// bytes_of: the bytes of a string, as the span the byte APIs take. The span
// points into `s`; it lives as long as the string does. Tests only.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace tf::test {

inline std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

} // namespace tf::test
