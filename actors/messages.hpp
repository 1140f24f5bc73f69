// SPDX-License-Identifier: Apache-2.0
// The values that travel between tailfleet's actors (besides atoms). They
// never leave the process, so they are declared safe-for-local-use with
// CAF_ALLOW_UNSAFE_MESSAGE_TYPE instead of being made serializable. Every
// field is immutable data or a counted reference to immutable data.
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/bus_types.hpp"
#include "runtime/map_plan.hpp"
#include "runtime/peer_link.hpp"
#include "runtime/peer_record.hpp"
#include "runtime/result.hpp"
#include "runtime/wire.hpp"

namespace tf::actors {

using profile_ptr = std::shared_ptr<const wire::user_profile>;
using node_ptr = std::shared_ptr<const wire::node>;

// -- control session -> shards --------------------------------------------

/// shard_load is one part of a shard's share of a full netmap. The parts
/// arrive in order; the last one ends the load and drops every peer the
/// map did not have. Sending parts lets shards load while the session
/// still plans the rest of a large map.
struct shard_load {
  uint64_t seq = 0;
  uint64_t gen = 0;
  size_t part = 0;                    // 0 = first part: size the tables
  bool last = false;
  size_t expected = 0;                // peers this shard will get in all
  std::vector<peer_ref> peers;
  std::vector<profile_ptr> profiles;  // the users of these peers
};

/// shard_delta is one shard's share of the delta map responses that
/// arrived in one read, in order (one batch per response).
struct shard_delta {
  uint64_t seq = 0;                   // of the last response
  std::vector<shard_batch> batches;
  std::vector<profile_ptr> profiles;  // new or changed, and the upserts' users
};

// -- lookups ----------------------------------------------------------------

/// peer_query looks one peer up by exactly one of its keys.
struct peer_query {
  enum class by : uint8_t { id, addr, key, name };
  by kind = by::id;
  wire::node_id id = 0;
  ip_addr addr;
  node_public_key key;
  std::string name;  // FQDN or short name, lowercase, no trailing dot

  static peer_query of_id(wire::node_id v) { peer_query q; q.kind = by::id; q.id = v; return q; }
  static peer_query of_addr(ip_addr v) { peer_query q; q.kind = by::addr; q.addr = v; return q; }
  static peer_query of_key(node_public_key v) { peer_query q; q.kind = by::key; q.key = v; return q; }
  static peer_query of_name(std::string v) { peer_query q; q.kind = by::name; q.name = std::move(v); return q; }
};

/// peer_hit answers a peer_query; rec is null on a miss.
struct peer_hit {
  peer_ref rec;
  uint64_t gen = 0;
  profile_ptr user;
};

/// shard_stats are one shard's counters (tests, benchmarks, status).
struct shard_stats {
  size_t num_peers = 0;
  size_t index_bytes = 0;
  size_t record_bytes = 0;
  uint64_t full_loads = 0;
  uint64_t deltas_applied = 0;
  uint64_t upserts = 0;
  uint64_t removes = 0;
  uint64_t patches = 0;
  uint64_t unknown_ids = 0;
  uint64_t evictions_skipped = 0;
  uint64_t notifies_sent = 0;
  size_t num_watchers = 0;
  size_t num_profiles = 0;
};

// -- bus ----------------------------------------------------------------------

/// initial_header is the bus's part of a watcher's first notify; the
/// watcher waits for `parts_expected` shard parts before delivering it.
struct initial_header {
  bus::notify first;
  size_t parts_expected = 0;
};

/// initial_part is one shard's peers for a first notify's netmap.
struct initial_part {
  std::vector<peer_ref> peers;
  std::vector<profile_ptr> profiles;
  uint64_t watcher_id = 0;  // the bus's id of the watcher it is for
};

/// node_view is what the bus needs to build a first notify.
struct node_view {
  ipn_state state = ipn_state::no_state;
  node_ptr self;
  std::string domain;
  wire::dns_config dns;
  std::shared_ptr<const bus::status> status;
};

// -- control session -> node --------------------------------------------------

/// control_event tells the node what its control session saw.
struct control_event {
  enum class kind : uint8_t {
    connected,        // channel up, registering
    registered,       // register_response ok (reg is set)
    fatal,            // registration refused or protocol error (err is set)
    netmap,           // full netmap applied to the shards (self/domain/dns set)
    self_changed,     // a delta carried a new self node
    disconnected,     // connection lost; the session retries (err is set)
    logged_out,       // logout confirmed
  };
  kind what = kind::connected;
  wire::register_response reg;
  failure err;
  node_ptr self;
  std::string domain;
  std::optional<wire::dns_config> dns;
  size_t num_peers = 0;
};

// -- actor face of netstack connections --------------------------------------

/// net_listener_stats describes a listener actor (tests, status).
struct net_listener_stats {
  size_t unaccepted = 0;  // accept requests sent to the owner, not yet answered
  size_t queued = 0;      // connections waiting in the netstack accept queue
  uint64_t accepted = 0;  // accept requests the owner answered
};

} // namespace tf::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::actors::net_listener_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::actors::shard_load)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<tf::peer_link>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::actors::shard_delta)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::actors::peer_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::actors::peer_hit)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::actors::shard_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::actors::initial_header)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::actors::initial_part)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::actors::node_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::actors::control_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::bus::notify)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::bus::status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::bus::interest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::peer_ref)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<tf::peer_ref>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<tf::actors::profile_ptr>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::ip_addr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::failure)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::wire::node)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::wire::map_response)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<tf::wire::map_response>)
