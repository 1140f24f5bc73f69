// SPDX-License-Identifier: Apache-2.0
// The node actor: one per embedded node (nodes/server.hpp's server). It owns
// the node's lifecycle and backend state (NoState ... Running), its
// persisted identity, its control session, its K peer-map shards and its
// bus. Queries that need peers fan out to the shards (O(K), never O(peers)
// except snapshots). Only the node actor touches its state.
#pragma once

#include <caf/typed_actor.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "actors/atoms.hpp"
#include "actors/bus.hpp"
#include "actors/messages.hpp"
#include "actors/tunnel/tunnel.hpp"
#include "runtime/control_url.hpp"
#include "runtime/state_store.hpp"

namespace tf::actors {

/// node_config is a node's resolved options (nodes/server.hpp resolves
/// defaults and environment variables). Fixed once the node starts.
struct node_config {
  std::string hostname;
  bool ephemeral = false;
  std::string auth_key;            // already resolved from the environment
  bool force_login = false;        // TSNET_FORCE_LOGIN=1
  std::string control_url;
  std::optional<machine_public_key> control_key;  // pinned server key
  std::vector<std::string> advertise_tags;
  std::shared_ptr<state_store> store;
  std::shared_ptr<spdlog::logger> user_log;  // auth URL, status
  std::shared_ptr<spdlog::logger> log;       // backend details
  size_t num_shards = 2;
  std::chrono::milliseconds logout_timeout{5000};
  std::chrono::milliseconds control_timeout{10000};
  /// tunnel carries the node's packets (null: no data plane). The node
  /// reports its endpoints to control and attaches once it has addresses.
  std::shared_ptr<tunnel::udp_tunnel> tunnel;
  bool in_memory_peers = true;  // see tunnel::node_binding
};

/// resolved_control carries the outcome of the control-URL lookup.
struct resolved_control {
  result<control_endpoint> endpoint = make_error(errc::internal);
};

using node_actor = caf::typed_actor<
  caf::replies_to<up_atom>::with<bus::status>,
  caf::replies_to<close_atom>::with<bool>,
  caf::replies_to<status_atom>::with<bus::status>,
  caf::replies_to<lookup_atom, peer_query>::with<peer_hit>,
  caf::replies_to<snapshot_atom>::with<bus::netmap_snapshot>,
  caf::replies_to<watch_atom, watch_request>::with<uint64_t>,
  caf::reacts_to<unwatch_atom, uint64_t>,
  caf::reacts_to<control_atom, control_event>,
  caf::reacts_to<key_atom, resolved_control>,
  caf::reacts_to<await_atom, wire::node_id, caf::actor>,
  caf::reacts_to<resolve_atom, tunnel::resolve_request>,
  caf::replies_to<dataplane_atom>::with<uint64_t>,
  caf::replies_to<stats_atom>::with<std::vector<shard_stats>>>;

/// spawn_node starts a node; it begins loading state and joining at once.
node_actor spawn_node(caf::actor_system& sys, node_config cfg);

} // namespace tf::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::actors::resolved_control)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::tunnel::resolve_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::bus::netmap_snapshot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<tf::actors::shard_stats>)
