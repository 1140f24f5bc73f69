// SPDX-License-Identifier: Apache-2.0
// Address plan checks and the allocator. The allocator is confined to its
// owner (the coordination server actor).
#include "runtime/tailnet_addr.hpp"

namespace tf {

namespace {

constexpr uint32_t cgnat_base = 100u << 24 | 64u << 16; // 100.64.0.0
constexpr uint32_t cgnat_size = 1u << 22;               // /10

constexpr uint32_t chromeos_base = 100u << 24 | 115u << 16 | 92u << 8; // /23
constexpr uint32_t quad100_value = 100u << 24 | 100u << 16 | 100u << 8 | 100u;

// allocatable is is_tailnet_ipv4 for an address already inside 100.64/10,
// minus the range's network and broadcast addresses. Hot in allocate().
bool allocatable(uint32_t v4) {
  return v4 != cgnat_base && v4 != cgnat_base + cgnat_size - 1
         && v4 != quad100_value && (v4 - chromeos_base) >= 512;
}

} // namespace

bool is_tailnet_ipv4(const ip_addr& a) {
  return cgnat_range.contains(a) && !chromeos_range.contains(a) && a != quad100;
}

bool is_tailnet_ipv6(const ip_addr& a) {
  return tailscale_ula_range.contains(a);
}

ip_addr ipv6_for(const ip_addr& v4) {
  auto bytes = tailscale_ula_range.addr.bytes();
  auto v = v4.v4_value();
  bytes[12] = static_cast<uint8_t>(v >> 24);
  bytes[13] = static_cast<uint8_t>(v >> 16);
  bytes[14] = static_cast<uint8_t>(v >> 8);
  bytes[15] = static_cast<uint8_t>(v);
  return ip_addr::v6(bytes);
}

bool address_allocator::mark_used(const ip_addr& v4) {
  if (!v4.is_v4() || !is_tailnet_ipv4(v4))
    return false;
  return used_.insert(v4.v4_value()).second;
}

result<ip_addr> address_allocator::allocate() {
  for (uint32_t tried = 0; tried < cgnat_size; ++tried) {
    uint32_t candidate = cgnat_base + (next_ + tried) % cgnat_size;
    if (!allocatable(candidate) || used_.contains(candidate))
      continue;
    used_.insert(candidate);
    next_ = (candidate - cgnat_base + 1) % cgnat_size;
    return ip_addr::v4(candidate);
  }
  return make_error(errc::address_space_exhausted, "100.64.0.0/10 is full");
}

void address_allocator::release(const ip_addr& v4) {
  used_.erase(v4.v4_value());
}

} // namespace tf
