// SPDX-License-Identifier: Apache-2.0
// Validation of inbound IPv4/IPv6 headers before anything reaches lwIP, and
// the Internet checksum. Pure functions over bytes; any thread; never
// allocate, never read past the span.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "runtime/ip.hpp"

namespace tf::netstack {

/// ip_drop names why an inbound packet was refused (none: it is fine).
enum class ip_drop : uint8_t {
  none,
  truncated,            // shorter than the fixed header
  bad_version,          // not 4 or 6 (or not what the caller expected)
  bad_header_length,    // IPv4 IHL < 5 or beyond the packet
  bad_total_length,     // total/payload length beyond the bytes we got
  bad_checksum,         // IPv4 header checksum
  bad_source,           // multicast, broadcast or unspecified source
  fragment,             // IPv4 MF/offset or an IPv6 fragment header
  unsupported_protocol, // not TCP, UDP, ICMP(v6) (IPv6 extension headers too)
};

/// drop_counter_name is the counter bumped for `reason`
/// ("netstack_rx_truncated", ...).
std::string_view drop_counter_name(ip_drop reason);

/// ip_view describes a validated packet. Pointers point into the checked span.
struct ip_view {
  uint8_t version = 0;    // 4 or 6
  uint8_t protocol = 0;   // 1 ICMP, 6 TCP, 17 UDP, 58 ICMPv6
  uint16_t header_len = 0; // bytes before the transport header
  uint16_t total_len = 0;  // bytes that belong to the packet (rest is padding)
  const uint8_t* src = nullptr; // 4 or 16 bytes
  const uint8_t* dst = nullptr; // 4 or 16 bytes
  size_t addr_len() const noexcept { return version == 4 ? 4 : 16; }
  /// src_addr and dst_addr copy the addresses out.
  ip_addr src_addr() const;
  ip_addr dst_addr() const;
};

/// check_ip_packet validates `pkt` (version, lengths, IPv4 header checksum,
/// source address, no fragments, a supported transport) and fills `out`.
/// Packets longer than 65535 bytes are refused (bad_total_length).
ip_drop check_ip_packet(std::span<const uint8_t> pkt, ip_view& out);

/// load_be16 and load_be32 read a header field in network byte order.
inline uint16_t load_be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

inline uint32_t load_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

/// inet_sum adds `data` as 16-bit big-endian words to `sum` (odd tail padded).
uint32_t inet_sum(std::span<const uint8_t> data, uint32_t sum = 0);

/// inet_fold folds a 32-bit sum and complements it: the Internet checksum.
uint16_t inet_fold(uint32_t sum);

} // namespace tf::netstack
