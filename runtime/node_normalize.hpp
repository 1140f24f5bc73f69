// SPDX-License-Identifier: Apache-2.0
// Checks and canonicalises a wire::node from control before it becomes a
// peer_record: bounded sizes, lowercase name without trailing dot, addresses
// ordered v4, v6, rest, tags sorted and unique. Pure function; any thread.
#pragma once

#include "runtime/result.hpp"
#include "runtime/wire.hpp"

namespace tf {

/// peer_limits bounds what one peer may carry.
struct peer_limits {
  static constexpr size_t max_name_len = 253;
  static constexpr size_t max_string_len = 256;
  static constexpr size_t max_endpoints = 64;
  static constexpr size_t max_prefixes = 1024;
  static constexpr size_t max_tags = 64;
};

/// normalize_node canonicalises `n` in place; errc::malformed_message (and
/// the counter peer_rejected_invalid) if it breaks a limit or has id 0.
result<void> normalize_node(wire::node& n);

/// lowercase_name returns `name` lowercased without one trailing dot.
std::string lowercase_name(std::string_view name);

/// magic_dns_fqdn returns the FQDN a name lookup means: `name` lowercased
/// without its trailing dot, and a single label (a short name) completed
/// with the tailnet's MagicDNS suffix `suffix` (as Tailscale's name index:
/// short names exist only for peers in that suffix). Unchanged if `suffix`
/// is empty.
std::string magic_dns_fqdn(std::string_view name, std::string_view suffix);

} // namespace tf
