// SPDX-License-Identifier: Apache-2.0
// Inbound packets: validate, check the destination is the node's own
// address, answer echo requests, and hand TCP/UDP to lwIP through its
// exported ip_data (lwIP's ip4_input/ip6_input are never used: they would
// accept any local address and forward the rest). Runs under the core lock;
// re-entrant calls (from a sink) are deferred, never recursive.
#include <utility>
#include <vector>

#include "netstack/ack_loop.hpp"
#include "netstack/bind.hpp"
#include "netstack/core_lock.hpp"
#include "netstack/icmp_echo.hpp"
#include "netstack/ip_check.hpp"
#include "netstack/stack_internal.hpp"
#include "netstack/tcp_park.hpp"
#include "runtime/counters.hpp"

namespace tf::netstack {

namespace detail {

namespace {

// deferred: packets delivered while the core lock was already held, each
// copied once into the pbuf lwIP will take. guards: the core lock.
struct deferred_packet {
  node_id node = 0;
  pbuf* p = nullptr;
  bool from_memory = false;  // emitted by a node of this process
};

struct deferred_queue {
  std::vector<deferred_packet> items;
  bool drain_scheduled = false; // a sys_timeout on the tcpip thread is pending
  ack_loop_breaker loops;       // the current drain's window-0 ACKs
};

deferred_queue& deferred() {
  static deferred_queue& q = *new deferred_queue;
  return q;
}

void count_drop(ip_drop reason) {
  // One counter object per reason, looked up once.
  static counter* counters[] = {
    &get_counter(drop_counter_name(ip_drop::none)),
    &get_counter(drop_counter_name(ip_drop::truncated)),
    &get_counter(drop_counter_name(ip_drop::bad_version)),
    &get_counter(drop_counter_name(ip_drop::bad_header_length)),
    &get_counter(drop_counter_name(ip_drop::bad_total_length)),
    &get_counter(drop_counter_name(ip_drop::bad_checksum)),
    &get_counter(drop_counter_name(ip_drop::bad_source)),
    &get_counter(drop_counter_name(ip_drop::fragment)),
    &get_counter(drop_counter_name(ip_drop::unsupported_protocol)),
  };
  counters[static_cast<size_t>(reason)]->add();
}

void answer_icmp_locked(node_state& node, const ip_view& v, std::span<const uint8_t> pkt) {
  thread_local std::vector<uint8_t> reply;
  switch (make_echo_reply(v, pkt, reply)) {
    case echo_result::reply:
      TF_COUNTER("netstack_icmp_echo_replied").add();
      emit_locked(node, reply);
      break;
    case echo_result::not_echo:
      TF_COUNTER("netstack_rx_icmp_ignored").add();
      break;
    case echo_result::bad_message:
      TF_COUNTER("netstack_rx_icmp_malformed").add();
      break;
  }
}

/// copy_to_pbuf copies a packet into one contiguous pbuf (nullptr, counted,
/// when it is too long for one or memory ran out).
pbuf* copy_to_pbuf(std::span<const uint8_t> pkt) {
  if (pkt.size() > 0xffff) {
    count_drop(ip_drop::bad_total_length);
    return nullptr;
  }
  pbuf* p = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(pkt.size()), PBUF_RAM);
  if (p == nullptr) {
    TF_COUNTER("netstack_rx_no_memory").add();
    return nullptr;
  }
  pbuf_take(p, pkt.data(), static_cast<u16_t>(pkt.size()));
  return p;
}

/// syn_for_full_listener tells whether `pkt` opens a connection (SYN
/// without ACK) to a listener whose accept queue is full: dropping it makes
/// the dialer retry later instead of being reset once its handshake
/// completes (tcp_listener_core::max_pending).
bool syn_for_full_listener(const ip_view& v, std::span<const uint8_t> pkt) {
  constexpr uint8_t syn = 0x02, rst = 0x04, ack = 0x10;
  if (size_t{v.total_len} < size_t{v.header_len} + 20)
    return false; // lwIP drops it as too short
  const uint8_t* tcp = pkt.data() + v.header_len;
  if ((tcp[13] & (syn | rst | ack)) != syn)
    return false;
  auto* owner = port_owner_locked(port_kind::tcp_listen, v.dst_addr(), load_be16(tcp + 2));
  return owner != nullptr && owner->refuses_connections_locked();
}

// to_lwip_input feeds a TCP or UDP packet (held in `p`, which lwIP takes)
// to lwIP the way ip4_input/ip6_input would, minus their address
// acceptance and forwarding.
void to_lwip_input(const ip_view& v, std::span<const uint8_t> pkt, pbuf* p, bool from_memory) {
  if (v.protocol == IP_PROTO_TCP && syn_for_full_listener(v, pkt)) {
    TF_COUNTER("netstack_tcp_syn_dropped_queue_full").add();
    pbuf_free(p);
    return;
  }
  pbuf_realloc(p, v.total_len); // drop link-layer padding
  netif* nif = the_netif();
  ip_data.current_netif = nif;
  ip_data.current_input_netif = nif;
  ip_data.current_ip_header_tot_len = v.header_len;
  if (v.version == 4) {
    auto* h = static_cast<const ip_hdr*>(p->payload);
    ip_data.current_ip4_header = h;
    ip_data.current_ip6_header = nullptr;
    ip_addr_copy_from_ip4(ip_data.current_iphdr_src, h->src);
    ip_addr_copy_from_ip4(ip_data.current_iphdr_dest, h->dest);
  } else {
    auto* h = static_cast<ip6_hdr*>(p->payload);
    ip_data.current_ip4_header = nullptr;
    ip_data.current_ip6_header = h;
    ip_addr_copy_from_ip6_packed(ip_data.current_iphdr_src, h->src);
    ip_addr_copy_from_ip6_packed(ip_data.current_iphdr_dest, h->dest);
  }
  pbuf_remove_header(p, v.header_len);
  // A sibling's packet was summed by lwIP on output in this address space.
  static const bool can_skip = lwip_input_check_can_be_skipped();
  if (from_memory && can_skip) {
    TF_COUNTER("netstack_rx_checksum_trusted").add();
    skip_input_checksum_once(p);
  }
  if (v.protocol == IP_PROTO_TCP) {
    unpark_for_segment_locked(v, pkt); // so tcp_input finds it at the list head
    tcp_input(p, nif);
  } else {
    udp_input(p, nif);
  }
  skip_input_checksum_once(nullptr);
  ip_data.current_netif = nullptr;
  ip_data.current_input_netif = nullptr;
  ip_data.current_ip4_header = nullptr;
  ip_data.current_ip6_header = nullptr;
  ip_data.current_ip_header_tot_len = 0;
  ip_addr_set_zero(&ip_data.current_iphdr_src);
  ip_addr_set_zero(&ip_data.current_iphdr_dest);
  if (v.protocol == IP_PROTO_TCP) {
    after_input_locked();
  }
}

void drain_on_tcpip_thread(void*) {
  deferred().drain_scheduled = false;
  drain_deferred_locked();
}

} // namespace

/// deliver_pbuf_locked is deliver_locked for a packet already copied into
/// `p` (one contiguous pbuf, freed or handed to lwIP here). `loops`, when
/// given, drops repeated window-0 ACKs (see ack_loop.hpp). `from_memory`:
/// a node of this process emitted it, so its TCP/UDP checksum is trusted.
void deliver_pbuf_locked(node_id id, pbuf* p, ack_loop_breaker* loops, bool from_memory) {
  std::span<const uint8_t> pkt{static_cast<const uint8_t*>(p->payload), p->len};
  node_state* node = find_node_locked(id);
  if (node == nullptr) {
    TF_COUNTER("netstack_rx_unknown_node").add();
    pbuf_free(p);
    return;
  }
  ip_view v;
  if (auto reason = check_ip_packet(pkt, v); reason != ip_drop::none) {
    count_drop(reason);
    pbuf_free(p);
    return;
  }
  bool for_node = v.version == 4
                    ? std::memcmp(v.dst, node->v4.bytes().data(), 4) == 0
                    : node->has_v6() && std::memcmp(v.dst, node->v6.bytes().data(), 16) == 0;
  if (!for_node) {
    TF_COUNTER("netstack_rx_not_for_node").add();
    pbuf_free(p);
    return;
  }
  if (v.protocol == 1 || v.protocol == 58) {
    answer_icmp_locked(*node, v, pkt);
    pbuf_free(p);
    return;
  }
  if (loops != nullptr && loops->repeat(v, pkt)) {
    TF_COUNTER("netstack_rx_zero_window_ack_repeats").add();
    pbuf_free(p);
    return;
  }
  to_lwip_input(v, pkt, p, from_memory);
}

void deliver_locked(node_id id, std::span<const uint8_t> pkt, bool from_memory) {
  if (pbuf* p = copy_to_pbuf(pkt)) {
    deliver_pbuf_locked(id, p, nullptr, from_memory);
  }
}

void defer_locked(node_id id, std::span<const uint8_t> pkt, bool from_memory) {
  pbuf* p = copy_to_pbuf(pkt);
  if (p == nullptr) {
    return;
  }
  auto& q = deferred();
  q.items.push_back({id, p, from_memory});
  if (on_tcpip_thread() && !q.drain_scheduled) {
    q.drain_scheduled = true;
    sys_timeout(0, drain_on_tcpip_thread, nullptr);
  }
}

void drain_deferred_locked() {
  auto& q = deferred();
  if (q.items.empty()) {
    return;
  }
  std::vector<deferred_packet> batch;
  q.loops.clear();
  while (!q.items.empty()) {
    batch.swap(q.items);
    for (auto& d : batch) {
      deliver_pbuf_locked(d.node, d.p, &q.loops, d.from_memory);
    }
    batch.clear();
  }
}

} // namespace detail

namespace {

void deliver_one(node_id id, std::span<const uint8_t> ip_packet, bool from_memory) {
  core_guard g;
  if (core_depth() > 1 || on_tcpip_thread()) {
    detail::defer_locked(id, ip_packet, from_memory);
    return;
  }
  detail::deliver_locked(id, ip_packet, from_memory);
}

} // namespace

void deliver(node_id id, std::span<const uint8_t> ip_packet) {
  deliver_one(id, ip_packet, false);
}

void deliver_in_memory(node_id id, std::span<const uint8_t> ip_packet) {
  deliver_one(id, ip_packet, true);
}

void deliver_batch(std::span<const inbound_packet> packets) {
  core_guard g;
  bool nested = core_depth() > 1 || on_tcpip_thread();
  for (const auto& p : packets) {
    if (nested) {
      detail::defer_locked(p.node, p.bytes, false);
    } else {
      detail::deliver_locked(p.node, p.bytes, false);
    }
  }
}

} // namespace tf::netstack
