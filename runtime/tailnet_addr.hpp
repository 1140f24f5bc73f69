// SPDX-License-Identifier: Apache-2.0
// The tailnet's address plan: IPv4 from 100.64.0.0/10 without the ChromeOS
// range 100.115.92.0/23 and the service address 100.100.100.100; IPv6 from
// fd7a:115c:a1e0::/48, derived one-to-one from the IPv4 address. The
// allocator is owned by the coordination server actor; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>

#include <absl/container/flat_hash_set.h>

#include "runtime/ip.hpp"
#include "runtime/result.hpp"

namespace tf {

inline const ip_prefix cgnat_range{ip_addr::v4(100, 64, 0, 0), 10};
inline const ip_prefix chromeos_range{ip_addr::v4(100, 115, 92, 0), 23};
inline const ip_addr quad100 = ip_addr::v4(100, 100, 100, 100);
inline const ip_prefix tailscale_ula_range{
  ip_addr::v6({0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0}), 48};

/// is_tailnet_ipv4 is true for addresses a node may own: in 100.64/10, not in
/// the ChromeOS range, not 100.100.100.100.
bool is_tailnet_ipv4(const ip_addr& a);

/// is_tailnet_ipv6 is true for addresses in fd7a:115c:a1e0::/48.
bool is_tailnet_ipv6(const ip_addr& a);

/// ipv6_for derives the node's IPv6 address from its IPv4 address:
/// fd7a:115c:a1e0::<the 32 bits of the IPv4 address>.
ip_addr ipv6_for(const ip_addr& v4);

/// address_allocator hands out tailnet IPv4 addresses (and their IPv6 twins)
/// in order, wrapping around, skipping addresses in use and excluded ranges.
class address_allocator {
public:
  /// mark_used records an address loaded from storage. False if it is not a
  /// tailnet address or already in use.
  bool mark_used(const ip_addr& v4);

  /// allocate returns the next free IPv4 address.
  result<ip_addr> allocate();

  /// release frees `v4` for reuse.
  void release(const ip_addr& v4);

  size_t num_used() const noexcept { return used_.size(); }

private:
  absl::flat_hash_set<uint32_t> used_;
  uint32_t next_ = 0; // offset into 100.64.0.0/10 to try first
};

} // namespace tf
