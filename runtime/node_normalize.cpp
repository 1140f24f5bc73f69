// SPDX-License-Identifier: Apache-2.0
// Canonical form of peers from control. Pure functions.
#include "runtime/node_normalize.hpp"

#include <algorithm>

#include "runtime/counters.hpp"

namespace tf {

namespace {

result<void> reject(const wire::node& n, std::string why) {
  TF_COUNTER("peer_rejected_invalid").add();
  return make_error(errc::malformed_message,
                    "peer " + std::to_string(n.id) + ": " + std::move(why));
}

int address_rank(const ip_prefix& p) {
  if (p.addr.is_v4() && p.bits == 32)
    return 0;
  if (p.addr.is_v6() && p.bits == 128)
    return 1;
  return 2;
}

} // namespace

std::string lowercase_name(std::string_view name) {
  if (!name.empty() && name.back() == '.')
    name.remove_suffix(1);
  std::string out{name};
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string magic_dns_fqdn(std::string_view name, std::string_view suffix) {
  auto out = lowercase_name(name);
  if (!out.empty() && out.find('.') == std::string::npos && !suffix.empty()) {
    out += '.';
    out += lowercase_name(suffix);
  }
  return out;
}

result<void> normalize_node(wire::node& n) {
  if (n.id == 0)
    return reject(n, "node id 0");
  if (n.name.size() > peer_limits::max_name_len + 1)
    return reject(n, "name longer than 253 characters");
  if (n.stable_id.size() > peer_limits::max_string_len
      || n.hostname.size() > peer_limits::max_string_len)
    return reject(n, "stable id or hostname longer than 256 characters");
  if (n.endpoints.size() > peer_limits::max_endpoints)
    return reject(n, "more than 64 endpoints");
  if (n.addresses.size() > peer_limits::max_prefixes
      || n.allowed_ips.size() > peer_limits::max_prefixes)
    return reject(n, "more than 1024 addresses or allowed IPs");
  if (n.tags.size() > peer_limits::max_tags)
    return reject(n, "more than 64 tags");
  for (auto& p : n.addresses)
    if (!p.addr.valid() || p.bits > p.addr.bit_len())
      return reject(n, "invalid address " + p.to_string());
  bool canonical = n.name.empty() || n.name.back() != '.';
  for (char c : n.name)
    canonical &= !(c >= 'A' && c <= 'Z');
  if (!canonical)
    n.name = lowercase_name(n.name);
  // Keep allowed_ips meaning "same as addresses" across the reorder.
  bool allowed_same = n.allowed_ips == n.addresses;
  auto by_rank = [](const ip_prefix& a, const ip_prefix& b) {
    return address_rank(a) < address_rank(b);
  };
  // Control sends them in order; stable_sort would allocate even then.
  if (!std::is_sorted(n.addresses.begin(), n.addresses.end(), by_rank))
    std::stable_sort(n.addresses.begin(), n.addresses.end(), by_rank);
  if (allowed_same)
    n.allowed_ips.clear();
  std::sort(n.tags.begin(), n.tags.end());
  n.tags.erase(std::unique(n.tags.begin(), n.tags.end()), n.tags.end());
  return {};
}

} // namespace tf
