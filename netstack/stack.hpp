// SPDX-License-Identifier: Apache-2.0
// The process-wide lwIP stack shared by every embedded node: node
// registration and inbound packets. Any thread may call these functions
// (they take the core lock); output sinks run with the core lock held and
// must never block. Started on first use, lives until the process exits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "runtime/ip.hpp"
#include "runtime/result.hpp"

namespace tf::netstack {

/// node_id names one registered node (never reused within a process).
using node_id = uint64_t;

/// output_sink receives every IP packet a node sends (one whole IPv4 or IPv6
/// packet per call; the span is valid only during the call). It runs with
/// the core lock held, on the tcpip thread or on whichever thread drives the
/// stack: copy or encrypt the packet and return; never block, never call a
/// blocking netstack function. Calling deliver() from here is allowed (the
/// packet is queued and processed when the current stack work finishes).
using output_sink = std::function<void(std::span<const uint8_t> ip_packet)>;

/// node_options describes a node for add_node.
struct node_options {
  /// v4 is the node's IPv4 address (/32 semantics). Required.
  ip_addr v4;
  /// v6 is the node's IPv6 address (/128 semantics). Optional (invalid =
  /// none: IPv6 sockets are then refused).
  ip_addr v6;
  /// output receives the node's outbound packets. Required.
  output_sink output;
  /// in_memory_to, if set, tells whether `output` hands the node's packets
  /// to `remote` to a node of this process in memory (deliver_in_memory).
  /// A blocking conn's first write asks it once: such a peer gets lwIP's
  /// 64 KiB send buffer, not the widened one a wire needs (in memory the
  /// round trip is microseconds; see tcp_core::widen_send_buffer_locked).
  /// Called under the core lock; must not block.
  std::function<bool(const ip_addr& remote)> in_memory_to;
};

/// mtu is the IP MTU of every node (Tailscale's default): TCP MSS 1240
/// (IPv4) / 1220 (IPv6), UDP payloads up to 1252 / 1232 bytes.
inline constexpr size_t mtu = 1280;

/// add_node registers a node. Fails with invalid_argument when an address is
/// missing, of the wrong family, not unicast, or already used by another node.
result<node_id> add_node(node_options opts);

/// remove_node unregisters a node: its connections are reset (peers get an
/// RST through the node's sink), listeners and UDP sockets close, every
/// lwIP pcb with the node's addresses is freed (TIME_WAIT included), and
/// blocked callers wake up with errc::closed. not_found if unknown.
result<void> remove_node(node_id id);

/// peer_gone fails every TCP connection of node `id` whose remote address is
/// `remote` (errc::connection_lost): the peer left the tailnet, so nothing
/// would ever answer. Cost: the node's own sockets. No-op if unknown.
void peer_gone(node_id id, const ip_addr& remote);

/// deliver hands one inbound IP packet (already decrypted) to node `id`.
/// Invalid headers, foreign destinations and unknown nodes are dropped and
/// counted (netstack_rx_*), never forwarded. ICMP(v6) echo requests are
/// answered through the node's sink. The bytes are copied.
void deliver(node_id id, std::span<const uint8_t> ip_packet);

/// deliver_in_memory is deliver() for a packet that a node of this process
/// emitted (its sink handed it to a co-located node): lwIP summed its
/// TCP/UDP checksum on output in this address space, so the input check is
/// skipped (counter netstack_rx_checksum_trusted), as Linux does for
/// loopback. Never for bytes that crossed a wire or a cipher.
void deliver_in_memory(node_id id, std::span<const uint8_t> ip_packet);

/// inbound_packet is one entry of a deliver_batch call.
struct inbound_packet {
  node_id node = 0;
  std::span<const uint8_t> bytes;
};

/// deliver_batch delivers many packets under one core-lock acquisition (the
/// fast path: one lock per batch instead of per packet).
void deliver_batch(std::span<const inbound_packet> packets);

/// stack_stats counts what the stack holds right now (walks lwIP's lists:
/// for tests and status pages, not for hot paths).
struct stack_stats {
  size_t nodes = 0;
  size_t tcp_active = 0;     // connecting, open and closing pcbs (parked ones too)
  size_t tcp_parked = 0;     // idle connections kept off lwIP's active list
  size_t tcp_listen = 0;     // listening pcbs (two per dual-stack listener)
  size_t tcp_listen_closing = 0; // closed listening pcbs not yet freed (<= 100 ms)
  size_t tcp_time_wait = 0;
  size_t udp = 0;
  size_t rx_buffered = 0;    // TCP bytes received, not yet consumed by their owner
};

/// stats returns the current stack_stats.
stack_stats stats();

/// num_pcbs_at is the number of lwIP pcbs (TCP in any state, UDP) bound to
/// local address `a` (a cleanup check: 0 after the node owning `a` left).
size_t num_pcbs_at(const ip_addr& a);

} // namespace tf::netstack
