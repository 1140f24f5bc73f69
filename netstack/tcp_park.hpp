// SPDX-License-Identifier: Apache-2.0
// Parking: idle connection pcbs are taken off lwIP's linear active list so
// that tcp_input's demux walk stays short with thousands of connections.
// A parked pcb goes back to the head of the list (O(1)) before any segment
// for it reaches tcp_input and before the owner touches it. Core lock held
// for everything here. Private to netstack/*.cpp.
#pragma once

#include <cstddef>
#include <span>

#include "netstack/ip_check.hpp"
#include "netstack/stack_internal.hpp"

namespace tf::netstack::detail {

/// park_sweep_ms is how often idle pcbs are parked (a walk of the list).
inline constexpr u32_t park_sweep_ms = 500;

/// quick_park_above: with more active pcbs than this, a connection is
/// parked right after each segment that leaves it idle (its delayed ACK is
/// sent at once instead of up to 250 ms later).
inline constexpr size_t quick_park_above = 16;

/// start_park_sweeper arms the periodic sweep (call once, tcpip thread).
void start_park_sweeper();

/// unpark_locked puts a parked pcb back at the head of the active list.
void unpark_locked(tcp_pcb* pcb);

/// unpark_for_segment_locked unparks the pcb a TCP segment is for, if parked.
void unpark_for_segment_locked(const ip_view& v, std::span<const uint8_t> pkt);

/// after_input_locked parks the connection tcp_input just handled (it sits
/// at the head of the active list, so unlinking is O(1)) when idle.
void after_input_locked();

/// parked_local_in_use_locked: a parked pcb uses local (addr, port).
bool parked_local_in_use_locked(const ip_addr_t& addr, uint16_t port);

/// num_parked_locked / parked_at_locked: counts for stats.
size_t num_parked_locked();
size_t parked_at_locked(const ip_addr_t& addr);

/// core_recv_fn is tcp_core's lwIP receive callback (identifies our pcbs).
tcp_recv_fn core_recv_fn();

/// park_access lets the sweep flag a connection as parked.
struct park_access {
  static void set_parked(void* core_arg, bool parked);
};

} // namespace tf::netstack::detail
