// SPDX-License-Identifier: Apache-2.0
// The event bus vocabulary (Tailscale's ipn.Notify and NotifyWatchOpt):
// watch options, the interest filter, status, netmap snapshots and the
// notify message. Plain values shared read-only between actors.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/ipn_state.hpp"
#include "runtime/peer_record.hpp"
#include "runtime/result.hpp"
#include "runtime/wire.hpp"

namespace tf::bus {

/// watch_opt bits; values match Tailscale's NotifyWatchOpt where they exist.
enum watch_opt : uint32_t {
  notify_initial_state = 1u << 1,    // first notify: state (and session id)
  notify_initial_netmap = 1u << 3,   // first notify: full netmap + self
  notify_no_private_keys = 1u << 4,  // no-op: keys never leave the node
  notify_rate_limit = 1u << 8,       // refused with any peer bit (lossless)
  notify_peer_changes = 1u << 12,    // peers changed/removed + user profiles
  notify_no_netmap = 1u << 13,       // never a netmap after the first notify
  notify_initial_status = 1u << 14,  // first notify: status
  notify_peer_patches = 1u << 15,    // implies peer_changes; narrow patches
};
using watch_mask = uint32_t;

/// validate_mask refuses rate limiting combined with the lossless delta
/// bits, as Tailscale does.
result<void> validate_mask(watch_mask mask);

inline bool wants_peer_changes(watch_mask m) {
  return (m & (notify_peer_changes | notify_peer_patches)) != 0;
}

/// interest narrows a watcher to some peers: by name (an FQDN, or a short
/// name, which matches the first label of a peer's name in any suffix:
/// wider than a lookup, where a short name means the tailnet's own suffix)
/// or by tag, lowercase. Empty lists mean every peer.
struct interest {
  std::vector<std::string> peers;
  std::vector<std::string> tags;

  bool everything() const noexcept { return peers.empty() && tags.empty(); }
};

/// user_view is a user profile as WhoIs returns it.
using user_view = std::shared_ptr<const wire::user_profile>;

/// status is a node's summary (ipnstate.Status without the peer list).
struct status {
  ipn_state state = ipn_state::no_state;
  std::shared_ptr<const wire::node> self;
  std::vector<ip_addr> tailnet_ips;
  std::string magic_dns_suffix;
  size_t num_peers = 0;
  std::string auth_url;
  std::string last_error;
};

/// netmap_snapshot is a complete view, built only on request: O(peers).
struct netmap_snapshot {
  std::shared_ptr<const wire::node> self;
  std::vector<peer_ref> peers;  // sorted by node id
  std::string domain;
  wire::dns_config dns;
  std::vector<wire::user_profile> user_profiles;
};

/// notify is one bus message. Absent or empty fields are "unchanged".
struct notify {
  std::string session_id;                       // first notify only
  std::optional<ipn_state> state;
  std::optional<std::string> err_message;       // terminal when lagging
  bool login_finished = false;
  std::shared_ptr<const wire::node> self_change;
  std::shared_ptr<const netmap_snapshot> netmap;  // first notify only
  std::shared_ptr<const status> initial_status;   // first notify only
  std::vector<peer_ref> peers_changed;
  std::vector<wire::node_id> peers_removed;
  std::vector<wire::peer_change> peer_patches;
  std::vector<wire::user_profile> user_profiles;

  bool has_peer_news() const noexcept {
    return !peers_changed.empty() || !peers_removed.empty() || !peer_patches.empty();
  }
};

/// max_pending is how many notifies a watcher may have unconsumed before
/// it is closed with a terminal error.
inline constexpr int32_t max_pending = 128;

} // namespace tf::bus
