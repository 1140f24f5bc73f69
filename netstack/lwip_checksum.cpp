// SPDX-License-Identifier: Apache-2.0
// lwIP's checksum, replaced. Debian's liblwip sums two bytes per step in
// lwip_standard_chksum and reaches it through its PLT, so this definition
// in our program takes over every call liblwip makes (ELF symbol
// interposition, the mechanism malloc replacements use): TCP and UDP
// checksums on output (checksum-on-copy) and their checks on input. Pure
// function, any thread. stack.cpp checks at start-up that the takeover
// happened and counts it if not (lwIP's own sum is slower, not wrong).
//
// ip_chksum_pseudo is taken over the same way, for one case only: the
// input check of a packet that a node of this process emitted a moment ago
// (in-memory delivery between co-located nodes). lwIP summed it on output
// in this address space; verifying it again on input is work Linux skips
// for loopback too (CHECKSUM_UNNECESSARY). ip_input.cpp names that pbuf
// with skip_input_checksum_once() right before tcp_input/udp_input, whose
// first pseudo-header sum is the check; the mark is spent by that call (or
// cleared after input), so every other sum -- any other pbuf, or a segment
// lwIP builds while handling this one -- is computed by liblwip as before.
// The mark is thread-local and set under the core lock.
#include <dlfcn.h>

#include "netstack/lwip.hpp"
#include "netstack/stack_internal.hpp"
#include "runtime/inet_checksum.hpp"

/// lwip_standard_chksum: lwIP's contract (lwip/inet_chksum.h): the folded
/// one's complement sum of `len` bytes in network byte order, not inverted.
extern "C" u16_t lwip_standard_chksum(const void* dataptr, int len) {
  if (len <= 0) {
    return 0;
  }
  return tf::ones_complement_sum({static_cast<const uint8_t*>(dataptr), static_cast<size_t>(len)});
}

namespace {

thread_local const pbuf* unchecked_input = nullptr;

} // namespace

/// ip_chksum_pseudo: lwIP's contract (lwip/inet_chksum.h): the inverted
/// checksum over the pseudo header and `p`; 0 means a received segment is
/// intact. Otherwise it does what liblwip's does: pick the IPv6 or IPv4
/// pseudo header by the address type.
extern "C" u16_t ip_chksum_pseudo(pbuf* p, u8_t proto, u16_t proto_len, const ip_addr_t* src,
                                  const ip_addr_t* dest) {
  if (p == unchecked_input && p != nullptr) {
    unchecked_input = nullptr;
    return 0;
  }
  if (IP_IS_V6(dest)) {
    return ip6_chksum_pseudo(p, proto, proto_len, ip_2_ip6(src), ip_2_ip6(dest));
  }
  return inet_chksum_pseudo(p, proto, proto_len, ip_2_ip4(src), ip_2_ip4(dest));
}

namespace tf::netstack::detail {

bool lwip_uses_our_checksum() {
  return dlsym(RTLD_DEFAULT, "lwip_standard_chksum")
         == reinterpret_cast<void*>(&lwip_standard_chksum);
}

bool lwip_input_check_can_be_skipped() {
  return dlsym(RTLD_DEFAULT, "ip_chksum_pseudo") == reinterpret_cast<void*>(&ip_chksum_pseudo);
}

void skip_input_checksum_once(const pbuf* p) {
  unchecked_input = p;
}

} // namespace tf::netstack::detail
