// SPDX-License-Identifier: Apache-2.0
// Answers ICMP and ICMPv6 echo requests for node addresses (so `ping` works)
// without lwIP: builds the reply packet from the request. Pure; any thread.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "netstack/ip_check.hpp"

namespace tf::netstack {

/// echo_result says what make_echo_reply found.
enum class echo_result : uint8_t {
  reply,        // `out` holds the reply packet
  not_echo,     // another ICMP type: ignore it
  bad_message,  // shorter than an ICMP header or a wrong ICMP checksum
};

/// make_echo_reply turns a validated ICMP(v6) packet `pkt` (described by `v`)
/// that is an echo request into its echo reply in `out` (source and
/// destination swapped, same identifier, sequence and data).
echo_result make_echo_reply(const ip_view& v, std::span<const uint8_t> pkt,
                            std::vector<uint8_t>& out);

} // namespace tf::netstack
