// SPDX-License-Identifier: Apache-2.0
// The one place that includes lwIP's C headers (inside extern "C": Debian's
// lwipopts.h declares sys_lock_tcpip_core without C linkage). Private to
// netstack/*.cpp: public netstack headers never include it.
#pragma once

extern "C" {
#include <lwip/inet_chksum.h>
#include <lwip/init.h>
#include <lwip/ip.h>
#include <lwip/ip4.h>
#include <lwip/ip6.h>
#include <lwip/ip_addr.h>
#include <lwip/memp.h>
#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <lwip/priv/tcp_priv.h>
#include <lwip/prot/ip4.h>
#include <lwip/prot/ip6.h>
#include <lwip/tcp.h>
#include <lwip/tcpip.h>
#include <lwip/timeouts.h>
#include <lwip/udp.h>
}

#include "runtime/ip.hpp"

namespace tf::netstack {

/// to_lwip converts a valid tf::ip_addr into lwIP's form (no IPv6 zone).
inline ip_addr_t to_lwip(const ip_addr& a) {
  ip_addr_t out;
  if (a.is_v4()) {
    IP_ADDR4(&out, a.bytes()[0], a.bytes()[1], a.bytes()[2], a.bytes()[3]);
  } else {
    const auto& b = a.bytes();
    u32_t w[4];
    for (int i = 0; i < 4; ++i) {
      w[i] = lwip_htonl(uint32_t{b[4 * i]} << 24 | uint32_t{b[4 * i + 1]} << 16
                        | uint32_t{b[4 * i + 2]} << 8 | b[4 * i + 3]);
    }
    IP_ADDR6(&out, w[0], w[1], w[2], w[3]);
    ip6_addr_clear_zone(ip_2_ip6(&out));
  }
  return out;
}

/// from_lwip converts lwIP's address form back into a tf::ip_addr.
inline ip_addr from_lwip(const ip_addr_t& a) {
  if (IP_IS_V4_VAL(a)) {
    return ip_addr::v4(lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&a))));
  }
  ip_addr::bytes16 b{};
  for (int i = 0; i < 4; ++i) {
    uint32_t w = lwip_ntohl(ip_2_ip6(&a)->addr[i]);
    b[4 * i] = static_cast<uint8_t>(w >> 24);
    b[4 * i + 1] = static_cast<uint8_t>(w >> 16);
    b[4 * i + 2] = static_cast<uint8_t>(w >> 8);
    b[4 * i + 3] = static_cast<uint8_t>(w);
  }
  return ip_addr::v6(b);
}

} // namespace tf::netstack
