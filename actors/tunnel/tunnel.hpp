// SPDX-License-Identifier: Apache-2.0
// udp_tunnel: the WireGuard data plane of the nodes behind one UDP socket.
// One I/O thread per tunnel owns the socket, every attached node's
// wg::device (sharing one receiver-index table) and the per-node map of the
// few peers that node talks to; nothing else touches them. Other threads
// talk to it through a queue: netstack output sinks (any thread, core lock
// held), peer_link events from the shards, attach/detach from node actors.
// It is a thread and not a CAF actor because every packet would otherwise be
// a message and a scheduler hand-off (see README, "Data plane").
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "netstack/stack.hpp"
#include "runtime/ip.hpp"
#include "runtime/keys.hpp"
#include "runtime/peer_link.hpp"
#include "runtime/result.hpp"

namespace tf::tunnel {

/// resolve_request asks a node's shards for the peer with an address (a
/// packet is waiting for it) or a key (its initiation is waiting). The
/// shards answer through the node's peer_link: one answer per shard.
struct resolve_request {
  uint64_t id = 0;
  bool by_key = false;
  ip_addr addr;
  node_public_key key;
};

/// node_binding attaches one node to a tunnel.
struct node_binding {
  node_private_key key;
  ip_addr v4;
  ip_addr v6;  // optional
  /// resolve is called on the tunnel thread; it must only queue the request
  /// (e.g. send it to the node actor), never block.
  std::function<void(const resolve_request&)> resolve;
  /// answers_per_request is how many link answers one request gets (the
  /// node's shard count).
  size_t answers_per_request = 1;
  /// in_memory_peers: packets to another node of this process skip the
  /// cipher and the socket (both ends share one address space). Off: they
  /// take the WireGuard path like any remote peer (tests, benchmarks).
  bool in_memory_peers = true;
};

/// attachment is what attach() gives the node back.
struct attachment {
  netstack::node_id stack_id = 0;    // the node in the shared lwIP stack
  std::shared_ptr<peer_link> link;   // give to every shard (link_atom)
};

/// tunnel_stats are a tunnel's numbers (tests, status).
struct tunnel_stats {
  size_t nodes = 0;
  size_t sessions = 0;       // WireGuard sessions (remote peers)
  size_t local_peers = 0;    // in-process peers (no cipher)
  uint64_t datagrams_in = 0;
  uint64_t datagrams_out = 0;
  uint64_t packets_local = 0;  // handed over in memory
};

class udp_tunnel : public std::enable_shared_from_this<udp_tunnel> {
public:
  /// open binds a UDP socket on `port` (0: any) and starts the I/O thread.
  static result<std::shared_ptr<udp_tunnel>> open(uint16_t port);

  ~udp_tunnel();
  udp_tunnel(const udp_tunnel&) = delete;
  udp_tunnel& operator=(const udp_tunnel&) = delete;

  uint16_t port() const noexcept;

  /// local_endpoints are the addresses to report to control.
  std::vector<ip_endpoint> local_endpoints() const;

  /// attach adds a node: registers it in the netstack (its packets come
  /// here) and creates its WireGuard device on the I/O thread.
  result<attachment> attach(node_binding b);

  /// detach removes a node: its netstack node first (connections fail
  /// cleanly), then its device and sessions. Idempotent.
  void detach(netstack::node_id id);

  /// stats asks the I/O thread (blocks until it answers; not from it).
  tunnel_stats stats();

  struct impl;

private:
  explicit udp_tunnel(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// shared_tunnel returns the process-wide tunnel on an ephemeral port
/// (opened on first use; the nodes without a port of their own share it).
result<std::shared_ptr<udp_tunnel>> shared_tunnel();

} // namespace tf::tunnel
