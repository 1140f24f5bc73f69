// SPDX-License-Identifier: Apache-2.0
// The process-wide stack: tcpip thread start-up, the one shared netif (its
// output routes each packet to the sending node's sink by source address),
// the node table. The table is guarded by the core lock; start-up by
// std::call_once. Never lets lwIP route or forward between nodes itself.
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "netstack/core_lock.hpp"
#include "netstack/stack_internal.hpp"
#include "netstack/tcp_park.hpp"
#include "runtime/counters.hpp"

namespace tf::netstack {

namespace detail {

namespace {

// node_table: every registered node. guards: the core lock.
struct node_table {
  absl::flat_hash_map<node_id, std::unique_ptr<node_state>> nodes;
  absl::flat_hash_map<uint32_t, node_state*> by_v4; // key: raw network-order bytes
  absl::flat_hash_map<ip_addr, node_state*> by_v6;
  node_id next_id = 1;
};

// Never destroyed: the tcpip thread may run until the very end of the process.
node_table& table() {
  static node_table& t = *new node_table;
  return t;
}

netif g_netif;

// Received TCP bytes not yet consumed by their owners (tcp_core buffers).
// guards: the core lock.
size_t g_rx_held = 0;

uint32_t raw_v4(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

ip_addr v6_from(const uint8_t* p) {
  ip_addr::bytes16 b;
  std::memcpy(b.data(), p, 16);
  return ip_addr::v6(b);
}

err_t output_pbuf(pbuf* p, int version) {
  thread_local std::vector<uint8_t> scratch;
  std::span<const uint8_t> bytes;
  if (p->next == nullptr) {
    bytes = {static_cast<const uint8_t*>(p->payload), p->len};
  } else {
    scratch.resize(p->tot_len);
    pbuf_copy_partial(p, scratch.data(), p->tot_len, 0);
    bytes = scratch;
  }
  node_state* n = nullptr;
  if (version == 4 && bytes.size() >= 20) {
    n = node_by_v4_locked(bytes.data() + 12);
  } else if (version == 6 && bytes.size() >= 40) {
    n = node_by_v6_locked(bytes.data() + 8);
  }
  if (n == nullptr) {
    TF_COUNTER("netstack_tx_no_node").add(); // e.g. lwIP's own ND/MLD chatter
    return ERR_OK;
  }
  emit_locked(*n, bytes);
  return ERR_OK;
}

err_t out4(netif*, pbuf* p, const ip4_addr_t*) {
  return output_pbuf(p, 4);
}

err_t out6(netif*, pbuf* p, const ip6_addr_t*) {
  return output_pbuf(p, 6);
}

// lwIP's internal loopback (packets to the netif's own or 127/8 address)
// ends here: nodes never reach each other inside lwIP.
err_t input_drop(pbuf* p, netif*) {
  TF_COUNTER("netstack_loopback_dropped").add();
  pbuf_free(p);
  return ERR_OK;
}

err_t netif_init_fn(netif* n) {
  n->name[0] = 't';
  n->name[1] = 'f';
  n->output = out4;
  n->output_ip6 = out6;
  n->mtu = static_cast<u16_t>(mtu);
  n->flags = NETIF_FLAG_UP | NETIF_FLAG_LINK_UP; // no ARP, no broadcast, no MLD
  return ERR_OK;
}

void start_once() {
  if (!lwip_uses_our_checksum()) {
    TF_COUNTER("netstack_lwip_slow_checksum").add(); // correct, only slower
  }
  if (!lwip_uses_our_heap()) {
    TF_COUNTER("netstack_lwip_libc_heap").add(); // likewise
  }
  std::atomic<bool> up{false};
  tcpip_init(
    [](void* arg) {
      mark_tcpip_thread();
      static_cast<std::atomic<bool>*>(arg)->store(true);
    },
    &up);
  while (!up.load()) {
    std::this_thread::yield();
  }
  LOCK_TCPIP_CORE();
  // 192.0.0.8 (RFC 7600 dummy address): never a tailnet address, so lwIP's
  // "packet to my own netif" loopback never catches node traffic.
  ip4_addr_t addr;
  ip4_addr_t mask;
  ip4_addr_t gw;
  IP4_ADDR(&addr, 192, 0, 0, 8);
  IP4_ADDR(&mask, 255, 255, 255, 255);
  IP4_ADDR(&gw, 0, 0, 0, 0);
  netif_add(&g_netif, &addr, &mask, &gw, nullptr, netif_init_fn, input_drop);
  netif_set_default(&g_netif);
  netif_set_up(&g_netif);
  netif_set_link_up(&g_netif);
  UNLOCK_TCPIP_CORE();
  tcpip_callback([](void*) { start_park_sweeper(); }, nullptr);
}

bool unicast_v4(const ip_addr& a) {
  uint32_t v = a.v4_value();
  uint8_t top = static_cast<uint8_t>(v >> 24);
  return v != 0 && top != 127 && (top & 0xf0) != 0xe0 && v != 0xffffffffu
         && v != 0xc0000008u;
}

bool unicast_v6(const ip_addr& a) {
  const auto& b = a.bytes();
  bool zero_prefix = true;
  for (int i = 0; i < 15; ++i) {
    zero_prefix = zero_prefix && b[i] == 0;
  }
  bool link_local = b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
  return b[0] != 0xff && !link_local && !(zero_prefix && b[15] <= 1);
}

} // namespace

void ensure_started() {
  static std::once_flag once;
  std::call_once(once, start_once);
}

netif* the_netif() {
  return &g_netif;
}

node_state* find_node_locked(node_id id) {
  auto& t = table();
  auto i = t.nodes.find(id);
  return i == t.nodes.end() ? nullptr : i->second.get();
}

node_state* node_by_v4_locked(const uint8_t* addr4) {
  auto& t = table();
  auto i = t.by_v4.find(raw_v4(addr4));
  return i == t.by_v4.end() ? nullptr : i->second;
}

node_state* node_by_v6_locked(const uint8_t* addr16) {
  auto& t = table();
  auto i = t.by_v6.find(v6_from(addr16));
  return i == t.by_v6.end() ? nullptr : i->second;
}

void emit_locked(node_state& node, std::span<const uint8_t> pkt) {
  bool to_self = (pkt[0] >> 4) == 4 ? std::memcmp(pkt.data() + 16, node.v4.bytes().data(), 4) == 0
                                    : node.has_v6()
                                        && std::memcmp(pkt.data() + 24, node.v6.bytes().data(), 16) == 0;
  if (to_self) {
    defer_locked(node.id, pkt, true);
    return;
  }
  try {
    node.sink(pkt);
  } catch (...) {
    TF_COUNTER("netstack_tx_sink_failed").add();
  }
}

// -- node registration ----------------------------------------------------

result<node_id> add_node_locked(node_options&& opts) {
  auto& t = table();
  if (!opts.v4.is_v4() || !unicast_v4(opts.v4)) {
    return make_error(errc::invalid_argument, "node needs a unicast IPv4 address");
  }
  if (opts.v6.valid() && (!opts.v6.is_v6() || !unicast_v6(opts.v6))) {
    return make_error(errc::invalid_argument, "node IPv6 address must be global unicast IPv6");
  }
  if (!opts.output) {
    return make_error(errc::invalid_argument, "node needs an output sink");
  }
  if (t.by_v4.contains(raw_v4(opts.v4.bytes().data()))
      || (opts.v6.valid() && t.by_v6.contains(opts.v6))) {
    return make_error(errc::invalid_argument,
                      "address " + opts.v4.to_string() + " or its IPv6 twin is used by another node");
  }
  auto n = std::make_unique<node_state>();
  n->id = t.next_id++;
  n->v4 = opts.v4;
  n->v6 = opts.v6;
  n->lw_v4 = to_lwip(opts.v4);
  if (opts.v6.valid()) {
    n->lw_v6 = to_lwip(opts.v6);
    t.by_v6.emplace(opts.v6, n.get());
  }
  n->sink = std::move(opts.output);
  n->in_memory_to = std::move(opts.in_memory_to);
  t.by_v4.emplace(raw_v4(opts.v4.bytes().data()), n.get());
  node_id id = n->id;
  t.nodes.emplace(id, std::move(n));
  return id;
}

bool local_is(const ip_addr_t& local, const node_state& n) {
  return ip_addr_cmp(&local, &n.lw_v4) || (n.has_v6() && ip_addr_cmp(&local, &n.lw_v6));
}

// purge_pcbs_locked frees every connection pcb left with the node's
// addresses (closing or TIME_WAIT pcbs our sockets already let go of).
// Listening and UDP pcbs are all owned by sockets, which closed them.
void purge_pcbs_locked(const node_state& n) {
  std::vector<tcp_pcb*> doomed;
  for (tcp_pcb* list : {tcp_active_pcbs, tcp_tw_pcbs, tcp_bound_pcbs}) {
    for (tcp_pcb* p = list; p != nullptr; p = p->next) {
      if (local_is(p->local_ip, n)) {
        doomed.push_back(p);
      }
    }
  }
  for (tcp_pcb* p : doomed) {
    tcp_arg(p, nullptr);
    tcp_err(p, nullptr);
    tcp_abort(p);
  }
}

result<void> remove_node_locked(node_id id) {
  auto& t = table();
  auto i = t.nodes.find(id);
  if (i == t.nodes.end()) {
    return make_error(errc::not_found, "no such node");
  }
  node_state& n = *i->second;
  std::vector<socket_base*> sockets(n.sockets.begin(), n.sockets.end());
  for (socket_base* s : sockets) {
    s->node_gone_locked();
  }
  n.sockets.clear();
  purge_pcbs_locked(n);
  t.by_v4.erase(raw_v4(n.v4.bytes().data()));
  if (n.has_v6()) {
    t.by_v6.erase(n.v6);
  }
  t.nodes.erase(i);
  return {};
}

size_t count_at_locked(const ip_addr_t& a) {
  size_t num = 0;
  for (tcp_pcb* list : {tcp_active_pcbs, tcp_tw_pcbs, tcp_bound_pcbs}) {
    for (tcp_pcb* p = list; p != nullptr; p = p->next) {
      num += ip_addr_cmp(&p->local_ip, &a) ? 1 : 0;
    }
  }
  for (tcp_pcb_listen* p = tcp_listen_pcbs.listen_pcbs; p != nullptr; p = p->next) {
    num += ip_addr_cmp(&p->local_ip, &a) ? 1 : 0;
  }
  for (udp_pcb* p = udp_pcbs; p != nullptr; p = p->next) {
    num += ip_addr_cmp(&p->local_ip, &a) ? 1 : 0;
  }
  return num + parked_at_locked(a);
}

size_t num_nodes_locked() {
  return table().nodes.size();
}

void count_rx_held_locked(size_t now, size_t before) {
  g_rx_held = g_rx_held + now - before;
}

} // namespace detail

// -- public API -------------------------------------------------------------

result<node_id> add_node(node_options opts) {
  core_guard g;
  return detail::add_node_locked(std::move(opts));
}

result<void> remove_node(node_id id) {
  core_guard g;
  return detail::remove_node_locked(id);
}

void peer_gone(node_id id, const ip_addr& remote) {
  core_guard g;
  auto* n = detail::find_node_locked(id);
  if (n == nullptr || !remote.valid()) {
    return;
  }
  std::vector<detail::socket_base*> sockets(n->sockets.begin(), n->sockets.end());
  for (auto* s : sockets) {
    s->peer_gone_locked(remote);
  }
}

size_t num_pcbs_at(const ip_addr& a) {
  if (!a.valid()) {
    return 0;
  }
  core_guard g;
  return detail::count_at_locked(to_lwip(a));
}

stack_stats stats() {
  core_guard g;
  stack_stats s;
  s.nodes = detail::num_nodes_locked();
  for (tcp_pcb* p = tcp_active_pcbs; p != nullptr; p = p->next) {
    ++s.tcp_active;
  }
  s.tcp_parked = detail::num_parked_locked();
  s.tcp_active += s.tcp_parked;
  s.rx_buffered = detail::g_rx_held;
  for (tcp_pcb* p = tcp_tw_pcbs; p != nullptr; p = p->next) {
    ++s.tcp_time_wait;
  }
  for (tcp_pcb_listen* p = tcp_listen_pcbs.listen_pcbs; p != nullptr; p = p->next) {
    (detail::is_dead_listener(p) ? s.tcp_listen_closing : s.tcp_listen) += 1;
  }
  for (udp_pcb* p = udp_pcbs; p != nullptr; p = p->next) {
    ++s.udp;
  }
  return s;
}

} // namespace tf::netstack
