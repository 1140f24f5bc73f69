// SPDX-License-Identifier: Apache-2.0
// The node actor's state and the helpers its two source files share
// (node.cpp: lifecycle; node_queries.cpp: fan-out queries). Private to
// actors/; only the node actor touches a node_actor_state.
#pragma once

#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <optional>
#include <vector>

#include "actors/node.hpp"
#include "actors/peer_shard.hpp"
#include "runtime/ipn_state.hpp"
#include "runtime/node_state.hpp"

namespace tf::actors {

struct node_actor_state {
  static inline const char* name = "tf.node";

  node_config cfg;
  state_inputs facts;
  ipn_state state = ipn_state::no_state;
  std::optional<node_state> persisted;   // machine key and enrollment
  node_private_key node_key;
  std::optional<node_private_key> old_node_key;
  bool use_auth_key = false;
  std::vector<peer_shard_actor> shards;
  std::vector<std::shared_ptr<credit_window>> credits;  // session -> shard
  bus_actor bus;
  caf::actor session;
  node_ptr self_node;
  std::string domain;
  wire::dns_config dns;
  std::string last_error;
  bool fatal = false;
  errc fatal_code = errc::ok;
  bool closing = false;
  size_t num_peers = 0;  // as of the last full netmap
  // Data plane: set while attached to cfg.tunnel with these addresses.
  uint64_t stack_id = 0;
  ip_addr attached_v4;
  ip_addr attached_v6;
  std::vector<caf::typed_response_promise<bus::status>> up_waiters;
};

using node_pointer = node_actor::stateful_pointer<node_actor_state>;

/// make_status summarises the node (num_peers as of the last full map).
bus::status make_status(const node_actor_state& st);

/// status_with_peer_count answers a status request with the shards' count.
caf::result<bus::status> status_with_peer_count(node_pointer self);

/// lookup_peer asks the one owning shard (by id) or every shard (by address,
/// key or name; the hit with the newest generation wins).
caf::result<peer_hit> lookup_peer(node_pointer self, peer_query q);

/// netmap_snapshot assembles the whole netmap (O(peers); on request only).
caf::result<bus::netmap_snapshot> netmap_snapshot(node_pointer self);

/// sync_data_plane attaches the node to its tunnel once it has addresses,
/// re-attaches when they change, and detaches when closing.
void sync_data_plane(node_pointer self);

/// resolve_for_tunnel fans a tunnel's lookup out to the shards (they answer
/// through the peer_link).
void resolve_for_tunnel(node_pointer self, const tunnel::resolve_request& req);

/// shard_statistics collects every shard's counters.
caf::result<std::vector<shard_stats>> shard_statistics(node_pointer self);

} // namespace tf::actors
