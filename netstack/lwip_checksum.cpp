// SPDX-License-Identifier: Apache-2.0
// lwIP's checksum, replaced. Debian's liblwip sums two bytes per step in
// lwip_standard_chksum and reaches it through its PLT, so this definition
// in our program takes over every call liblwip makes (ELF symbol
// interposition, the mechanism malloc replacements use): TCP and UDP
// checksums on output (checksum-on-copy) and their checks on input. Pure
// function, any thread. stack.cpp checks at start-up that the takeover
// happened and counts it if not (lwIP's own sum is slower, not wrong).
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

namespace tf::netstack::detail {

bool lwip_uses_our_checksum() {
  return dlsym(RTLD_DEFAULT, "lwip_standard_chksum")
         == reinterpret_cast<void*>(&lwip_standard_chksum);
}

} // namespace tf::netstack::detail
