// SPDX-License-Identifier: Apache-2.0
// Internals of the shared stack: the node table, the one netif, output and
// input plumbing. Everything here is guarded by the core lock (functions end
// in _locked) except ensure_started(). Private to netstack/*.cpp.
#pragma once

#include <cstdint>
#include <span>

#include <absl/container/flat_hash_set.h>

#include "netstack/lwip.hpp"
#include "netstack/socket_base.hpp"
#include "netstack/stack.hpp"

namespace tf::netstack::detail {

/// node_state is one registered node. Owned by the node table; guarded by
/// the core lock.
struct node_state {
  node_id id = 0;
  ip_addr v4;
  ip_addr v6;
  ip_addr_t lw_v4{};
  ip_addr_t lw_v6{};
  output_sink sink;
  std::function<bool(const ip_addr&)> in_memory_to;  // see node_options
  uint16_t next_listen_port = 10002; // port-0 listeners: 10002..19999
  uint16_t next_dial_port = 49152;   // outgoing connections: 49152..65535
  absl::flat_hash_set<socket_base*> sockets;

  bool has_v6() const noexcept { return v6.valid(); }
  const ip_addr_t* local_for(const ip_addr& remote) const {
    return remote.is_v4() ? &lw_v4 : (has_v6() ? &lw_v6 : nullptr);
  }
};

/// ensure_started starts the tcpip thread and the netif once (thread-safe;
/// takes the raw lwIP lock itself, so call it without holding core_lock).
void ensure_started();

/// mark_tcpip_thread records the calling thread as the tcpip thread.
void mark_tcpip_thread();

/// count_rx_held_locked updates the process-wide count of received TCP
/// bytes their owners have not consumed (stats().rx_buffered): one
/// connection's share went from `before` to `now` bytes.
void count_rx_held_locked(size_t now, size_t before);

/// lwip_uses_our_checksum tells whether liblwip's checksum calls reach
/// lwip_checksum.cpp's sum (symbol interposition worked).
bool lwip_uses_our_checksum();

/// lwip_input_check_can_be_skipped tells whether liblwip's pseudo-header
/// sums reach lwip_checksum.cpp's ip_chksum_pseudo.
bool lwip_input_check_can_be_skipped();

/// skip_input_checksum_once makes the next pseudo-header sum of `p` on this
/// thread report "intact" without summing; nullptr clears the mark. Only
/// for a packet emitted by a node of this process (see lwip_checksum.cpp).
void skip_input_checksum_once(const pbuf* p);

/// lwip_uses_our_heap tells whether liblwip's mem_malloc/mem_free calls
/// reach lwip_mem.cpp's packet-block arena.
bool lwip_uses_our_heap();

/// the_netif is the one netif all nodes share.
netif* the_netif();

/// find_node_locked returns the node or nullptr.
node_state* find_node_locked(node_id id);

/// node_by_v4_locked / node_by_v6_locked find a node by address bytes
/// (network order, 4 or 16 bytes).
node_state* node_by_v4_locked(const uint8_t* addr4);
node_state* node_by_v6_locked(const uint8_t* addr16);

/// emit_locked sends one packet out of `node` (its sink), or loops it back
/// into the node when addressed to the node itself.
void emit_locked(node_state& node, std::span<const uint8_t> pkt);

/// is_dead_listener: a closed listening pcb waiting for the reaper
/// (tcp_listener_core.cpp); it matches no packet and counts for nothing.
bool is_dead_listener(const tcp_pcb_listen* p);

/// deliver_locked processes one inbound packet for `id` now; `from_memory`:
/// a node of this process emitted it (its TCP/UDP checksum is trusted).
void deliver_locked(node_id id, std::span<const uint8_t> pkt, bool from_memory);

/// drain_deferred_locked processes packets deferred by re-entrant deliver
/// calls; called by core_lock before the outermost unlock.
void drain_deferred_locked();

/// defer_locked queues a copy of a packet for later processing.
void defer_locked(node_id id, std::span<const uint8_t> pkt, bool from_memory);

} // namespace tf::netstack::detail
