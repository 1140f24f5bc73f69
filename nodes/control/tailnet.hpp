// SPDX-License-Identifier: Apache-2.0
// tailnet: the coordination server's model of its one tailnet: nodes
// (loaded from and written through to control_db), registration rules,
// MagicDNS names, address allocation, ephemeral-node expiry, and the change
// set that the next delta will carry. No I/O besides the database and no
// actors: the control_server broker owns one tailnet and calls it.
//
// Costs: registering, removing or patching one node is O(1) plus the
// database write; a delta is O(changes) to build and is shared by every
// session; only a full map (one per new stream) is O(nodes).
#pragma once

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nodes/control/control_db.hpp"
#include "runtime/result.hpp"
#include "runtime/tailnet_addr.hpp"
#include "runtime/wire.hpp"

namespace tf::control {

/// tagged_devices_user_id owns every tagged node (as Tailscale's
/// "tagged-devices" placeholder user).
inline constexpr wire::user_id tagged_devices_user_id = 1'000'000'000'000ull;

struct tailnet_options {
  std::string domain = "tailnet.internal";
  std::chrono::milliseconds ephemeral_timeout{60'000};
};

/// change_set is what changed since the last delta went out.
struct change_set {
  absl::flat_hash_set<wire::node_id> upserted;
  absl::flat_hash_set<wire::node_id> removed;
  absl::flat_hash_map<wire::node_id, bool> online;
  absl::flat_hash_set<wire::node_id> endpoints;  // sent as peer patches

  bool empty() const noexcept {
    return upserted.empty() && removed.empty() && online.empty() && endpoints.empty();
  }
  bool touches(wire::node_id id) const {
    return upserted.contains(id) || removed.contains(id) || online.contains(id)
           || endpoints.contains(id);
  }
};

/// wireguard_only_spec describes a WireGuard-only node (Tailscale's
/// IsWireGuardOnly, e.g. a Mullvad exit node): a plain WireGuard peer an
/// admin registers by key and endpoints. It never opens a control session.
struct wireguard_only_spec {
  uint64_t user_id = 0;                // an existing user
  std::string hostname;                // non-empty; the MagicDNS name derives from it
  node_public_key node_key;            // its WireGuard public key (unique, non-zero)
  std::vector<ip_endpoint> endpoints;  // where its WireGuard listens (non-empty)
  std::optional<ip_addr> ipv4;         // its tunnel address; nothing: allocate
};

/// is_wireguard_only tells a WireGuard-only node (no machine key: it never
/// connects to control) from a normal one.
inline bool is_wireguard_only(const db_node& n) noexcept {
  return n.machine.is_zero();
}

class tailnet {
public:
  /// registration is the outcome of one register_request.
  struct registration {
    wire::register_response response;
    wire::node_id node = 0;   // 0 unless a live node now owns the key
    bool deleted = false;     // an ephemeral node logged out and is gone
  };

  /// open loads every node of `db` (which must outlive the tailnet) and the
  /// server's machine key (created on first use).
  static result<std::unique_ptr<tailnet>> open(control_db& db, tailnet_options opts,
                                               int64_t now_ms);

  const machine_private_key& server_key() const noexcept { return server_key_; }
  const tailnet_options& options() const noexcept { return opts_; }

  // -- registration and node lifecycle --------------------------------------

  registration register_node(const machine_public_key& machine,
                             const wire::register_request& req, int64_t now_ms);

  /// node_for_key finds the live node registered with `key` (0 if none).
  wire::node_id node_for_key(const node_public_key& key) const;

  /// set_online records a map stream starting or ending.
  void set_online(wire::node_id id, bool online, int64_t now_ms);

  /// update_endpoints stores a node's new endpoints and hostinfo.
  result<void> update_endpoints(wire::node_id id, const std::vector<ip_endpoint>& endpoints);

  /// add_wireguard_only registers a WireGuard-only node: authorized, not
  /// ephemeral, always online, persisted, announced in the next delta.
  /// Errors (each counted): bad_key for a zero or already registered key;
  /// invalid_argument for an unknown user, an empty hostname, no or bad
  /// endpoints, or an address outside the tailnet range or taken.
  result<db_node> add_wireguard_only(const wireguard_only_spec& spec, int64_t now_ms);

  /// delete_node removes a node for good (admin, logout, expiry).
  result<void> delete_node(wire::node_id id);

  /// authorize approves a node registered with a non-preauthorized key.
  result<void> authorize(wire::node_id id);

  /// expired_ephemerals lists ephemeral nodes offline for longer than the
  /// ephemeral timeout (cost: the number of offline ephemeral nodes).
  std::vector<wire::node_id> expired_ephemerals(int64_t now_ms) const;

  // -- maps -------------------------------------------------------------------

  /// full_map is the first message of `viewer`'s map stream (O(nodes)).
  wire::map_response full_map(wire::node_id viewer, int64_t now_ms) const;

  /// pending is the change set of the next delta.
  const change_set& pending() const noexcept { return pending_; }

  /// delta_for builds the delta of the pending changes as `viewer` sees it
  /// (its own node arrives as `self`, never as a peer).
  wire::map_response delta_for(wire::node_id viewer, uint64_t seq, int64_t now_ms) const;

  /// shared_delta builds the delta for every authorized viewer the change
  /// set does not touch; it is encoded once and sent to all of them.
  wire::map_response shared_delta(uint64_t seq, int64_t now_ms) const;

  void clear_pending() { pending_ = change_set{}; }

  // -- admin --------------------------------------------------------------------

  result<db_user> create_user(const std::string& login, const std::string& display);
  result<db_user> user_by_login(const std::string& login);
  std::vector<db_user> users() const;
  const db_node* find(wire::node_id id) const;
  std::vector<const db_node*> nodes() const;
  bool is_online(wire::node_id id) const;
  bool is_authorized(wire::node_id id) const {
    auto n = find(id);
    return n && n->authorized;
  }
  control_db& db() noexcept { return db_; }

  /// to_wire renders a node as its peers see it.
  wire::node to_wire(const db_node& n) const;

private:
  struct live {
    db_node row;
    bool online = false;
  };

  tailnet(control_db& db, tailnet_options opts);

  registration refuse(errc code, std::string why) const;
  registration accepted(const db_node& row) const;
  registration enroll(const machine_public_key& machine, const wire::register_request& req,
                      const live* existing, int64_t now_ms);
  registration logout(live& n, int64_t now_ms);
  std::string unique_name(const std::string& hostname, wire::node_id owner) const;
  wire::user_profile profile_of(const db_node& n) const;
  bool visible(const db_node& n) const noexcept { return !n.logged_out && n.authorized; }
  void forget(wire::node_id id);

  control_db& db_;
  tailnet_options opts_;
  machine_private_key server_key_;
  address_allocator addrs_;
  absl::flat_hash_map<wire::node_id, live> nodes_;
  absl::flat_hash_map<node_public_key, wire::node_id> by_key_;
  absl::flat_hash_set<std::string> names_;
  absl::flat_hash_map<wire::user_id, db_user> users_;
  absl::flat_hash_map<wire::node_id, int64_t> offline_ephemerals_;  // since (ms)
  change_set pending_;
};

} // namespace tf::control
