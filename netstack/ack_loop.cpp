// SPDX-License-Identifier: Apache-2.0
// The window-0 ACK loop breaker (see ack_loop.hpp). Under the core lock.
#include "netstack/ack_loop.hpp"

#include <cstring>

namespace tf::netstack::detail {

namespace {

constexpr uint8_t tcp_fin = 0x01;
constexpr uint8_t tcp_syn = 0x02;
constexpr uint8_t tcp_rst = 0x04;
constexpr uint8_t tcp_ack = 0x10;

uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

} // namespace

bool ack_loop_breaker::repeat(const ip_view& v, std::span<const uint8_t> pkt) {
  if (v.protocol != 6 || v.total_len > pkt.size() || v.total_len < v.header_len + 20u) {
    return false;
  }
  const uint8_t* tcp = pkt.data() + v.header_len;
  size_t tcp_len = v.total_len - v.header_len;
  size_t data_offset = static_cast<size_t>(tcp[12] >> 4) * 4;
  uint8_t flags = tcp[13];
  bool pure_ack = data_offset >= 20 && data_offset == tcp_len && (flags & tcp_ack) != 0
                  && (flags & (tcp_syn | tcp_fin | tcp_rst)) == 0;
  if (!pure_ack || be16(tcp + 14) != 0) {
    return false;
  }
  flow f;
  std::memcpy(f.src.data(), v.src, v.addr_len());
  std::memcpy(f.dst.data(), v.dst, v.addr_len());
  f.sport = be16(tcp);
  f.dport = be16(tcp + 2);
  position at{be32(tcp + 4), be32(tcp + 8)};
  auto [i, added] = last_.try_emplace(f, at);
  if (added) {
    return false;
  }
  if (i->second.seq == at.seq && i->second.ack == at.ack) {
    return true;
  }
  i->second = at;
  return false;
}

} // namespace tf::netstack::detail
