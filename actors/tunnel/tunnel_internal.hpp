// SPDX-License-Identifier: Apache-2.0
// udp_tunnel::impl: the tunnel's state. The inbox (guarded by its mutex) is
// written by any thread; everything else belongs to the I/O thread alone.
// Private to actors/tunnel/*.cpp.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "actors/tunnel/tunnel.hpp"
#include "actors/tunnel/udp_socket.hpp"
#include "runtime/wg/device.hpp"
#include "runtime/wg/handshake_guard.hpp"

namespace tf::tunnel {

/// peer_slot is one peer a node talks to: a WireGuard session, or an
/// in-process node reached in memory (local != 0).
struct peer_slot {
  wire::node_id id = 0;
  peer_ref rec;
  node_public_key key;
  std::vector<ip_endpoint> candidates;  // as control reported them
  std::optional<ip_endpoint> endpoint;  // confirmed by an authentic datagram
  netstack::node_id local = 0;
  wg::session* session = nullptr;
};

/// pending_resolve is a lookup in flight and what waits for it.
struct pending_resolve {
  size_t answers_left = 0;
  bool by_key = false;
  ip_addr addr;
  node_public_key key;
  peer_ref hit;
  std::vector<std::vector<uint8_t>> packets;                         // outbound
  std::vector<std::pair<std::vector<uint8_t>, ip_endpoint>> initiations;  // inbound
};

/// direct_routes are a node's in-process peers by address: the node's
/// netstack sink hands their packets over on the sending thread, without a
/// hop through the tunnel thread. Guarded by the netstack core lock (the
/// sink always runs under it).
struct direct_routes {
  absl::flat_hash_map<ip_addr, netstack::node_id> to;
};

/// node_slot is one attached node.
struct node_slot {
  netstack::node_id id = 0;
  node_binding binding;
  std::shared_ptr<peer_link> link;
  std::shared_ptr<direct_routes> routes;
  std::unique_ptr<wg::device> dev;
  absl::flat_hash_map<wire::node_id, std::unique_ptr<peer_slot>> peers;
  absl::flat_hash_map<ip_addr, peer_slot*> by_addr;
  absl::flat_hash_map<node_public_key, peer_slot*> by_key;
  absl::flat_hash_map<uint64_t, pending_resolve> pending;
  absl::flat_hash_map<ip_addr, uint64_t> resolving_addr;
  absl::flat_hash_map<node_public_key, uint64_t> resolving_key;
  absl::flat_hash_map<ip_addr, wg::time_point> unknown_until;  // negative cache
};

struct outbound_packet {
  netstack::node_id node = 0;
  std::vector<uint8_t> bytes;
};

struct link_item {
  netstack::node_id node = 0;
  link_event ev;
};

/// inbox is what other threads hand the I/O thread.
struct inbox {
  std::mutex mu;
  std::vector<outbound_packet> packets;
  std::vector<link_item> links;
  std::vector<std::function<void()>> commands;
  std::vector<std::function<void()>> late_commands;  // run after the packets
  bool wake_pending = false;
};

struct udp_tunnel::impl {
  udp_socket sock;
  int epoll_fd = -1;
  int wake_fd = -1;
  std::thread io;
  std::atomic<bool> stopping{false};
  std::atomic<bool> free_on_exit{false};  // the udp_tunnel is gone: delete self
  inbox in;

  // -- I/O thread only --------------------------------------------------------------
  std::shared_ptr<wg::index_table> indices = std::make_shared<wg::index_table>();
  // Handshake floods: the load state is the thread's (it does every node's
  // handshakes), and so is the limiter every device asks while under load.
  wg::handshake_load load;
  wg::handshake_rate_limiter limiter;
  bool under_load = false;
  absl::flat_hash_map<netstack::node_id, std::unique_ptr<node_slot>> nodes;
  absl::flat_hash_map<const wg::device*, node_slot*> owner_of;
  uint64_t next_request = 1;
  tunnel_stats counts;
  // Scratch reused by every round (capacity kept): what drain_inbox took
  // from the inbox, and the datagrams of one receive.
  struct {
    std::vector<outbound_packet> packets;
    std::vector<link_item> links;
    std::vector<std::function<void()>> commands;
    std::vector<std::function<void()>> late_commands;
  } drained;
  std::vector<datagram> rx_datagrams;
  // Per-round batches, flushed at the end of each round.
  std::vector<outgoing> tx;
  std::vector<std::vector<uint8_t>> hold;          // owns the bytes below
  std::vector<netstack::inbound_packet> to_stack;  // decrypted or local

  ~impl();

  // -- any thread (tunnel.cpp) --------------------------------------------------------
  void wake();
  void post(std::function<void()> cmd, bool after_packets = false);
  void push_packet(netstack::node_id node, std::span<const uint8_t> pkt);
  void push_link(netstack::node_id node, link_event ev);

  // -- I/O thread (tunnel.cpp) -------------------------------------------------------
  void run();
  void drain_inbox();
  void receive_all();
  void flush();
  void add_node_slot(std::unique_ptr<node_slot> n);
  void remove_node_slot(netstack::node_id id);

  // -- I/O thread: packet paths (tunnel_paths.cpp) -----------------------------------
  void send_from(node_slot& n, std::vector<uint8_t>&& pkt, wg::time_point now);
  void to_peer(node_slot& n, peer_slot& p, std::vector<uint8_t>&& pkt, wg::time_point now);
  void handle_actions(node_slot& n, peer_slot* p, wg::actions& a);
  void deliver_in(node_slot& n, peer_slot& p, std::vector<uint8_t>&& pkt);
  void on_datagram(const datagram& d, wg::time_point now);
  void note_handshake(wg::time_point now);
  void on_link(node_slot& n, link_event& ev, wg::time_point now);
  void complete(node_slot& n, uint64_t request, pending_resolve& pr, wg::time_point now);
  peer_slot* ensure_peer(node_slot& n, const peer_ref& rec);
  void remove_peer(node_slot& n, wire::node_id id);
  void tick(wg::time_point now);
};

/// local_nodes is the process-wide registry of attached nodes by public
/// key: how a tunnel recognises an in-process peer. Any thread.
void register_local(const node_public_key& key, netstack::node_id id);
void unregister_local(const node_public_key& key, netstack::node_id id);
netstack::node_id find_local(const node_public_key& key);

} // namespace tf::tunnel
