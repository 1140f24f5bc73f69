// SPDX-License-Identifier: Apache-2.0
// The tunnel's packet paths, all on its I/O thread: outbound IP packets to
// a peer (in memory for in-process peers, else WireGuard over UDP), inbound
// datagrams to the right node's device and on to the netstack after the
// allowed-IPs check, peer resolution through the shards, peer changes and
// the session timers. Per packet: O(1) hash lookups, never a netmap walk.
#include <cstring>

#include "actors/tunnel/ip_header.hpp"
#include "actors/tunnel/tunnel_internal.hpp"
#include "netstack/core_lock.hpp"
#include "runtime/counters.hpp"

namespace tf::tunnel {

namespace {

/// max_pending_packets bounds the packets one unresolved address may hold.
constexpr size_t max_pending_packets = 64;
/// max_candidates bounds the endpoints a handshake is sent to at once.
constexpr size_t max_candidates = 4;
constexpr auto negative_ttl = std::chrono::seconds(1);
/// max_negative bounds the negative cache (a scan of the address space must
/// not grow it without limit: beyond this it starts over).
constexpr size_t max_negative = 4096;

bool prefix_contains(const ip_prefix& p, const ip_addr& a) {
  if (p.addr.is_v4() != a.is_v4()) {
    return false;
  }
  const auto& x = p.addr.bytes();
  const auto& y = a.bytes();
  int bits = p.bits;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((x[i] & mask) != (y[i] & mask)) {
      return false;
    }
  }
  return true;
}

/// allowed checks an inner source address against what the peer may send
/// from: its addresses, or its allowed IPs when control set them.
bool allowed(const peer_record& r, const ip_addr& src) {
  auto extra = r.allowed_ips();
  if (!extra.empty()) {
    for (auto& p : extra) {
      if (prefix_contains(p, src)) {
        return true;
      }
    }
    return false;
  }
  if ((r.has_v4() && src == r.v4()) || (r.has_v6() && src == r.v6())) {
    return true;
  }
  for (auto& p : r.extra_addresses()) {
    if (prefix_contains(p, src)) {
      return true;
    }
  }
  return false;
}

void index_addresses(node_slot& n, peer_slot& p) {
  if (p.rec->has_v4()) {
    n.by_addr[p.rec->v4()] = &p;
  }
  if (p.rec->has_v6()) {
    n.by_addr[p.rec->v6()] = &p;
  }
  if (p.local != 0) {
    // The sink hands this peer's packets over directly from now on.
    netstack::core_guard g;
    for (auto a : {p.rec->v4(), p.rec->v6()}) {
      if (a.valid()) {
        n.routes->to[a] = p.local;
      }
    }
  }
}

void unindex_addresses(node_slot& n, peer_slot& p) {
  for (auto a : {p.rec->v4(), p.rec->v6()}) {
    if (auto i = n.by_addr.find(a); i != n.by_addr.end() && i->second == &p) {
      n.by_addr.erase(i);
    }
  }
  if (p.local != 0) {
    netstack::core_guard g;
    for (auto a : {p.rec->v4(), p.rec->v6()}) {
      if (auto i = n.routes->to.find(a); i != n.routes->to.end() && i->second == p.local) {
        n.routes->to.erase(i);
      }
    }
  }
}

} // namespace

// -- outbound ----------------------------------------------------------------------------

