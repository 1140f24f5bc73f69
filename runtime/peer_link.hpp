// SPDX-License-Identifier: Apache-2.0
// peer_link: how one node's peer-map shards feed its data path (the tunnel)
// without the data path ever walking the netmap. The tunnel asks the shards
// to resolve an address or key; the owning shard answers through the link
// and marks the peer active; from then on, and only for active peers, every
// change or removal the shard applies is pushed through the link, in the
// shard's order. Shard actors call the shard side, the tunnel thread the
// data-path side; the sink must not block (it queues).
#pragma once

#include <functional>
#include <mutex>

#include <absl/container/flat_hash_set.h>

#include "runtime/peer_record.hpp"
#include "runtime/wire.hpp"

namespace tf {

/// link_event is one message from a shard to the data path.
struct link_event {
  enum class kind : uint8_t {
    answer,   // reply to resolve request `request` (rec null: this shard missed)
    changed,  // active peer `id` has a new record
    removed,  // active peer `id` left the netmap (rec null)
  };
  kind what = kind::answer;
  uint64_t request = 0;
  wire::node_id id = 0;
  peer_ref rec;
};

/// peer_link is shared (std::shared_ptr) by a node's shards and its tunnel.
class peer_link {
public:
  using sink = std::function<void(link_event)>;

  explicit peer_link(sink s) : sink_(std::move(s)) {}

  // -- shard side (any shard actor) -------------------------------------------------

  /// answer replies to resolve request `request`; a hit activates the peer.
  void answer(uint64_t request, peer_ref rec);

  /// upserted reports a new record of a peer if it is active (O(1)).
  void upserted(const peer_ref& rec);

  /// removed reports a removal if the peer is active (and deactivates it).
  void removed(wire::node_id id);

  // -- data-path side -----------------------------------------------------------------

  /// forget deactivates a peer the data path no longer talks to.
  void forget(wire::node_id id);

  /// close stops all further events (the node left the data path).
  void close();

  size_t num_active() const;

private:
  mutable std::mutex mu_;
  absl::flat_hash_set<wire::node_id> active_;  // guarded by mu_
  sink sink_;                                  // guarded by mu_; empty once closed
};

} // namespace tf
