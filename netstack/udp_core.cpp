// SPDX-License-Identifier: Apache-2.0
// udp_core (see udp_core.hpp). Runs under the core lock. Sends with an
// explicit source address (udp_sendto_if_src): lwIP's plain udp_sendto
// refuses a source that is not the netif's own address.
#include "netstack/udp_core.hpp"

#include <string>

#include "netstack/bind.hpp"
#include "netstack/core_lock.hpp"
#include "runtime/counters.hpp"

namespace tf::netstack {

struct udp_callbacks {
  static void on_recv(void* arg, udp_pcb*, pbuf* p, const ip_addr_t* addr, u16_t port) {
    auto* u = static_cast<udp_core*>(arg);
    if (u == nullptr || u->error_) {
      pbuf_free(p);
      return;
    }
    if (!u->on_datagram_ && (u->queue_.size() >= udp_core::max_queued
                             || u->queued_bytes_ + p->tot_len > udp_core::max_queued_bytes)) {
      TF_COUNTER("netstack_udp_rx_queue_full").add();
      pbuf_free(p);
      return;
    }
    datagram d;
    d.from = {from_lwip(*addr), port};
    d.payload.resize(p->tot_len);
    pbuf_copy_partial(p, d.payload.data(), p->tot_len, 0);
    pbuf_free(p);
    if (u->on_datagram_) {
      u->on_datagram_(std::move(d));
      return;
    }
    u->queued_bytes_ += d.payload.size();
    u->queue_.push_back(std::move(d));
    u->cv_.notify_all();
  }
};

result<std::shared_ptr<udp_core>> udp_core::open_locked(node_id node, const ip_endpoint& local) {
  auto plan = detail::plan_bind_locked(node, local, detail::port_kind::udp);
  if (!plan) {
    return plan.error();
  }
  auto* n = plan->node;
  auto* addrs = &plan->addrs;
  uint16_t port = plan->port;
  std::shared_ptr<udp_core> u(new udp_core, [](udp_core* p) {
    core_guard g;
    delete p;
  });
  u->node_ = n;
  u->port_ = port;
  n->sockets.insert(u.get());
  for (size_t i = 0; i < addrs->size(); ++i) {
    const ip_addr_t* a = (*addrs)[i];
    if (!detail::claim_port_locked(detail::port_kind::udp, from_lwip(*a), port, u.get())) {
      return make_error(errc::invalid_argument, "UDP port " + std::to_string(port)
                                                  + " is in use on " + from_lwip(*a).to_string());
    }
    u->claims_.push_back(from_lwip(*a));
    udp_pcb* pcb = udp_new_ip_type(IP_GET_TYPE(a));
    if (pcb == nullptr) {
      return make_error(errc::internal, "out of memory for a UDP socket");
    }
    detail::bind_udp_locked(pcb, *a, port);
    udp_recv(pcb, udp_callbacks::on_recv, u.get());
    u->pcbs_[i] = pcb;
  }
  return u;
}

udp_core::~udp_core() {
  close_locked(make_error(errc::closed, "socket closed"));
  if (node_ != nullptr) {
    node_->sockets.erase(this);
  }
}

std::optional<datagram> udp_core::pop_locked() {
  if (queue_.empty()) {
    return std::nullopt;
  }
  datagram d = std::move(queue_.front());
  queue_.pop_front();
  queued_bytes_ -= d.payload.size();
  return d;
}

result<void> udp_core::send_to_locked(std::span<const uint8_t> payload, const ip_endpoint& to) {
  if (error_) {
    return *error_;
  }
  if (auto ok = detail::check_remote(*node_, to); !ok) {
    return ok.error();
  }
  ip_addr dst = to.addr.unmap();
  size_t max = mtu - (dst.is_v4() ? 28 : 48);
  if (payload.size() > max) {
    return make_error(errc::invalid_argument,
                      "datagram of " + std::to_string(payload.size()) + " bytes exceeds "
                        + std::to_string(max) + " (no fragmentation)");
  }
  udp_pcb* pcb = nullptr;
  for (udp_pcb* p : pcbs_) {
    if (p != nullptr && IP_IS_V4_VAL(p->local_ip) == dst.is_v4()) {
      pcb = p;
    }
  }
  if (pcb == nullptr) {
    return make_error(errc::invalid_argument, "socket not bound to an address of that family");
  }
  pbuf* p = pbuf_alloc(PBUF_TRANSPORT, static_cast<u16_t>(payload.size()), PBUF_RAM);
  if (p == nullptr) {
    return make_error(errc::internal, "out of memory for a datagram");
  }
  pbuf_take(p, payload.data(), static_cast<u16_t>(payload.size()));
  ip_addr_t lw_dst = to_lwip(dst);
  err_t e = udp_sendto_if_src(pcb, p, &lw_dst, to.port, detail::the_netif(), &pcb->local_ip);
  pbuf_free(p);
  if (e != ERR_OK) {
    return make_error(errc::internal, "udp send failed: lwIP error " + std::to_string(e));
  }
  return {};
}

void udp_core::set_on_datagram_locked(std::function<void(datagram)> fn) {
  on_datagram_ = std::move(fn);
  while (on_datagram_ && !queue_.empty()) {
    on_datagram_(*pop_locked());
  }
}

void udp_core::close_locked(failure why) {
  for (udp_pcb*& p : pcbs_) {
    if (p != nullptr) {
      udp_remove(p);
      p = nullptr;
    }
  }
  for (const ip_addr& a : claims_) {
    detail::release_port_locked(detail::port_kind::udp, a, port_);
  }
  claims_.clear();
  queue_.clear();
  queued_bytes_ = 0;
  if (!error_) {
    error_ = std::move(why);
  }
  cv_.notify_all();
}

void udp_core::node_gone_locked() {
  close_locked(make_error(errc::closed, "node removed"));
  node_ = nullptr;
}

} // namespace tf::netstack
