// SPDX-License-Identifier: Apache-2.0
// ICMP/ICMPv6 echo replies (see icmp_echo.hpp). Pure; any thread.
#include "netstack/icmp_echo.hpp"

#include <cstring>

namespace tf::netstack {

namespace {

void put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// v6_pseudo_sum sums the IPv6 pseudo-header for ICMPv6 (RFC 8200 8.1).
uint32_t v6_pseudo_sum(const uint8_t* src, const uint8_t* dst, size_t len) {
  uint32_t sum = inet_sum({src, 16});
  sum = inet_sum({dst, 16}, sum);
  sum += static_cast<uint32_t>(len >> 16) + static_cast<uint32_t>(len & 0xffff);
  return sum + 58;
}

} // namespace

echo_result make_echo_reply(const ip_view& v, std::span<const uint8_t> pkt,
                            std::vector<uint8_t>& out) {
  auto icmp = pkt.subspan(v.header_len, size_t{v.total_len} - v.header_len);
  if (icmp.size() < 8) {
    return echo_result::bad_message;
  }
  if (v.version == 4) {
    if (inet_fold(inet_sum(icmp)) != 0) {
      return echo_result::bad_message;
    }
    if (icmp[0] != 8 || icmp[1] != 0) {
      return echo_result::not_echo;
    }
    out.assign(20 + icmp.size(), 0);
    uint8_t* h = out.data();
    h[0] = 0x45;
    put16(h + 2, static_cast<uint32_t>(out.size()));
    h[8] = 64; // TTL
    h[9] = 1;  // ICMP
    std::memcpy(h + 12, v.dst, 4);
    std::memcpy(h + 16, v.src, 4);
    put16(h + 10, inet_fold(inet_sum({h, 20})));
    uint8_t* m = h + 20;
    std::memcpy(m, icmp.data(), icmp.size());
    m[0] = 0; // echo reply
    m[2] = m[3] = 0;
    put16(m + 2, inet_fold(inet_sum({m, icmp.size()})));
    return echo_result::reply;
  }
  if (inet_fold(inet_sum(icmp, v6_pseudo_sum(v.src, v.dst, icmp.size()))) != 0) {
    return echo_result::bad_message;
  }
  if (icmp[0] != 128 || icmp[1] != 0) {
    return echo_result::not_echo;
  }
  out.assign(40 + icmp.size(), 0);
  uint8_t* h = out.data();
  h[0] = 0x60;
  put16(h + 4, static_cast<uint32_t>(icmp.size()));
  h[6] = 58; // ICMPv6
  h[7] = 64; // hop limit
  std::memcpy(h + 8, v.dst, 16);
  std::memcpy(h + 24, v.src, 16);
  uint8_t* m = h + 40;
  std::memcpy(m, icmp.data(), icmp.size());
  m[0] = 129; // echo reply
  m[2] = m[3] = 0;
  put16(m + 2, inet_fold(inet_sum({m, icmp.size()}, v6_pseudo_sum(h + 8, h + 24, icmp.size()))));
  return echo_result::reply;
}

} // namespace tf::netstack
