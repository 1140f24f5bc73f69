// SPDX-License-Identifier: Apache-2.0
// Header validation for inbound packets (see ip_check.hpp). Pure; any thread.
#include "netstack/ip_check.hpp"

#include <cstring>

#include "runtime/inet_checksum.hpp"

namespace tf::netstack {

namespace {

bool supported(uint8_t proto, int version) {
  return proto == 6 || proto == 17 || (version == 4 ? proto == 1 : proto == 58);
}

ip_drop check_v4(std::span<const uint8_t> pkt, ip_view& out) {
  if (pkt.size() < 20) {
    return ip_drop::truncated;
  }
  const uint8_t* h = pkt.data();
  size_t ihl = size_t{h[0] & 0x0fu} * 4;
  if (ihl < 20 || ihl > pkt.size()) {
    return ip_drop::bad_header_length;
  }
  size_t total = load_be16(h + 2);
  if (total < ihl || total > pkt.size()) {
    return ip_drop::bad_total_length;
  }
  if (inet_fold(inet_sum(pkt.first(ihl))) != 0) {
    return ip_drop::bad_checksum;
  }
  const uint8_t* src = h + 12;
  bool src_multicast = (src[0] & 0xf0) == 0xe0;
  bool src_broadcast = src[0] == 255 && src[1] == 255 && src[2] == 255 && src[3] == 255;
  bool src_zero = (src[0] | src[1] | src[2] | src[3]) == 0;
  if (src_multicast || src_broadcast || src_zero) {
    return ip_drop::bad_source;
  }
  uint16_t frag = load_be16(h + 6);
  if ((frag & 0x2000) != 0 || (frag & 0x1fff) != 0) {
    return ip_drop::fragment;
  }
  if (!supported(h[9], 4)) {
    return ip_drop::unsupported_protocol;
  }
  out.version = 4;
  out.protocol = h[9];
  out.header_len = static_cast<uint16_t>(ihl);
  out.total_len = static_cast<uint16_t>(total);
  out.src = src;
  out.dst = h + 16;
  return ip_drop::none;
}

ip_drop check_v6(std::span<const uint8_t> pkt, ip_view& out) {
  if (pkt.size() < 40) {
    return ip_drop::truncated;
  }
  const uint8_t* h = pkt.data();
  size_t total = size_t{load_be16(h + 4)} + 40;
  if (total > pkt.size() || total > 0xffff) {
    return ip_drop::bad_total_length;
  }
  const uint8_t* src = h + 8;
  bool src_zero = true;
  for (int i = 0; i < 16; ++i) {
    src_zero = src_zero && src[i] == 0;
  }
  if (src[0] == 0xff || src_zero) {
    return ip_drop::bad_source;
  }
  if (h[6] == 44) {
    return ip_drop::fragment;
  }
  if (!supported(h[6], 6)) {
    return ip_drop::unsupported_protocol;
  }
  out.version = 6;
  out.protocol = h[6];
  out.header_len = 40;
  out.total_len = static_cast<uint16_t>(total);
  out.src = src;
  out.dst = h + 24;
  return ip_drop::none;
}

} // namespace

std::string_view drop_counter_name(ip_drop reason) {
  switch (reason) {
    case ip_drop::none: return "netstack_rx_ok";
    case ip_drop::truncated: return "netstack_rx_truncated";
    case ip_drop::bad_version: return "netstack_rx_bad_version";
    case ip_drop::bad_header_length: return "netstack_rx_bad_header_length";
    case ip_drop::bad_total_length: return "netstack_rx_bad_total_length";
    case ip_drop::bad_checksum: return "netstack_rx_bad_checksum";
    case ip_drop::bad_source: return "netstack_rx_bad_source";
    case ip_drop::fragment: return "netstack_rx_fragment";
    case ip_drop::unsupported_protocol: return "netstack_rx_unsupported_protocol";
  }
  return "netstack_rx_unknown_drop";
}

ip_drop check_ip_packet(std::span<const uint8_t> pkt, ip_view& out) {
  if (pkt.empty()) {
    return ip_drop::truncated;
  }
  switch (pkt[0] >> 4) {
    case 4: return check_v4(pkt, out);
    case 6: return check_v6(pkt, out);
    default: return ip_drop::bad_version;
  }
}

uint32_t inet_sum(std::span<const uint8_t> data, uint32_t sum) {
  uint16_t folded = ones_complement_sum(data); // in the data's (network) byte order
  uint8_t be[2];
  std::memcpy(be, &folded, 2);
  return sum + static_cast<uint32_t>(be[0] << 8 | be[1]);
}

uint16_t inet_fold(uint32_t sum) {
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum & 0xffff);
}

namespace {

ip_addr addr_at(const uint8_t* p, size_t len) {
  if (len == 4) {
    return ip_addr::v4(p[0], p[1], p[2], p[3]);
  }
  ip_addr::bytes16 b;
  std::memcpy(b.data(), p, 16);
  return ip_addr::v6(b);
}

} // namespace

ip_addr ip_view::src_addr() const {
  return addr_at(src, addr_len());
}

ip_addr ip_view::dst_addr() const {
  return addr_at(dst, addr_len());
}

} // namespace tf::netstack
