// SPDX-License-Identifier: Apache-2.0
// socket_base: what a node owns in lwIP (connection, listener, UDP socket).
// The node table calls node_gone_locked when the node is removed. Guarded by
// the core lock; no lwIP types here so public headers can include it.
#pragma once

#include "runtime/ip.hpp"

namespace tf::netstack::detail {

struct node_state;

/// socket_base is registered with its node while it holds lwIP pcbs.
class socket_base {
public:
  virtual ~socket_base() = default;
  /// node_gone_locked frees the socket's pcbs and fails waiters with
  /// errc::closed ("node removed"). The node pointer is invalid afterwards.
  virtual void node_gone_locked() = 0;
  /// peer_gone_locked: the peer at `remote` left the tailnet; connections
  /// to it fail (errc::connection_lost). Default: nothing to do.
  virtual void peer_gone_locked(const ip_addr& remote) { (void)remote; }
  /// refuses_connections_locked: a listener with no room for another
  /// connection; IP input then drops SYNs for it (the peer retries), as
  /// Linux does while an accept queue is full. Default: false.
  virtual bool refuses_connections_locked() const { return false; }
};

} // namespace tf::netstack::detail
