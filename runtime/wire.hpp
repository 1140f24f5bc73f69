// SPDX-License-Identifier: Apache-2.0
// The control protocol's messages, as plain structs. Encoded as msgpack
// arrays (field order is the wire contract; append fields, never reorder)
// inside length-prefixed frames, inside the Noise channel. Plain values; any
// thread. The codec is runtime/wire_codec.hpp.
//
// Semantics follow Tailscale's tailcfg: the first map_response of a stream is
// complete (self + peers + dns + domain + profiles); later ones are deltas
// (peers_changed, peers_removed, peers_changed_patch, online_change,
// peer_seen_change). A zero/empty/absent field means "unchanged".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/errc.hpp"
#include "runtime/ip.hpp"
#include "runtime/keys.hpp"

namespace tf::wire {

/// protocol_version is the version this build speaks. A peer speaking
/// another version is refused with errc::unsupported_version.
inline constexpr uint16_t protocol_version = 1;

using node_id = uint64_t;
using user_id = uint64_t;

/// hostinfo is what a node says about itself.
struct hostinfo {
  std::string hostname;
  std::string os;
  std::vector<std::string> request_tags; // sorted, deduplicated "tag:x"

  friend bool operator==(const hostinfo&, const hostinfo&) = default;
};

/// node is one tailnet member as the coordination server describes it.
struct node {
  node_id id = 0;
  std::string stable_id;               // "n" + opaque, stable across renames
  std::string name;                    // MagicDNS FQDN, no trailing dot
  node_public_key key;                 // WireGuard public key
  machine_public_key machine;          // control-channel identity
  int64_t key_expiry = 0;              // unix seconds; 0 = never (tagged)
  std::vector<ip_prefix> addresses;    // one /32 and one /128
  std::vector<ip_prefix> allowed_ips;  // empty = same as addresses
  std::vector<ip_endpoint> endpoints;  // where its WireGuard UDP listens
  user_id user = 0;
  std::vector<std::string> tags;       // non-empty = tagged node
  std::string hostname;                // from its hostinfo
  int64_t created = 0;                 // unix seconds
  std::optional<bool> online;          // absent = unknown
  int64_t last_seen = 0;               // unix seconds; 0 = unknown
  bool machine_authorized = true;

  friend bool operator==(const node&, const node&) = default;
};

/// user_profile describes the owner of nodes. Tagged nodes are owned by the
/// placeholder user "tagged-devices".
struct user_profile {
  user_id id = 0;
  std::string login_name;
  std::string display_name;
  std::string profile_pic_url;

  friend bool operator==(const user_profile&, const user_profile&) = default;
};

/// dns_config carries MagicDNS settings.
struct dns_config {
  bool magic_dns = true;
  std::vector<std::string> resolvers;
  std::vector<std::string> search_domains;
  std::vector<std::string> cert_domains;

  friend bool operator==(const dns_config&, const dns_config&) = default;
};

/// peer_change is a narrow patch of one known peer. Absent fields are
/// unchanged. A patch for an unknown node id is ignored (and counted).
struct peer_change {
  node_id id = 0;
  std::optional<std::vector<ip_endpoint>> endpoints;
  std::optional<bool> online;
  std::optional<int64_t> last_seen;
  std::optional<node_public_key> key;
  std::optional<int64_t> key_expiry;

  friend bool operator==(const peer_change&, const peer_change&) = default;
};

/// register_request enrolls a node key (with an auth key), re-authenticates a
/// known node key, or logs out (expiry in the past).
struct register_request {
  uint16_t version = protocol_version;
  node_public_key node_key;
  node_public_key old_node_key;  // zero unless rotating keys
  std::string auth_key;
  bool ephemeral = false;
  int64_t expiry = 0;            // 0 = server default; in the past = logout
  hostinfo host;

  friend bool operator==(const register_request&, const register_request&) = default;
};

/// register_response answers a register_request. A non-ok error_code means
/// failure and the other fields are meaningless.
struct register_response {
  errc error_code = errc::ok;
  std::string error;             // human-readable cause
  bool machine_authorized = false;
  bool node_key_expired = false;
  std::string auth_url;          // interactive login pending
  node_id id = 0;
  std::string stable_id;
  user_profile user;
  bool logged_out = false;       // answer to a logout

  friend bool operator==(const register_response&, const register_response&) = default;
};

/// map_request opens the map stream (stream = true) or pushes hostinfo and
/// endpoints without peers (omit_peers = true, stream = false).
struct map_request {
  uint16_t version = protocol_version;
  node_public_key node_key;
  bool stream = true;
  bool omit_peers = false;
  hostinfo host;
  std::vector<ip_endpoint> endpoints;

  friend bool operator==(const map_request&, const map_request&) = default;
};

/// map_response is one message of the map stream.
struct map_response {
  uint64_t seq = 0;
  bool keep_alive = false;
  // -- full fields ---------------------------------------------------------
  std::optional<node> self;
  std::optional<std::vector<node>> peers;   // present = complete peer list
  std::optional<dns_config> dns;
  std::string domain;                       // tailnet name; "" = unchanged
  // -- delta fields --------------------------------------------------------
  std::vector<node> peers_changed;          // upserts, sorted by id
  std::vector<node_id> peers_removed;
  std::vector<peer_change> peers_changed_patch;
  std::vector<std::pair<node_id, bool>> online_change;
  std::vector<std::pair<node_id, bool>> peer_seen_change; // true = seen now
  // -- either --------------------------------------------------------------
  std::vector<user_profile> user_profiles;  // new or changed only
  int64_t control_time = 0;                 // server clock, unix ms

  /// is_full reports whether this response replaces the peer set.
  bool is_full() const noexcept { return peers.has_value(); }

  friend bool operator==(const map_response&, const map_response&) = default;
};

/// control_error is sent by the server before it closes a session.
struct control_error {
  errc code = errc::internal;
  std::string message;

  friend bool operator==(const control_error&, const control_error&) = default;
};

/// client_hello and server_hello are the payloads of the Noise handshake.
struct client_hello {
  uint16_t version = protocol_version;
  friend bool operator==(const client_hello&, const client_hello&) = default;
};
struct server_hello {
  uint16_t version = protocol_version;
  errc error_code = errc::ok;  // unsupported_version: the client must stop
  friend bool operator==(const server_hello&, const server_hello&) = default;
};

/// message is any frame payload of the established channel.
using message = std::variant<register_request, register_response, map_request,
                             map_response, control_error>;

/// message_kind is the first element of every encoded message.
enum class message_kind : uint8_t {
  register_request = 1,
  register_response = 2,
  map_request = 3,
  map_response = 4,
  control_error = 5,
};

} // namespace tf::wire
