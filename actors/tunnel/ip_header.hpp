// SPDX-License-Identifier: Apache-2.0
// ip_header: the two addresses the tunnel reads from an IP packet (whose
// header the netstack built or the cipher authenticated). Pure functions,
// any thread.
#pragma once

#include <cstring>
#include <optional>
#include <span>

#include "runtime/ip.hpp"

namespace tf::tunnel {

/// packet_address reads the source (offset 12 / 8) or destination (16 / 24)
/// address of an IPv4 / IPv6 packet; nothing when too short.
inline std::optional<ip_addr> packet_address(std::span<const uint8_t> pkt, bool destination) {
  if (pkt.size() >= 20 && (pkt[0] >> 4) == 4) {
    const uint8_t* a = pkt.data() + (destination ? 16 : 12);
    return ip_addr::v4(a[0], a[1], a[2], a[3]);
  }
  if (pkt.size() >= 40 && (pkt[0] >> 4) == 6) {
    ip_addr::bytes16 b;
    std::memcpy(b.data(), pkt.data() + (destination ? 24 : 8), 16);
    return ip_addr::v6(b);
  }
  return std::nullopt;
}

} // namespace tf::tunnel
