// SPDX-License-Identifier: Apache-2.0
// udp_tunnel: opening, the inbox other threads write, the I/O thread's
// loop, attach/detach and the local-node registry. The packet paths live in
// tunnel_paths.cpp. See tunnel.hpp for the threading rules.
#include "actors/tunnel/tunnel_internal.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <future>

#include "actors/tunnel/ip_header.hpp"
#include "netstack/core_lock.hpp"

#include "runtime/counters.hpp"

namespace tf::tunnel {

namespace {

/// max_queued_packets bounds the outbound queue (a NIC's ring: beyond it
/// packets are dropped and TCP backs off).
constexpr size_t max_queued_packets = 16384;
constexpr size_t rx_batch = 64;
constexpr int tick_ms = 100;

struct local_registry {
  std::mutex mu;
  absl::flat_hash_map<node_public_key, netstack::node_id> by_key;
};

local_registry& registry() {
  static auto& r = *new local_registry;
  return r;
}

} // namespace

void register_local(const node_public_key& key, netstack::node_id id) {
  std::lock_guard<std::mutex> g(registry().mu);
  registry().by_key[key] = id;
}

void unregister_local(const node_public_key& key, netstack::node_id id) {
  std::lock_guard<std::mutex> g(registry().mu);
  if (auto i = registry().by_key.find(key); i != registry().by_key.end() && i->second == id) {
    registry().by_key.erase(i);
  }
}

netstack::node_id find_local(const node_public_key& key) {
  std::lock_guard<std::mutex> g(registry().mu);
  auto i = registry().by_key.find(key);
  return i == registry().by_key.end() ? 0 : i->second;
}

// -- any thread -------------------------------------------------------------------------

void udp_tunnel::impl::wake() {
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof(one));
}

void udp_tunnel::impl::post(std::function<void()> cmd, bool after_packets) {
  bool do_wake;
  {
    std::lock_guard<std::mutex> g(in.mu);
    (after_packets ? in.late_commands : in.commands).push_back(std::move(cmd));
    do_wake = !std::exchange(in.wake_pending, true);
  }
  if (do_wake) {
    wake();
  }
}

void udp_tunnel::impl::push_packet(netstack::node_id node, std::span<const uint8_t> pkt) {
  bool do_wake;
  {
    std::lock_guard<std::mutex> g(in.mu);
    if (in.packets.size() >= max_queued_packets) {
      TF_COUNTER("tunnel_tx_queue_full").add();
      return;
    }
    in.packets.push_back({node, std::vector<uint8_t>(pkt.begin(), pkt.end())});
    do_wake = !std::exchange(in.wake_pending, true);
  }
  if (do_wake) {
    wake();
  }
}

void udp_tunnel::impl::push_link(netstack::node_id node, link_event ev) {
  bool do_wake;
  {
    std::lock_guard<std::mutex> g(in.mu);
    in.links.push_back({node, std::move(ev)});
    do_wake = !std::exchange(in.wake_pending, true);
  }
  if (do_wake) {
    wake();
  }
}

udp_tunnel::impl::~impl() {
  if (epoll_fd >= 0) {
    ::close(epoll_fd);
  }
  if (wake_fd >= 0) {
    ::close(wake_fd);
  }
}

// -- I/O thread -------------------------------------------------------------------------

void udp_tunnel::impl::run() {
  epoll_event events[2];
  auto next_tick = wg::clock::now() + std::chrono::milliseconds(tick_ms);
  while (!stopping.load(std::memory_order_relaxed)) {
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick
                                                                          - wg::clock::now());
    int n = ::epoll_wait(epoll_fd, events, 2, static_cast<int>(std::max<int64_t>(0, wait_ms.count())));
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == wake_fd) {
        uint64_t v;
        [[maybe_unused]] auto r = ::read(wake_fd, &v, sizeof(v));
      }
    }
    drain_inbox();
    receive_all();
    auto now = wg::clock::now();
    if (now >= next_tick) {
      tick(now);
      flush();
      next_tick = now + std::chrono::milliseconds(tick_ms);
    }
  }
  // Leave no session behind: devices release their indices.
  while (!nodes.empty()) {
    remove_node_slot(nodes.begin()->first);
  }
  if (free_on_exit.load()) {
    delete this;
  }
}

