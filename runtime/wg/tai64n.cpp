// SPDX-License-Identifier: Apache-2.0
// TAI64N encoding for WireGuard handshake timestamps. Pure functions.
#include "runtime/wg/tai64n.hpp"

#include <cstring>

namespace tf::wg {

namespace {

/// tai64_base is the TAI64 label of the Unix epoch (2^62 + 10 leap seconds).
constexpr uint64_t tai64_base = 0x400000000000000aULL;
constexpr uint32_t whitener_mask = 0x1000000 - 1;
constexpr uint32_t nanos_per_second = 1000000000;

void store_be(uint8_t* p, uint64_t v, int bytes) noexcept {
  for (int i = bytes - 1; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

uint64_t load_be(const uint8_t* p, int bytes) noexcept {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v = v << 8 | p[i];
  }
  return v;
}

} // namespace

tai64n make_tai64n(std::chrono::system_clock::time_point wall) noexcept {
  using namespace std::chrono;
  auto ns = duration_cast<nanoseconds>(wall.time_since_epoch()).count();
  if (ns < 0) {
    ns = 0;
  }
  auto secs = static_cast<uint64_t>(ns / nanos_per_second);
  auto nanos = static_cast<uint32_t>(ns % nanos_per_second) & ~whitener_mask;
  tai64n out;
  store_be(out.data(), tai64_base + secs, 8);
  store_be(out.data() + 8, nanos, 4);
  return out;
}

bool is_after(const tai64n& a, const tai64n& b) noexcept {
  return std::memcmp(a.data(), b.data(), tai64n_len) > 0;
}

tai64n successor(const tai64n& t) noexcept {
  auto secs = load_be(t.data(), 8);
  auto nanos = load_be(t.data() + 8, 4) + 1;
  if (nanos >= nanos_per_second) {
    nanos = 0;
    ++secs;
  }
  tai64n out;
  store_be(out.data(), secs, 8);
  store_be(out.data() + 8, nanos, 4);
  return out;
}

} // namespace tf::wg