void udp_tunnel::impl::send_from(node_slot& n, std::vector<uint8_t>&& pkt, wg::time_point now) {
  auto dst = packet_address(pkt, true);
  if (!dst) {
    TF_COUNTER("tunnel_tx_malformed").add();
    return;
  }
  if (auto i = n.by_addr.find(*dst); i != n.by_addr.end()) {
    to_peer(n, *i->second, std::move(pkt), now);
    return;
  }
  if (auto i = n.unknown_until.find(*dst); i != n.unknown_until.end()) {
    if (i->second > now) {
      TF_COUNTER("tunnel_tx_no_peer").add();
      return;
    }
    n.unknown_until.erase(i);
  }
  if (auto i = n.resolving_addr.find(*dst); i != n.resolving_addr.end()) {
    auto& waiting = n.pending[i->second].packets;
    if (waiting.size() >= max_pending_packets) {
      TF_COUNTER("tunnel_tx_pending_overflow").add();
      return;
    }
    waiting.push_back(std::move(pkt));
    return;
  }
  uint64_t id = next_request++;
  auto& pr = n.pending[id];
  pr.answers_left = std::max<size_t>(n.binding.answers_per_request, 1);
  pr.addr = *dst;
  pr.packets.push_back(std::move(pkt));
  n.resolving_addr[*dst] = id;
  resolve_request req;
  req.id = id;
  req.addr = *dst;
  n.binding.resolve(req);
}

void udp_tunnel::impl::to_peer(node_slot& n, peer_slot& p, std::vector<uint8_t>&& pkt,
                               wg::time_point now) {
  if (p.local != 0) {
    // In-process peer: same address space, so no cipher and no syscall.
    ++counts.packets_local;
    TF_COUNTER("tunnel_tx_in_memory").add();
    to_stack.push_back({p.local, {pkt.data(), pkt.size()}});
    hold.push_back(std::move(pkt));
    return;
  }
  auto a = p.session->send(pkt, now);
  handle_actions(n, &p, a);
}

void udp_tunnel::impl::handle_actions(node_slot& n, peer_slot* p, wg::actions& a) {
  for (auto& d : a.datagrams) {
    if (p == nullptr) {
      TF_COUNTER("tunnel_tx_no_endpoint").add();
      continue;
    }
    if (p->endpoint) {
      tx.push_back({*p->endpoint, std::move(d)});
      continue;
    }
    // No confirmed endpoint yet: try every candidate; the first authentic
    // answer picks the endpoint.
    size_t k = std::min(max_candidates, p->candidates.size());
    if (k == 0) {
      TF_COUNTER("tunnel_tx_no_endpoint").add();
    }
    for (size_t i = 0; i < k; ++i) {
      tx.push_back({p->candidates[i], i + 1 == k ? std::move(d) : d});
    }
  }
  for (auto& pkt : a.packets) {
    if (p != nullptr) {
      deliver_in(n, *p, std::move(pkt));
    }
  }
}

// -- inbound -----------------------------------------------------------------------------

void udp_tunnel::impl::deliver_in(node_slot& n, peer_slot& p, std::vector<uint8_t>&& pkt) {
  auto src = packet_address(pkt, false);
  if (!src || !allowed(*p.rec, *src)) {
    TF_COUNTER("tunnel_rx_bad_source").add();
    return;
  }
  to_stack.push_back({n.id, {pkt.data(), pkt.size()}});
  hold.push_back(std::move(pkt));
}

