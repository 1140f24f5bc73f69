// SPDX-License-Identifier: Apache-2.0
// WireGuard-only nodes of the tailnet model (Tailscale's IsWireGuardOnly):
// registered by an admin, never connected, always reported online.
// Confined to the control_server broker that owns the tailnet. Never
// registers a node whose key, name or address another node holds.
#include "nodes/control/tailnet.hpp"

#include <algorithm>

#include "runtime/counters.hpp"

namespace tf::control {

namespace {

/// max_wireguard_only_endpoints bounds the endpoints of one node (the
/// tunnel tries at most four of them anyway).
constexpr size_t max_wireguard_only_endpoints = 16;

/// max_hostname_len bounds the stored hostname (DNS names are 255 long).
constexpr size_t max_hostname_len = 255;

bool usable(const ip_endpoint& ep) {
  auto bytes = ep.addr.bytes();
  bool unspecified = std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
  return ep.addr.valid() && !unspecified && ep.port != 0;
}

} // namespace

result<db_node> tailnet::add_wireguard_only(const wireguard_only_spec& spec, int64_t now_ms) {
  if (spec.node_key.is_zero()) {
    TF_COUNTER("control_wg_only_rejected_bad_key").add();
    return make_error(errc::bad_key, "the node key must not be zero");
  }
  if (node_for_key(spec.node_key) != 0) {
    TF_COUNTER("control_wg_only_rejected_duplicate_key").add();
    return make_error(errc::bad_key,
                      "node key " + spec.node_key.to_string() + " is already registered");
  }
  if (!users_.contains(spec.user_id)) {
    TF_COUNTER("control_wg_only_rejected_unknown_user").add();
    return make_error(errc::invalid_argument, "no user " + std::to_string(spec.user_id));
  }
  if (spec.hostname.empty() || spec.hostname.size() > max_hostname_len) {
    TF_COUNTER("control_wg_only_rejected_bad_hostname").add();
    return make_error(errc::invalid_argument, "the hostname must have 1 to 255 characters");
  }
  if (spec.endpoints.empty() || spec.endpoints.size() > max_wireguard_only_endpoints
      || !std::all_of(spec.endpoints.begin(), spec.endpoints.end(), usable)) {
    TF_COUNTER("control_wg_only_rejected_bad_endpoint").add();
    return make_error(errc::invalid_argument,
                      "a WireGuard-only node needs 1 to 16 endpoints ip:port, "
                      "each with a specific address and a non-zero port");
  }
  db_node row;
  if (spec.ipv4) {
    if (!spec.ipv4->is_v4() || !is_tailnet_ipv4(*spec.ipv4)) {
      TF_COUNTER("control_wg_only_rejected_bad_address").add();
      return make_error(errc::invalid_argument,
                        spec.ipv4->to_string()
                          + " is not a tailnet IPv4 address (100.64.0.0/10, not "
                            "100.100.100.100 nor 100.115.92.0/23)");
    }
    if (!addrs_.mark_used(*spec.ipv4)) {
      TF_COUNTER("control_wg_only_rejected_address_taken").add();
      return make_error(errc::invalid_argument,
                        spec.ipv4->to_string() + " is already assigned to another node");
    }
    row.ipv4 = *spec.ipv4;
  } else {
    auto v4 = addrs_.allocate();
    if (!v4) {
      return v4.error();
    }
    row.ipv4 = *v4;
  }
  auto now_s = now_ms / 1000;
  row.ipv6 = ipv6_for(row.ipv4);
  row.node_key = spec.node_key; // the machine key stays zero: is_wireguard_only
  row.user_id = spec.user_id;
  row.hostname = spec.hostname;
  row.given_name = unique_name(spec.hostname, 0);
  row.created = now_s;
  row.last_seen = now_s;
  row.endpoints = spec.endpoints;
  row.authorized = true;
  auto inserted = db_.insert_node(row);
  if (!inserted) {
    addrs_.release(row.ipv4);
    return inserted.error();
  }
  row = std::move(*inserted);
  names_.insert(row.given_name);
  by_key_[row.node_key] = row.id;
  nodes_[row.id] = live{row, true};
  pending_.removed.erase(row.id);
  pending_.upserted.insert(row.id);
  TF_COUNTER("control_wg_only_added").add();
  return row;
}

} // namespace tf::control
