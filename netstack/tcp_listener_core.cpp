// SPDX-License-Identifier: Apache-2.0
// tcp_listener_core (see tcp_listener_core.hpp). Runs under the core lock.
#include "netstack/tcp_listener_core.hpp"

#include <string>

#include <absl/container/flat_hash_set.h>

#include "netstack/bind.hpp"
#include "netstack/core_lock.hpp"
#include "runtime/counters.hpp"

namespace tf::netstack {

namespace {

// Closing a listening pcb with tcp_close unlinks it from lwIP's singly
// linked listen list: a walk to its predecessor. Removing 10,000 nodes
// (20,000 listeners) took 2.9 s that way. Instead a closed listener is
// disabled at once (an interface index that never matches, so tcp_input
// skips it and SYNs get RST) and a reaper on the tcpip thread unlinks all
// disabled ones in one walk, at most every 100 ms.
constexpr u8_t dead_netif_idx = 255; // lwIP numbers netifs 1..255; ours is 1

bool reap_scheduled = false; // guards: the core lock

void reap_dead_listeners(void*) {
  reap_scheduled = false;
  absl::flat_hash_set<tcp_pcb_listen*> dead;
  tcp_pcb_listen** link = &tcp_listen_pcbs.listen_pcbs;
  while (*link != nullptr) {
    if ((*link)->netif_idx == dead_netif_idx) {
      dead.insert(*link);
      *link = (*link)->next;
    } else {
      link = &(*link)->next;
    }
  }
  if (dead.empty()) {
    return;
  }
  // What tcp_listen_closed does per listener, for all of them in one walk.
  for (tcp_pcb* list : {tcp_active_pcbs, tcp_tw_pcbs, tcp_bound_pcbs}) {
    for (tcp_pcb* p = list; p != nullptr; p = p->next) {
      if (p->listener != nullptr && dead.contains(p->listener)) {
        p->listener = nullptr;
      }
    }
  }
  for (tcp_pcb_listen* p : dead) {
    memp_free(MEMP_TCP_PCB_LISTEN, p);
  }
}

// refuse_late_accept answers a handshake that completes on a retired
// listener before the reaper ran: lwIP asserts that a listener it still
// links to has an accept callback (tcp_in.c, SYN_RCVD), and resets the
// connection when the callback returns an error, as Linux resets what
// waited in a closed listener's queue.
err_t refuse_late_accept(void*, tcp_pcb*, err_t) {
  TF_COUNTER("netstack_tcp_accept_after_close").add();
  return ERR_VAL;
}

void retire_listen_pcb_locked(tcp_pcb* p) {
  tcp_arg(p, nullptr);
  tcp_accept(p, refuse_late_accept);
  p->netif_idx = dead_netif_idx;
  p->local_port = 0;
  ip_addr_set_any(IP_IS_V6_VAL(p->local_ip), &p->local_ip);
  if (reap_scheduled) {
    return;
  }
  reap_scheduled = true;
  auto arm = [](void*) { sys_timeout(100, reap_dead_listeners, nullptr); };
  if (on_tcpip_thread()) {
    arm(nullptr);
  } else if (tcpip_try_callback(arm, nullptr) != ERR_OK) {
    reap_scheduled = false; // mbox full: the next close tries again
  }
}

} // namespace

bool detail::is_dead_listener(const tcp_pcb_listen* p) {
  return p->netif_idx == dead_netif_idx;
}

struct tcp_listener_callbacks {
  static err_t on_accept(void* arg, tcp_pcb* pcb, err_t err) {
    auto* l = static_cast<tcp_listener_core*>(arg);
    if (pcb == nullptr || err != ERR_OK) {
      return ERR_VAL;
    }
    if (l == nullptr || l->error_ || l->node_ == nullptr
        || (!l->on_accept_ && l->pending_.size() >= tcp_listener_core::max_pending)) {
      TF_COUNTER("netstack_tcp_accept_queue_full").add();
      tcp_abort(pcb);
      return ERR_ABRT;
    }
    auto c = tcp_core::attach_locked(l->node_, pcb, tcp_core::phase::open);
    if (l->on_accept_) {
      l->on_accept_(std::move(c));
    } else {
      l->pending_.push_back(std::move(c));
      l->cv_.notify_all();
      if (l->on_ready_) {
        l->on_ready_();
      }
    }
    return ERR_OK;
  }
};

result<std::shared_ptr<tcp_listener_core>>
tcp_listener_core::open_locked(node_id node, const ip_endpoint& local) {
  auto plan = detail::plan_bind_locked(node, local, detail::port_kind::tcp_listen);
  if (!plan) {
    return plan.error();
  }
  auto* n = plan->node;
  auto* addrs = &plan->addrs;
  uint16_t port = plan->port;
  std::shared_ptr<tcp_listener_core> l(new tcp_listener_core, [](tcp_listener_core* p) {
    core_guard g;
    delete p;
  });
  l->node_ = n;
  l->port_ = port;
  n->sockets.insert(l.get());
  for (size_t i = 0; i < addrs->size(); ++i) {
    const ip_addr_t* a = (*addrs)[i];
    if (!detail::claim_port_locked(detail::port_kind::tcp_listen, from_lwip(*a), port, l.get())) {
      return make_error(errc::invalid_argument,
                        "port " + std::to_string(port) + " is in use on " + from_lwip(*a).to_string());
    }
    l->claims_.push_back(from_lwip(*a));
    tcp_pcb* pcb = tcp_new_ip_type(IP_GET_TYPE(a));
    if (pcb == nullptr) {
      return make_error(errc::internal, "out of memory for a listener");
    }
    detail::bind_listener_locked(pcb, *a, port);
    err_t e = ERR_OK;
    tcp_pcb* lpcb = tcp_listen_with_backlog_and_err(pcb, TCP_DEFAULT_LISTEN_BACKLOG, &e);
    if (lpcb == nullptr) {
      tcp_close(pcb);
      return make_error(errc::internal, "tcp_listen failed: lwIP error " + std::to_string(e));
    }
    tcp_arg(lpcb, l.get());
    tcp_accept(lpcb, tcp_listener_callbacks::on_accept);
    l->pcbs_[i] = lpcb;
  }
  return l;
}

tcp_listener_core::~tcp_listener_core() {
  close_locked(make_error(errc::closed, "listener closed"));
  if (node_ != nullptr) {
    node_->sockets.erase(this);
  }
}

std::shared_ptr<tcp_core> tcp_listener_core::pop_locked() {
  if (pending_.empty()) {
    return nullptr;
  }
  auto c = std::move(pending_.front());
  pending_.pop_front();
  return c;
}

void tcp_listener_core::set_on_accept_locked(std::function<void(std::shared_ptr<tcp_core>)> fn) {
  on_accept_ = std::move(fn);
  while (on_accept_ && !pending_.empty()) {
    on_accept_(pop_locked());
  }
}

void tcp_listener_core::set_on_ready_locked(std::function<void()> fn) {
  on_ready_ = std::move(fn);
  if (on_ready_ && (!pending_.empty() || error_)) {
    on_ready_();
  }
}

void tcp_listener_core::close_locked(failure why) {
  for (tcp_pcb*& p : pcbs_) {
    if (p != nullptr) {
      retire_listen_pcb_locked(p);
      p = nullptr;
    }
  }
  for (const ip_addr& a : claims_) {
    detail::release_port_locked(detail::port_kind::tcp_listen, a, port_);
  }
  claims_.clear();
  for (auto& c : pending_) {
    c->abort_locked();
  }
  pending_.clear();
  if (!error_) {
    error_ = std::move(why);
  }
  cv_.notify_all();
  if (on_ready_) {
    on_ready_();
  }
}

void tcp_listener_core::node_gone_locked() {
  close_locked(make_error(errc::closed, "node removed"));
  node_ = nullptr;
}

} // namespace tf::netstack
