// SPDX-License-Identifier: Apache-2.0
// Hand-built IPv4/IPv6 packets for netstack tests (valid ones, to be broken
// on purpose). Pure functions.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "netstack/ip_check.hpp"
#include "runtime/ip.hpp"

namespace tf::netstack::testing {

inline void put16(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

/// transport_sum is the pseudo-header sum for TCP/UDP/ICMPv6 checksums.
inline uint32_t pseudo_sum(const ip_addr& src, const ip_addr& dst, uint8_t proto, size_t len) {
  size_t n = src.is_v4() ? 4 : 16;
  uint32_t sum = inet_sum({src.bytes().data(), n});
  sum = inet_sum({dst.bytes().data(), n}, sum);
  return sum + proto + static_cast<uint32_t>(len >> 16) + static_cast<uint32_t>(len & 0xffff);
}

/// make_packet wraps `l4` (transport header + data) in an IPv4 or IPv6
/// header. When csum_at >= 0, the transport checksum at that offset of l4
/// is filled in (ICMPv4 without pseudo-header).
inline std::vector<uint8_t> make_packet(const ip_addr& src, const ip_addr& dst, uint8_t proto,
                                        std::vector<uint8_t> l4, int csum_at = -1) {
  if (csum_at >= 0) {
    l4[csum_at] = l4[csum_at + 1] = 0;
    uint32_t sum = proto == 1 ? 0 : pseudo_sum(src, dst, proto, l4.size());
    uint16_t c = inet_fold(inet_sum(l4, sum));
    l4[csum_at] = static_cast<uint8_t>(c >> 8);
    l4[csum_at + 1] = static_cast<uint8_t>(c);
  }
  std::vector<uint8_t> p;
  if (src.is_v4()) {
    p.assign(20, 0);
    p[0] = 0x45;
    put16(p, 2, static_cast<uint32_t>(20 + l4.size()));
    p[8] = 64;
    p[9] = proto;
    std::memcpy(&p[12], src.bytes().data(), 4);
    std::memcpy(&p[16], dst.bytes().data(), 4);
    put16(p, 10, inet_fold(inet_sum({p.data(), 20})));
  } else {
    p.assign(40, 0);
    p[0] = 0x60;
    put16(p, 4, static_cast<uint32_t>(l4.size()));
    p[6] = proto;
    p[7] = 64;
    std::memcpy(&p[8], src.bytes().data(), 16);
    std::memcpy(&p[24], dst.bytes().data(), 16);
  }
  p.insert(p.end(), l4.begin(), l4.end());
  return p;
}

/// echo_request builds an ICMP (v4) or ICMPv6 echo request.
inline std::vector<uint8_t> echo_request(const ip_addr& src, const ip_addr& dst, uint16_t ident,
                                         uint16_t seq, size_t data_len) {
  std::vector<uint8_t> m(8 + data_len);
  m[0] = src.is_v4() ? 8 : 128;
  put16(m, 4, ident);
  put16(m, 6, seq);
  for (size_t i = 0; i < data_len; ++i) {
    m[8 + i] = static_cast<uint8_t>(i * 7);
  }
  return make_packet(src, dst, src.is_v4() ? 1 : 58, std::move(m), 2);
}

/// tcp_syn builds a TCP SYN from src:sport to dst:dport.
inline std::vector<uint8_t> tcp_syn(const ip_addr& src, uint16_t sport, const ip_addr& dst,
                                    uint16_t dport) {
  std::vector<uint8_t> t(20, 0);
  put16(t, 0, sport);
  put16(t, 2, dport);
  t[7] = 1;       // seq 1
  t[12] = 5 << 4; // data offset
  t[13] = 0x02;   // SYN
  put16(t, 14, 8192);
  return make_packet(src, dst, 6, std::move(t), 16);
}

} // namespace tf::netstack::testing