void udp_tunnel::impl::on_datagram(const datagram& d, wg::time_point now) {
  if (d.bytes.size() < 4 || d.bytes[1] != 0 || d.bytes[2] != 0 || d.bytes[3] != 0
      || d.bytes[0] < 1 || d.bytes[0] > 4) {
    TF_COUNTER("tunnel_rx_malformed").add();
    return;
  }
  if (nodes.empty()) {
    TF_COUNTER("tunnel_rx_no_node").add();
    return;
  }
  auto src = wg::source_address::from(d.from);
  if (d.bytes[0] == 1 || d.bytes[0] == 2)
    note_handshake(now);
  node_slot* target = nullptr;
  if (d.bytes[0] == 1) {
    // An initiation names its responder only through MAC1: try each node.
    for (auto& [id, n] : nodes) {
      if (n->dev->is_addressed_to(d.bytes)) {
        target = n.get();
        break;
      }
    }
    if (target == nullptr) {
      TF_COUNTER("tunnel_rx_initiation_no_node").add();
      return;
    }
  } else {
    target = nodes.begin()->second.get(); // routed by receiver index inside
  }
  auto res = target->dev->receive(d.bytes, src.span(), now);
  if (!res.reply.empty()) {
    tx.push_back({d.from, std::move(res.reply)});
  }
  if (res.unknown_initiator) {
    auto& n = *target;
    auto key = *res.unknown_initiator;
    if (auto i = n.resolving_key.find(key); i != n.resolving_key.end()) {
      auto& inits = n.pending[i->second].initiations;
      inits.clear(); // only the newest initiation matters
      inits.emplace_back(std::vector<uint8_t>(d.bytes.begin(), d.bytes.end()), d.from);
      return;
    }
    uint64_t id = next_request++;
    auto& pr = n.pending[id];
    pr.answers_left = std::max<size_t>(n.binding.answers_per_request, 1);
    pr.by_key = true;
    pr.key = key;
    pr.initiations.emplace_back(std::vector<uint8_t>(d.bytes.begin(), d.bytes.end()), d.from);
    n.resolving_key[key] = id;
    resolve_request req;
    req.id = id;
    req.by_key = true;
    req.key = key;
    n.binding.resolve(req);
    return;
  }
  if (res.peer == nullptr) {
    return; // dropped (counted by the device) or answered with a cookie
  }
  auto owner = owner_of.find(&res.peer->owner());
  if (owner == owner_of.end()) {
    return;
  }
  auto& n = *owner->second;
  auto p = n.by_key.find(res.peer->remote());
  peer_slot* slot = p == n.by_key.end() ? nullptr : p->second;
  if (slot != nullptr && res.out.authenticated) {
    slot->endpoint = d.from; // roaming: the newest authentic source wins
  }
  handle_actions(n, slot, res.out);
}

// note_handshake counts a handshake message toward the load; while under
// load every device wants a cookie (MAC2) before it answers one, and each
// source address gets a few handshakes a second.
void udp_tunnel::impl::note_handshake(wg::time_point now) {
  auto loaded = load.note(now);
  if (loaded == under_load)
    return;
  under_load = loaded;
  if (loaded)
    TF_COUNTER("tunnel_under_load_entered").add();
  else
    TF_COUNTER("tunnel_under_load_left").add();
  for (auto& [id, n] : nodes)
    n->dev->set_under_load(loaded);
}

// -- resolution and peer changes ----------------------------------------------------------

void udp_tunnel::impl::on_link(node_slot& n, link_event& ev, wg::time_point now) {
  // What the shards push: answers to our lookups, and changes and removals
  // of active peers only (tests/integration/tunnel_peers_test).
  TF_COUNTER("tunnel_link_events").add();
  switch (ev.what) {
    case link_event::kind::answer: {
      auto i = n.pending.find(ev.request);
      if (i == n.pending.end()) {
        if (ev.rec) {
          n.link->forget(ev.id);
        }
        return;
      }
      auto& pr = i->second;
      if (ev.rec && !pr.hit) {
        pr.hit = std::move(ev.rec);
      } else if (ev.rec && pr.hit->id() != ev.rec->id()) {
        n.link->forget(ev.id); // two shards answered (an address in transit)
      }
      if (--pr.answers_left == 0) {
        auto done = std::move(pr);
        n.pending.erase(i);
        complete(n, ev.request, done, now);
      }
      return;
    }
    case link_event::kind::changed: {
      auto i = n.peers.find(ev.id);
      if (i == n.peers.end()) {
        return;
      }
      auto& p = *i->second;
      if (ev.rec->key() != p.key) {
        remove_peer(n, ev.id); // a new key is a new session, made on demand
        n.link->forget(ev.id);
        return;
      }
      unindex_addresses(n, p);
      p.rec = ev.rec;
      p.candidates.assign(p.rec->endpoints().begin(), p.rec->endpoints().end());
      index_addresses(n, p);
      return;
    }
    case link_event::kind::removed: {
      auto i = n.peers.find(ev.id);
      if (i == n.peers.end()) {
        return;
      }
      // The peer left the tailnet: nothing will ever answer on connections
      // to it, so they fail now instead of timing out.
      auto rec = i->second->rec;
      remove_peer(n, ev.id);
      for (auto a : {rec->v4(), rec->v6()}) {
        if (a.valid()) {
          netstack::peer_gone(n.id, a);
        }
      }
      return;
    }
  }
}

