// SPDX-License-Identifier: Apache-2.0
// Parking idle pcbs (see tcp_park.hpp). Measured before: 10,000
// connections between two nodes, one segment per connection in turn, cost
// 187 us per packet in tcp_input's list walk. A pcb is idle when lwIP's
// timers have nothing to do for it: ESTABLISHED or CLOSE_WAIT, nothing
// unsent, unacked, out of order or refused, no delayed ACK, FIN, persist
// timer or keep-alive. The sweep runs on the tcpip thread from a timeout,
// never inside lwIP's own list walks. Guarded by the core lock.
#include "netstack/tcp_park.hpp"

#include <absl/container/flat_hash_map.h>

namespace tf::netstack::detail {

namespace {

struct park_key {
  ip_endpoint local;
  ip_endpoint remote;
  friend bool operator==(const park_key&, const park_key&) = default;
  template <class H>
  friend H AbslHashValue(H h, const park_key& k) {
    return H::combine(std::move(h), k.local, k.remote);
  }
};

// guards: the core lock.
struct park_index {
  absl::flat_hash_map<park_key, tcp_pcb*> by_tuple;
  absl::flat_hash_map<ip_endpoint, uint32_t> local_use;
  size_t active_estimate = 0; // active list length at the last sweep, plus unparks
};

park_index& index() {
  static auto& i = *new park_index;
  return i;
}

park_key key_of(const tcp_pcb* p) {
  return {{from_lwip(p->local_ip), p->local_port}, {from_lwip(p->remote_ip), p->remote_port}};
}

bool idle(const tcp_pcb* p, tcpflags_t busy = TF_ACK_DELAY | TF_ACK_NOW | TF_CLOSEPEND
                                                | TF_NAGLEMEMERR | TF_RXCLOSED | TF_FIN) {
  return (p->state == ESTABLISHED || p->state == CLOSE_WAIT) && p->unacked == nullptr
         && p->unsent == nullptr && p->ooseq == nullptr && p->refused_data == nullptr
         && (p->flags & busy) == 0 && p->persist_backoff == 0
         && (p->so_options & SOF_KEEPALIVE) == 0 && p->recv == core_recv_fn()
         && p->callback_arg != nullptr;
}

// park unlinks *link (an idle pcb of ours) and files it in the index.
void park(tcp_pcb** link) {
  auto& ix = index();
  tcp_pcb* p = *link;
  *link = p->next;
  p->next = nullptr;
  auto k = key_of(p);
  ++ix.local_use[k.local];
  ix.by_tuple.emplace(k, p);
  park_access::set_parked(p->callback_arg, true);
}

void sweep(void*) {
  size_t remaining = 0;
  tcp_pcb** link = &tcp_active_pcbs;
  while (*link != nullptr) {
    if (idle(*link)) {
      park(link);
    } else {
      link = &(*link)->next;
      ++remaining;
    }
  }
  index().active_estimate = remaining;
  sys_timeout(park_sweep_ms, sweep, nullptr);
}

} // namespace

void start_park_sweeper() {
  sys_timeout(park_sweep_ms, sweep, nullptr);
}

void unpark_locked(tcp_pcb* pcb) {
  auto& ix = index();
  auto k = key_of(pcb);
  if (ix.by_tuple.erase(k) == 0) {
    return;
  }
  if (auto i = ix.local_use.find(k.local); i != ix.local_use.end() && --i->second == 0) {
    ix.local_use.erase(i);
  }
  ++ix.active_estimate;
  pcb->next = tcp_active_pcbs; // what TCP_REG_ACTIVE does
  tcp_active_pcbs = pcb;
  tcp_active_pcbs_changed = 1;
  tcp_timer_needed();
}

void unpark_for_segment_locked(const ip_view& v, std::span<const uint8_t> pkt) {
  auto& ix = index();
  if (ix.by_tuple.empty() || size_t{v.total_len} < size_t{v.header_len} + 4) {
    return;
  }
  const uint8_t* tcp = pkt.data() + v.header_len;
  park_key k{{v.dst_addr(), load_be16(tcp + 2)}, {v.src_addr(), load_be16(tcp)}};
  auto i = ix.by_tuple.find(k);
  if (i == ix.by_tuple.end()) {
    return;
  }
  tcp_pcb* p = i->second;
  park_access::set_parked(p->callback_arg, false);
  unpark_locked(p);
}

void after_input_locked() {
  auto& ix = index();
  tcp_pcb* p = tcp_active_pcbs;
  if (p == nullptr || ix.active_estimate <= quick_park_above
      || !idle(p, TF_ACK_NOW | TF_CLOSEPEND | TF_NAGLEMEMERR | TF_RXCLOSED | TF_FIN)) {
    return;
  }
  if (p->flags & TF_ACK_DELAY) {
    tcp_ack_now(p); // a parked pcb gets no delayed-ACK timer: ACK now
    tcp_output(p);
    if (tcp_active_pcbs != p || !idle(p)) {
      return;
    }
  }
  park(&tcp_active_pcbs);
  ix.active_estimate -= ix.active_estimate > 0 ? 1 : 0;
}

bool parked_local_in_use_locked(const ip_addr_t& addr, uint16_t port) {
  return index().local_use.contains(ip_endpoint{from_lwip(addr), port});
}

size_t num_parked_locked() {
  return index().by_tuple.size();
}

size_t parked_at_locked(const ip_addr_t& addr) {
  size_t n = 0;
  for (auto& [k, p] : index().by_tuple) {
    n += ip_addr_cmp(&p->local_ip, &addr) ? 1 : 0;
  }
  return n;
}

} // namespace tf::netstack::detail