void udp_tunnel::impl::drain_inbox() {
  // Swapping keeps both sides' capacity: no allocation per wake-up.
  auto& packets = drained.packets;
  auto& links = drained.links;
  auto& commands = drained.commands;
  auto& late_commands = drained.late_commands;
  {
    std::lock_guard<std::mutex> g(in.mu);
    packets.swap(in.packets);
    links.swap(in.links);
    commands.swap(in.commands);
    late_commands.swap(in.late_commands);
    in.wake_pending = false;
  }
  for (auto& cmd : commands) {
    cmd();
  }
  auto now = wg::clock::now();
  for (auto& item : links) {
    if (auto i = nodes.find(item.node); i != nodes.end()) {
      on_link(*i->second, item.ev, now);
    }
  }
  for (auto& p : packets) {
    auto i = nodes.find(p.node);
    if (i == nodes.end()) {
      TF_COUNTER("tunnel_tx_unknown_node").add();
      continue;
    }
    send_from(*i->second, std::move(p.bytes), now);
  }
  flush();
  // Detaching comes last, so a leaving node's final packets (its RSTs) go out.
  for (auto& cmd : late_commands) {
    cmd();
  }
  packets.clear();
  links.clear();
  commands.clear();
  late_commands.clear();
}

void udp_tunnel::impl::receive_all() {
  auto& batch = rx_datagrams;
  // Bounded rounds, so outbound packets and commands are never starved.
  for (int round = 0; round < 16; ++round) {
    if (sock.receive_batch(batch, rx_batch) == 0) {
      break;
    }
    auto now = wg::clock::now();
    for (auto& d : batch) {
      ++counts.datagrams_in;
      if (d.truncated) {
        TF_COUNTER("tunnel_rx_oversized").add();
        continue;
      }
      on_datagram(d, now);
    }
    flush();
  }
}

void udp_tunnel::impl::flush() {
  if (!to_stack.empty()) {
    netstack::deliver_batch(to_stack);
    to_stack.clear();
    hold.clear();
  }
  if (!tx.empty()) {
    counts.datagrams_out += tx.size();
    TF_COUNTER("tunnel_tx_datagrams").add(tx.size());
    sock.send_batch(tx);
    tx.clear();
  }
}

void udp_tunnel::impl::add_node_slot(std::unique_ptr<node_slot> n) {
  wg::device_options opts;
  opts.indices = indices;
  opts.allow_handshake = [this](std::span<const uint8_t> source, wg::time_point now) {
    return limiter.allow(source, now);
  };
  n->dev = std::make_unique<wg::device>(n->binding.key, std::move(opts));
  n->dev->set_under_load(under_load);
  owner_of[n->dev.get()] = n.get();
  if (n->binding.in_memory_peers) {
    register_local(n->dev->public_key(), n->id);
  }
  nodes[n->id] = std::move(n);
}

void udp_tunnel::impl::remove_node_slot(netstack::node_id id) {
  auto i = nodes.find(id);
  if (i == nodes.end()) {
    return;
  }
  auto& n = *i->second;
  n.link->close();
  unregister_local(n.dev->public_key(), n.id);
  owner_of.erase(n.dev.get());
  nodes.erase(i);
}

// -- udp_tunnel --------------------------------------------------------------------------

