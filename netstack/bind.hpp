// SPDX-License-Identifier: Apache-2.0
// Local addresses and ports for a node's pcbs: which of the node's
// addresses a socket uses, port-0 allocation (listeners 10002-19999 like
// tsnet, outgoing connections 49152-65535, per node), remote address rules,
// and binding without lwIP's linear scan of every pcb (see bind.cpp).
// Core lock held for every _locked function. Private to netstack/*.cpp.
#pragma once

#include <vector>

#include "netstack/stack_internal.hpp"

namespace tf::netstack::detail {

/// listen_port_lo/hi bound port-0 listeners (TCP and UDP).
inline constexpr uint16_t listen_port_lo = 10002;
inline constexpr uint16_t listen_port_hi = 19999;
/// dial_port_lo/hi bound the local ports of outgoing connections.
inline constexpr uint16_t dial_port_lo = 49152;
inline constexpr uint16_t dial_port_hi = 65535;

/// local_addrs_locked picks the node addresses a socket binds to: both (or
/// only v4 without IPv6) for an unspecified `want`, else `want` itself,
/// which must be one of the node's addresses (invalid_argument otherwise).
result<std::vector<const ip_addr_t*>> local_addrs_locked(const node_state& n, const ip_addr& want);

/// check_remote accepts unicast remote addresses the node can reach (the
/// right family; not unspecified, loopback, multicast or broadcast).
result<void> check_remote(const node_state& n, const ip_endpoint& dst);

/// port_kind separates the two port claim tables.
enum class port_kind : uint8_t { tcp_listen, udp };

/// claim_port_locked reserves (addr, port) for `owner`, a TCP listener or a
/// UDP socket; false when taken. Every listening and UDP pcb is ours, so
/// the table is exact for those. Release with release_port_locked.
bool claim_port_locked(port_kind kind, const ip_addr& addr, uint16_t port, socket_base* owner);
/// port_owner_locked is the socket holding (addr, port), or nullptr.
socket_base* port_owner_locked(port_kind kind, const ip_addr& addr, uint16_t port);
void release_port_locked(port_kind kind, const ip_addr& addr, uint16_t port);

/// pick_listen_port_locked finds a port in 10002-19999 free on every
/// address of `addrs`; 0 when none is. Claims nothing.
uint16_t pick_listen_port_locked(node_state& n, const std::vector<const ip_addr_t*>& addrs,
                                 port_kind kind);

/// bind_plan is where a new listener or UDP socket will live.
struct bind_plan {
  node_state* node = nullptr;
  std::vector<const ip_addr_t*> addrs;
  uint16_t port = 0;
};

/// plan_bind_locked resolves node `id`, the addresses `local` means and its
/// port (port 0: a free one of 10002-19999). Claims nothing.
result<bind_plan> plan_bind_locked(node_id id, const ip_endpoint& local, port_kind kind);

/// bind_listener_locked / bind_udp_locked bind a fresh pcb to a claimed
/// (addr, port) in O(1), where tcp_bind/udp_bind would scan every pcb.
void bind_listener_locked(tcp_pcb* pcb, const ip_addr_t& addr, uint16_t port);
void bind_udp_locked(udp_pcb* pcb, const ip_addr_t& addr, uint16_t port);

/// bind_dial_port_locked binds a fresh TCP pcb to `local` and a port of the
/// node's dial range not used by any connection pcb or listener; false
/// when the range is exhausted.
bool bind_dial_port_locked(node_state& n, tcp_pcb* pcb, const ip_addr_t& local);

} // namespace tf::netstack::detail
