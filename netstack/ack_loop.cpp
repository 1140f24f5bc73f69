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
  if (!pure_ack || load_be16(tcp + 14) != 0) {
    return false;
  }
  flow f;
  std::memcpy(f.src.data(), v.src, v.addr_len());
  std::memcpy(f.dst.data(), v.dst, v.addr_len());
  f.sport = load_be16(tcp);
  f.dport = load_be16(tcp + 2);
  position at{load_be32(tcp + 4), load_be32(tcp + 8)};
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