result<std::shared_ptr<udp_tunnel>> udp_tunnel::open(uint16_t port) {
  auto sock = udp_socket::open(port);
  if (!sock) {
    return sock.error();
  }
  auto p = std::make_unique<impl>();
  p->sock = std::move(*sock);
  p->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  p->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (p->epoll_fd < 0 || p->wake_fd < 0) {
    return make_error(errc::io_error, "tunnel: cannot create epoll or eventfd");
  }
  for (int fd : {p->sock.fd(), p->wake_fd}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(p->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  }
  auto* raw = p.get();
  std::shared_ptr<udp_tunnel> t(new udp_tunnel(std::move(p)));
  raw->io = std::thread([raw] { raw->run(); });
  return t;
}

udp_tunnel::udp_tunnel(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

udp_tunnel::~udp_tunnel() {
  // The last reference may drop inside a netstack sink (core lock held, and
  // the I/O thread may be waiting for that lock) or on the I/O thread: then
  // the thread finishes on its own and frees the state itself.
  if (std::this_thread::get_id() == impl_->io.get_id() || netstack::holds_core()) {
    auto* orphan = impl_.release();
    orphan->io.detach();
    orphan->free_on_exit = true; // before `stopping`: the thread reads it last
    orphan->stopping = true;
    orphan->wake();
    return;
  }
  impl_->stopping = true;
  impl_->wake();
  if (impl_->io.joinable()) {
    impl_->io.join();
  }
}

uint16_t udp_tunnel::port() const noexcept {
  return impl_->sock.port();
}

std::vector<ip_endpoint> udp_tunnel::local_endpoints() const {
  return impl_->sock.local_endpoints();
}

result<attachment> udp_tunnel::attach(node_binding b) {
  std::weak_ptr<udp_tunnel> weak = weak_from_this();
  auto id_box = std::make_shared<std::atomic<netstack::node_id>>(0);
  auto routes = std::make_shared<direct_routes>();
  netstack::node_options opts;
  opts.v4 = b.v4;
  opts.v6 = b.v6;
  opts.output = [weak, id_box, routes](std::span<const uint8_t> pkt) {
    if (!routes->to.empty()) {
      auto dst = packet_address(pkt, true);
      if (auto i = dst ? routes->to.find(*dst) : routes->to.end(); i != routes->to.end()) {
        // In-process peer: same address space, no cipher, no thread hop
        // (deliver() from a sink is queued and run when the lock drops).
        TF_COUNTER("tunnel_tx_in_memory").add();
        netstack::deliver_in_memory(i->second, pkt);
        return;
      }
    }
    if (auto t = weak.lock()) {
      t->impl_->push_packet(id_box->load(std::memory_order_relaxed), pkt);
    }
  };
  // The sink above hands these peers' packets over in memory (the netstack
  // sizes their connections' send buffers for that).
  opts.in_memory_to = [routes](const ip_addr& remote) { return routes->to.contains(remote); };
  auto sid = netstack::add_node(std::move(opts));
  if (!sid) {
    return sid.error();
  }
  id_box->store(*sid);
  attachment out;
  out.stack_id = *sid;
  out.link = std::make_shared<peer_link>([weak, id = *sid](link_event ev) {
    if (auto t = weak.lock()) {
      t->impl_->push_link(id, std::move(ev));
    }
  });
  auto slot = std::make_unique<node_slot>();
  slot->id = *sid;
  slot->binding = std::move(b);
  slot->link = out.link;
  slot->routes = routes;
  // std::function needs a copyable callable: share the slot until it runs.
  auto shared_slot = std::make_shared<std::unique_ptr<node_slot>>(std::move(slot));
  auto* p = impl_.get();
  p->post([p, shared_slot] { p->add_node_slot(std::move(*shared_slot)); });
  return out;
}

void udp_tunnel::detach(netstack::node_id id) {
  (void)netstack::remove_node(id);
  auto* p = impl_.get();
  p->post([p, id] { p->remove_node_slot(id); }, true);
}

tunnel_stats udp_tunnel::stats() {
  std::promise<tunnel_stats> answer;
  auto* p = impl_.get();
  p->post([p, &answer] {
    auto s = p->counts;
    s.nodes = p->nodes.size();
    for (auto& [id, n] : p->nodes) {
      for (auto& [pid, peer] : n->peers) {
        (peer->local ? s.local_peers : s.sessions) += 1;
      }
    }
    answer.set_value(s);
  });
  return answer.get_future().get();
}

result<std::shared_ptr<udp_tunnel>> shared_tunnel() {
  static std::mutex mu;
  static std::weak_ptr<udp_tunnel> current;
  std::lock_guard<std::mutex> g(mu);
  if (auto t = current.lock()) {
    return t;
  }
  auto t = udp_tunnel::open(0);
  if (!t) {
    return t.error();
  }
  current = *t;
  return *t;
}

} // namespace tf::tunnel
