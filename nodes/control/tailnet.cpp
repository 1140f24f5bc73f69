// SPDX-License-Identifier: Apache-2.0
// Registration and node lifecycle of the tailnet model. Confined to the
// control_server broker that owns the tailnet.
#include "nodes/control/tailnet.hpp"

#include <algorithm>

#include "runtime/counters.hpp"

namespace tf::control {

namespace {

constexpr std::string_view server_key_setting = "server_machine_key";

// dns_label turns a hostname into a lowercase DNS label ([a-z0-9-], at most
// 63 characters, no leading or trailing '-').
std::string dns_label(const std::string& hostname) {
  std::string out;
  for (char c : hostname) {
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (ok)
      out += c;
    else if (!out.empty() && out.back() != '-')
      out += '-';
    if (out.size() == 63)
      break;
  }
  while (!out.empty() && out.back() == '-')
    out.pop_back();
  return out.empty() ? std::string{"node"} : out;
}

} // namespace

tailnet::tailnet(control_db& db, tailnet_options opts) : db_(db), opts_(std::move(opts)) {
}

result<std::unique_ptr<tailnet>> tailnet::open(control_db& db, tailnet_options opts,
                                               int64_t now_ms) {
  std::unique_ptr<tailnet> t{new tailnet(db, std::move(opts))};
  auto stored = db.setting(server_key_setting);
  if (!stored)
    return stored.error();
  if (*stored) {
    auto key = machine_private_key::parse(**stored);
    if (!key)
      return make_error(errc::state_corrupt, "control db: server machine key: "
                                               + key.error().message());
    t->server_key_ = *key;
  } else {
    t->server_key_ = machine_private_key::generate();
    if (auto ok = db.set_setting(server_key_setting, t->server_key_.to_string()); !ok)
      return ok.error();
  }
  auto users = db.users();
  if (!users)
    return users.error();
  for (auto& u : *users)
    t->users_.emplace(u.id, u);
  auto rows = db.nodes();
  if (!rows)
    return rows.error();
  for (auto& row : *rows) {
    if (row.ipv4.valid())
      t->addrs_.mark_used(row.ipv4);
    t->names_.insert(row.given_name);
    t->by_key_[row.node_key] = row.id;
    if (row.ephemeral)
      t->offline_ephemerals_[row.id] = now_ms; // must come back, or expire
    bool online = is_wireguard_only(row); // never connects: always online
    t->nodes_.emplace(row.id, live{std::move(row), online});
  }
  return t;
}

tailnet::registration tailnet::refuse(errc code, std::string why) const {
  TF_COUNTER("control_registrations_refused").add();
  registration out;
  out.response.error_code = code;
  out.response.error = std::move(why);
  return out;
}

tailnet::registration tailnet::accepted(const db_node& row) const {
  registration out;
  out.node = row.id;
  out.response.id = row.id;
  out.response.stable_id = row.stable_id;
  out.response.machine_authorized = row.authorized;
  out.response.user = profile_of(row);
  return out;
}

wire::node_id tailnet::node_for_key(const node_public_key& key) const {
  auto i = by_key_.find(key);
  return i == by_key_.end() ? 0 : i->second;
}

std::string tailnet::unique_name(const std::string& hostname, wire::node_id owner) const {
  auto base = dns_label(hostname);
  auto taken = [&](const std::string& name) {
    if (!names_.contains(name))
      return false;
    auto i = nodes_.find(owner);
    return i == nodes_.end() || i->second.row.given_name != name;
  };
  if (!taken(base))
    return base;
  for (int n = 1;; ++n) {
    auto candidate = base + "-" + std::to_string(n);
    if (!taken(candidate))
      return candidate;
  }
}

tailnet::registration tailnet::register_node(const machine_public_key& machine,
                                             const wire::register_request& req,
                                             int64_t now_ms) {
  if (req.version != wire::protocol_version)
    return refuse(errc::unsupported_version, "unsupported protocol version");
  if (req.node_key.is_zero())
    return refuse(errc::bad_key, "register: zero node key");
  live* existing = nullptr;
  if (auto id = node_for_key(req.node_key); id != 0)
    existing = &nodes_.at(id);
  else if (!req.old_node_key.is_zero())
    if (auto old = node_for_key(req.old_node_key); old != 0)
      existing = &nodes_.at(old);
  if (existing && existing->row.machine != machine) {
    TF_COUNTER("control_register_machine_mismatch").add();
    return refuse(errc::not_authorized, "node key belongs to another machine");
  }
  bool logout = req.expiry != 0 && req.expiry * 1000 < now_ms;
  if (logout) {
    if (!existing || existing->row.node_key != req.node_key)
      return refuse(errc::node_not_found, "logout: unknown node key");
    return this->logout(*existing, now_ms);
  }
  if (existing && !existing->row.logged_out && existing->row.node_key == req.node_key
      && req.auth_key.empty()) {
    // A known node coming back: no auth key needed.
    auto& row = existing->row;
    if (row.hostname != req.host.hostname && !req.host.hostname.empty()) {
      row.hostname = req.host.hostname;
      if (auto ok = db_.update_node(row); !ok)
        return refuse(ok.error().code, ok.error().message());
      pending_.upserted.insert(row.id);
    }
    return accepted(row);
  }
  return enroll(machine, req, existing, now_ms);
}

tailnet::registration tailnet::enroll(const machine_public_key& machine,
                                      const wire::register_request& req, const live* existing,
                                      int64_t now_ms) {
  if (req.auth_key.empty())
    return refuse(errc::auth_key_missing, "an auth key is required to join this tailnet");
  auto found = db_.preauth_key_by_secret(req.auth_key);
  if (!found)
    return refuse(found.error().code, found.error().message());
  if (!*found) {
    TF_COUNTER("control_auth_key_invalid").add();
    return refuse(errc::auth_key_invalid, "invalid auth key");
  }
  auto key = **found;
  auto now_s = now_ms / 1000;
  if (key.expiration != 0 && key.expiration <= now_s)
    return refuse(errc::auth_key_expired, "auth key expired");
  if (key.used && !key.reusable)
    return refuse(errc::auth_key_used, "auth key already used");
  for (auto& t : req.host.request_tags)
    if (std::find(key.tags.begin(), key.tags.end(), t) == key.tags.end())
      return refuse(errc::tags_not_permitted, "tag " + t + " is not granted by the auth key");
  db_node row;
  if (existing) {
    row = existing->row; // re-login or key rotation keeps id, name, addresses
    by_key_.erase(row.node_key);
  } else {
    auto v4 = addrs_.allocate();
    if (!v4)
      return refuse(v4.error().code, v4.error().message());
    row.ipv4 = *v4;
    row.ipv6 = ipv6_for(*v4);
    row.created = now_s;
  }
  row.machine = machine;
  row.node_key = req.node_key;
  row.user_id = key.user_id;
  row.hostname = req.host.hostname;
  if (row.given_name.empty())
    row.given_name = unique_name(req.host.hostname, row.id);
  row.ephemeral = req.ephemeral || key.ephemeral;
  row.tags = req.host.request_tags.empty() ? key.tags : req.host.request_tags;
  row.auth_key_id = key.id;
  row.logged_out = false;
  row.authorized = key.preauthorized;
  row.last_seen = now_s;
  if (existing) {
    if (auto ok = db_.update_node(row); !ok)
      return refuse(ok.error().code, ok.error().message());
  } else {
    auto inserted = db_.insert_node(row);
    if (!inserted) {
      addrs_.release(row.ipv4);
      return refuse(inserted.error().code, inserted.error().message());
    }
    row = std::move(*inserted);
  }
  if (!key.reusable)
    if (auto ok = db_.mark_preauth_key_used(key.id); !ok)
      return refuse(ok.error().code, ok.error().message());
  names_.insert(row.given_name);
  by_key_[row.node_key] = row.id;
  auto& slot = nodes_[row.id];
  slot.row = row;
  if (row.ephemeral && !slot.online)
    offline_ephemerals_[row.id] = now_ms;
  pending_.removed.erase(row.id);
  pending_.upserted.insert(row.id);
  TF_COUNTER("control_registrations").add();
  return accepted(row);
}

tailnet::registration tailnet::logout(live& n, int64_t now_ms) {
  registration out;
  out.response.logged_out = true;
  auto id = n.row.id;
  if (n.row.ephemeral) {
    if (auto ok = delete_node(id); !ok)
      return refuse(ok.error().code, ok.error().message());
    out.deleted = true;
    return out;
  }
  n.row.logged_out = true;
  n.row.last_seen = now_ms / 1000;
  if (auto ok = db_.update_node(n.row); !ok)
    return refuse(ok.error().code, ok.error().message());
  pending_.upserted.erase(id);
  pending_.online.erase(id);
  pending_.endpoints.erase(id);
  pending_.removed.insert(id);
  return out;
}

void tailnet::set_online(wire::node_id id, bool online, int64_t now_ms) {
  auto i = nodes_.find(id);
  if (i == nodes_.end() || i->second.online == online)
    return;
  auto& n = i->second;
  n.online = online;
  if (!online) {
    n.row.last_seen = now_ms / 1000;
    if (auto ok = db_.update_node(n.row); !ok)
      TF_COUNTER("control_db_write_failures").add();
  }
  if (n.row.ephemeral) {
    if (online)
      offline_ephemerals_.erase(id);
    else
      offline_ephemerals_[id] = now_ms;
  }
  if (visible(n.row) && !pending_.upserted.contains(id))
    pending_.online[id] = online;
}

result<void> tailnet::update_endpoints(wire::node_id id,
                                       const std::vector<ip_endpoint>& endpoints) {
  auto i = nodes_.find(id);
  if (i == nodes_.end())
    return make_error(errc::node_not_found, "node " + std::to_string(id));
  if (i->second.row.endpoints == endpoints)
    return {};
  i->second.row.endpoints = endpoints;
  if (auto ok = db_.update_node(i->second.row); !ok)
    return ok;
  if (!pending_.upserted.contains(id))
    pending_.endpoints.insert(id); // a narrow patch, not the whole node
  return {};
}

void tailnet::forget(wire::node_id id) {
  auto i = nodes_.find(id);
  if (i == nodes_.end())
    return;
  addrs_.release(i->second.row.ipv4);
  names_.erase(i->second.row.given_name);
  by_key_.erase(i->second.row.node_key);
  offline_ephemerals_.erase(id);
  nodes_.erase(i);
  pending_.upserted.erase(id);
  pending_.online.erase(id);
  pending_.endpoints.erase(id);
  pending_.removed.insert(id);
}

result<void> tailnet::delete_node(wire::node_id id) {
  if (!nodes_.contains(id))
    return make_error(errc::node_not_found, "node " + std::to_string(id));
  if (auto ok = db_.delete_node(id); !ok)
    return ok;
  forget(id);
  TF_COUNTER("control_nodes_deleted").add();
  return {};
}

result<void> tailnet::authorize(wire::node_id id) {
  auto i = nodes_.find(id);
  if (i == nodes_.end())
    return make_error(errc::node_not_found, "node " + std::to_string(id));
  if (i->second.row.authorized)
    return {};
  i->second.row.authorized = true;
  if (auto ok = db_.update_node(i->second.row); !ok)
    return ok;
  pending_.upserted.insert(id);
  return {};
}

std::vector<wire::node_id> tailnet::expired_ephemerals(int64_t now_ms) const {
  std::vector<wire::node_id> out;
  for (auto& [id, since] : offline_ephemerals_)
    if (now_ms - since >= opts_.ephemeral_timeout.count())
      out.push_back(id);
  return out;
}

result<db_user> tailnet::create_user(const std::string& login, const std::string& display) {
  auto u = db_.create_user(login, display);
  if (u)
    users_.emplace(u->id, *u);
  return u;
}

result<db_user> tailnet::user_by_login(const std::string& login) {
  auto u = db_.user_by_login(login);
  if (!u)
    return u.error();
  if (!*u)
    return make_error(errc::not_found, "no user " + login);
  return **u;
}

std::vector<db_user> tailnet::users() const {
  std::vector<db_user> out;
  for (auto& [id, u] : users_)
    out.push_back(u);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.id < b.id; });
  return out;
}

const db_node* tailnet::find(wire::node_id id) const {
  auto i = nodes_.find(id);
  return i == nodes_.end() ? nullptr : &i->second.row;
}

std::vector<const db_node*> tailnet::nodes() const {
  std::vector<const db_node*> out;
  for (auto& [id, n] : nodes_)
    out.push_back(&n.row);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->id < b->id; });
  return out;
}

bool tailnet::is_online(wire::node_id id) const {
  auto i = nodes_.find(id);
  return i != nodes_.end() && i->second.online;
}

} // namespace tf::control