void udp_tunnel::impl::complete(node_slot& n, uint64_t request, pending_resolve& pr,
                                wg::time_point now) {
  if (pr.by_key) {
    if (auto i = n.resolving_key.find(pr.key); i != n.resolving_key.end() && i->second == request) {
      n.resolving_key.erase(i);
    }
  } else if (auto i = n.resolving_addr.find(pr.addr);
             i != n.resolving_addr.end() && i->second == request) {
    n.resolving_addr.erase(i);
  }
  peer_slot* p = pr.hit ? ensure_peer(n, pr.hit) : nullptr;
  if (p == nullptr) {
    if (!pr.by_key) {
      if (n.unknown_until.size() >= max_negative) {
        n.unknown_until.clear();
      }
      n.unknown_until[pr.addr] = now + negative_ttl;
    }
    if (pr.by_key) {
      TF_COUNTER("tunnel_rx_unknown_peer").add(pr.initiations.size());
    } else {
      TF_COUNTER("tunnel_tx_no_peer").add(pr.packets.size());
    }
    return;
  }
  for (auto& pkt : pr.packets) {
    to_peer(n, *p, std::move(pkt), now);
  }
  for (auto& [bytes, from] : pr.initiations) {
    datagram d;
    d.bytes = bytes;
    d.from = from;
    on_datagram(d, now);
  }
  flush();
}

peer_slot* udp_tunnel::impl::ensure_peer(node_slot& n, const peer_ref& rec) {
  if (auto i = n.peers.find(rec->id()); i != n.peers.end()) {
    return i->second.get();
  }
  if (auto i = n.by_key.find(rec->key()); i != n.by_key.end()) {
    return i->second; // the same key under an id being replaced
  }
  auto p = std::make_unique<peer_slot>();
  p->id = rec->id();
  p->rec = rec;
  p->key = rec->key();
  p->candidates.assign(rec->endpoints().begin(), rec->endpoints().end());
  p->local = n.binding.in_memory_peers ? find_local(p->key) : 0;
  if (p->local == n.id) {
    TF_COUNTER("tunnel_tx_to_self").add();
    n.link->forget(p->id);
    return nullptr;
  }
  if (p->local == 0) {
    wg::peer_options opts;
    opts.public_key = p->key;
    auto s = n.dev->add_peer(opts);
    if (!s) {
      TF_COUNTER("tunnel_peer_rejected").add();
      n.link->forget(p->id);
      return nullptr;
    }
    p->session = *s;
  }
  auto* raw = p.get();
  n.by_key[p->key] = raw;
  index_addresses(n, *raw);
  n.peers[p->id] = std::move(p);
  return raw;
}

void udp_tunnel::impl::remove_peer(node_slot& n, wire::node_id id) {
  auto i = n.peers.find(id);
  if (i == n.peers.end()) {
    return;
  }
  auto& p = *i->second;
  unindex_addresses(n, p);
  if (auto k = n.by_key.find(p.key); k != n.by_key.end() && k->second == &p) {
    n.by_key.erase(k);
  }
  if (p.session != nullptr) {
    n.dev->remove_peer(p.key);
  }
  TF_COUNTER("tunnel_peers_removed").add();
  n.peers.erase(i);
}

// -- timers --------------------------------------------------------------------------------

void udp_tunnel::impl::tick(wg::time_point now) {
  for (auto& [id, n] : nodes) {
    n->dev->for_each_peer([&](wg::session& s) {
      auto due = s.next_timer();
      if (!due || *due > now) {
        return;
      }
      auto a = s.tick(now);
      auto p = n->by_key.find(s.remote());
      handle_actions(*n, p == n->by_key.end() ? nullptr : p->second, a);
    });
  }
}

} // namespace tf::tunnel
