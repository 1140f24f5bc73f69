// SPDX-License-Identifier: Apache-2.0
// Map building of the tailnet model: wire nodes, profiles, the full map of
// a new stream (O(nodes)) and deltas (O(changes)). Confined to the
// control_server broker.
#include "nodes/control/tailnet.hpp"

#include <algorithm>

namespace tf::control {

namespace {

void add_profile(std::vector<wire::user_profile>& out, const wire::user_profile& p) {
  for (auto& have : out)
    if (have.id == p.id)
      return;
  out.push_back(p);
}

} // namespace

wire::user_profile tailnet::profile_of(const db_node& n) const {
  wire::user_profile p;
  if (!n.tags.empty()) {
    p.id = tagged_devices_user_id;
    p.login_name = "tagged-devices";
    p.display_name = "Tagged Devices";
    return p;
  }
  p.id = n.user_id;
  if (auto i = users_.find(n.user_id); i != users_.end()) {
    p.login_name = i->second.login_name;
    p.display_name = i->second.display_name;
  }
  return p;
}

wire::node tailnet::to_wire(const db_node& n) const {
  wire::node w;
  w.id = n.id;
  w.stable_id = n.stable_id;
  w.name = n.given_name + "." + opts_.domain;
  w.key = n.node_key;
  w.machine = n.machine;
  w.key_expiry = n.key_expiry;
  if (n.ipv4.valid())
    w.addresses.push_back(ip_prefix::host(n.ipv4));
  if (n.ipv6.valid())
    w.addresses.push_back(ip_prefix::host(n.ipv6));
  w.endpoints = n.endpoints;
  w.user = n.tags.empty() ? n.user_id : tagged_devices_user_id;
  w.tags = n.tags;
  w.hostname = n.hostname;
  w.created = n.created;
  w.online = is_online(n.id);
  w.last_seen = n.last_seen;
  w.machine_authorized = n.authorized;
  return w;
}

wire::map_response tailnet::full_map(wire::node_id viewer, int64_t now_ms) const {
  wire::map_response r;
  r.control_time = now_ms;
  r.domain = opts_.domain;
  wire::dns_config dns;
  dns.magic_dns = true;
  dns.search_domains = {opts_.domain};
  auto self = nodes_.find(viewer);
  if (self != nodes_.end()) {
    r.self = to_wire(self->second.row);
    dns.cert_domains = {r.self->name};
    add_profile(r.user_profiles, profile_of(self->second.row));
  }
  r.dns = std::move(dns);
  r.peers.emplace();
  // An unauthorized node sees nobody until an admin approves it.
  if (self != nodes_.end() && !self->second.row.authorized)
    return r;
  r.peers->reserve(nodes_.size());
  for (auto& [id, n] : nodes_) {
    if (id == viewer || !visible(n.row))
      continue;
    r.peers->push_back(to_wire(n.row));
    add_profile(r.user_profiles, profile_of(n.row));
  }
  std::sort(r.peers->begin(), r.peers->end(),
            [](const wire::node& a, const wire::node& b) { return a.id < b.id; });
  return r;
}

wire::map_response tailnet::delta_for(wire::node_id viewer, uint64_t seq, int64_t now_ms) const {
  wire::map_response r;
  r.seq = seq;
  r.control_time = now_ms;
  auto self = nodes_.find(viewer);
  // Viewer 0 is the shared delta's anonymous (authorized) viewer.
  bool viewer_sees_peers = self == nodes_.end() || self->second.row.authorized;
  for (auto id : pending_.upserted) {
    auto i = nodes_.find(id);
    if (i == nodes_.end())
      continue;
    auto& row = i->second.row;
    if (id == viewer) {
      r.self = to_wire(row);
      add_profile(r.user_profiles, profile_of(row));
      continue;
    }
    if (!viewer_sees_peers)
      continue;
    if (visible(row)) {
      r.peers_changed.push_back(to_wire(row));
      add_profile(r.user_profiles, profile_of(row));
    } else {
      r.peers_removed.push_back(id); // became invisible (logged out)
    }
  }
  if (viewer_sees_peers) {
    for (auto id : pending_.removed)
      if (id != viewer)
        r.peers_removed.push_back(id);
    for (auto& [id, online] : pending_.online)
      if (id != viewer)
        r.online_change.emplace_back(id, online);
    for (auto id : pending_.endpoints) {
      auto i = nodes_.find(id);
      if (id == viewer || pending_.upserted.contains(id) || i == nodes_.end()
          || !visible(i->second.row))
        continue;
      wire::peer_change patch;
      patch.id = id;
      patch.endpoints = i->second.row.endpoints;
      r.peers_changed_patch.push_back(std::move(patch));
    }
  }
  std::sort(r.peers_changed.begin(), r.peers_changed.end(),
            [](const wire::node& a, const wire::node& b) { return a.id < b.id; });
  std::sort(r.peers_removed.begin(), r.peers_removed.end());
  std::sort(r.online_change.begin(), r.online_change.end());
  std::sort(r.peers_changed_patch.begin(), r.peers_changed_patch.end(),
            [](const wire::peer_change& a, const wire::peer_change& b) { return a.id < b.id; });
  return r;
}

wire::map_response tailnet::shared_delta(uint64_t seq, int64_t now_ms) const {
  // Node id 0 never exists: this is the delta of a viewer no change touches.
  return delta_for(0, seq, now_ms);
}

} // namespace tf::control
