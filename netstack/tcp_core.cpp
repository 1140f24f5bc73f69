// SPDX-License-Identifier: Apache-2.0
// tcp_core (see tcp_core.hpp): lwIP callbacks in, buffered bytes out. All
// code here runs under the core lock. The pcb pointer is dropped the moment
// lwIP may free it (error callback, or both FINs seen), never used after.
#include "netstack/tcp_core.hpp"

#include <algorithm>
#include <string>

#include "netstack/core_lock.hpp"
#include "netstack/stack_internal.hpp"
#include "netstack/tcp_park.hpp"
#include "runtime/counters.hpp"

namespace tf::netstack {

struct tcp_core_callbacks {
  static err_t on_recv(void* arg, tcp_pcb* pcb, pbuf* p, err_t err) {
    auto* c = static_cast<tcp_core*>(arg);
    if (c == nullptr) {
      if (p != nullptr) {
        pbuf_free(p);
      }
      return ERR_OK;
    }
    if (p == nullptr) {
      c->fin_ = true;
      if (c->wr_shut_) {
        c->detach_locked(); // both FINs seen: lwIP may free the pcb silently (TIME_WAIT)
        c->phase_ = tcp_core::phase::done;
      }
      c->notify_locked();
      if (c->events_.on_close) {
        c->events_.on_close(nullptr);
      }
      return ERR_OK;
    }
    // Readers wait only while nothing is buffered: wake them once per batch
    // of segments, not once per segment.
    bool was_empty = c->rx_len_ == 0;
    c->rx_len_ += p->tot_len;
    c->charged_ += p->tot_len;
    c->rx_.push_back(p);
    c->credit_locked();
    if (was_empty) {
      c->notify_locked();
    }
    if (c->events_.on_data) {
      c->events_.on_data(c->rx_len_);
    }
    return ERR_OK;
  }

  static err_t on_sent(void* arg, tcp_pcb* pcb, u16_t) {
    auto* c = static_cast<tcp_core*>(arg);
    if (c != nullptr) {
      // Writers wait for write_low_water bytes of room (or all of it): one
      // wake-up per chunk of ACKs instead of one per ACK.
      if (c->writable_locked() >= tcp_core::write_low_water || pcb->unacked == nullptr) {
        c->notify_locked();
      }
      if (c->events_.on_writable) {
        c->events_.on_writable(c->writable_locked());
      }
    }
    return ERR_OK;
  }

  static err_t on_connected(void* arg, tcp_pcb*, err_t) {
    auto* c = static_cast<tcp_core*>(arg);
    if (c != nullptr) {
      c->phase_ = tcp_core::phase::open;
      c->notify_locked();
      if (c->events_.on_writable) {
        c->events_.on_writable(c->writable_locked());
      }
    }
    return ERR_OK;
  }

  static void on_err(void* arg, err_t err) {
    auto* c = static_cast<tcp_core*>(arg);
    if (c == nullptr) {
      return;
    }
    c->parked_ = false; // only pcbs in lwIP's lists get errors: never a parked one
    c->pcb_ = nullptr;  // lwIP frees it after this callback
    bool connecting = c->phase_ == tcp_core::phase::connecting;
    std::string to = c->remote_.to_string();
    switch (err) {
      case ERR_RST:
        c->fail_locked(connecting ? make_error(errc::connection_lost, "connection refused by " + to)
                                  : make_error(errc::connection_lost, "connection reset by " + to));
        break;
      case ERR_CLSD:
        c->fail_locked(make_error(errc::closed, "connection closed by " + to));
        break;
      default:
        c->fail_locked(connecting ? make_error(errc::timeout, "no answer from " + to)
                                  : make_error(errc::connection_lost, "connection to " + to
                                                                        + " timed out"));
        break;
    }
  }
};

tcp_recv_fn detail::core_recv_fn() {
  return tcp_core_callbacks::on_recv;
}

void detail::park_access::set_parked(void* core_arg, bool parked) {
  static_cast<tcp_core*>(core_arg)->parked_ = parked;
}

void tcp_core::unpark_locked() {
  if (parked_ && pcb_ != nullptr) {
    detail::unpark_locked(pcb_);
  }
  parked_ = false;
}

std::shared_ptr<tcp_core> tcp_core::attach_locked(detail::node_state* node, tcp_pcb* pcb,
                                                  phase initial) {
  std::shared_ptr<tcp_core> c(new tcp_core, [](tcp_core* p) {
    core_guard g;
    delete p;
  });
  c->pcb_ = pcb;
  c->node_ = node;
  c->phase_ = initial;
  c->local_ = {from_lwip(pcb->local_ip), pcb->local_port};
  c->remote_ = {from_lwip(pcb->remote_ip), pcb->remote_port};
  node->sockets.insert(c.get());
  tcp_arg(pcb, c.get());
  tcp_recv(pcb, tcp_core_callbacks::on_recv);
  tcp_sent(pcb, tcp_core_callbacks::on_sent);
  tcp_err(pcb, tcp_core_callbacks::on_err);
  tcp_nagle_disable(pcb);
  return c;
}

tcp_core::~tcp_core() {
  close_locked();
  if (node_ != nullptr) {
    node_->sockets.erase(this);
  }
}

result<void> tcp_core::connect_locked(const ip_endpoint& dst) {
  if (pcb_ == nullptr || phase_ != phase::connecting) {
    return make_error(errc::closed, "connection not in its connecting phase");
  }
  ip_addr_t to = to_lwip(dst.addr);
  remote_ = dst;
  if (err_t e = tcp_connect(pcb_, &to, dst.port, tcp_core_callbacks::on_connected); e != ERR_OK) {
    return make_error(errc::internal, "tcp_connect failed: lwIP error " + std::to_string(e));
  }
  return {};
}

size_t tcp_core::writable_locked() const {
  if (pcb_ == nullptr || wr_shut_ || closed_ || phase_ != phase::open
      || tcp_sndqueuelen(pcb_) + 1 >= TCP_SND_QUEUELEN) {
    return 0;
  }
  return tcp_sndbuf(pcb_);
}

size_t tcp_core::read_locked(std::span<uint8_t> out, bool ack) {
  thread_local std::vector<rx_slice> taken;
  size_t n = take_locked(out.size(), taken);
  copy_taken(taken, out);
  finish_read_locked(taken, ack);
  return n;
}

size_t tcp_core::take_locked(size_t max, std::vector<rx_slice>& taken) {
  taken.clear();
  size_t done = 0;
  while (done < max && !rx_.empty()) {
    pbuf* p = rx_.front();
    size_t n = std::min<size_t>(p->tot_len - rx_off_, max - done);
    taken.push_back({p, static_cast<uint16_t>(rx_off_), static_cast<uint16_t>(n)});
    done += n;
    rx_off_ += n;
    if (rx_off_ == p->tot_len) {
      rx_.pop_front(); // rx_'s reference passes to the reader
      rx_off_ = 0;
    } else {
      pbuf_ref(p); // the rest stays buffered
    }
  }
  rx_len_ -= done;
  taken_ += done;
  return done;
}

void tcp_core::copy_taken(std::span<const rx_slice> taken, std::span<uint8_t> out) {
  size_t at = 0;
  for (const rx_slice& s : taken) {
    pbuf_copy_partial(s.p, out.data() + at, s.len, s.offset); // a plain memcpy: no lock needed
    at += s.len;
  }
}

void tcp_core::finish_read_locked(std::vector<rx_slice>& taken, bool ack) {
  size_t n = 0;
  for (const rx_slice& s : taken) {
    pbuf_free(s.p);
    n += s.len;
  }
  taken.clear();
  taken_ -= n;
  if (!ack) {
    unacked_ += n;
  }
  credit_locked();
}

void tcp_core::ack_locked(size_t n) {
  n = std::min(n, unacked_);
  unacked_ -= n;
  credit_locked();
}

void tcp_core::set_receive_buffer_locked(size_t bytes) {
  if (bytes >= 4 * window) {
    widen_window_locked();
  }
  bytes = std::max(bytes, window_);
  if (bytes != receive_buffer_) {
    receive_buffer_ = bytes;
    credit_locked();
  }
}

// widen_window_locked: lwIP's window is TCP_WND (64 KiB) although window
// scaling is compiled in and negotiated (scale 1), so the header can carry
// twice that. rcv_wnd is lwIP's plain field; tcp_recved would clamp it to
// TCP_WND, which is why open_window_locked does tcp_recved's work itself.
void tcp_core::widen_window_locked() {
  if (pcb_ == nullptr || window_ != window || (pcb_->flags & TF_WND_SCALE) == 0
      || pcb_->state != ESTABLISHED) {
    return;
  }
  size_t wide = std::min(wide_window, size_t{0xffff} << pcb_->rcv_scale);
  size_t extra = wide - window;
  window_ = wide;
  open_window_locked(extra);
}

void tcp_core::widen_send_buffer_locked() {
  if (pcb_ == nullptr || wide_send_ || phase_ != phase::open) {
    return;
  }
  wide_send_ = true; // decided once, either way
  if (node_ != nullptr && node_->in_memory_to && node_->in_memory_to(remote_.addr)) {
    TF_COUNTER("netstack_tcp_send_buffer_kept_in_memory").add();
    return;
  }
  // snd_buf counts free send-buffer bytes; lwIP adds acked bytes back
  // without a cap, so raising it once raises the buffer for good. Its
  // segment limit (TCP_SND_QUEUELEN, 180) still bounds it: 223 KB at the
  // tailnet's MSS.
  pcb_->snd_buf += static_cast<tcpwnd_size_t>(wide_send_buffer - TCP_SND_BUF);
}

void tcp_core::open_window_locked(size_t n) {
  if (pcb_ == nullptr || n == 0) {
    return;
  }
  unpark_locked(); // the window update is a segment: the pcb must be in lwIP's list
  pcb_->rcv_wnd = static_cast<tcpwnd_size_t>(std::min<size_t>(pcb_->rcv_wnd + n, window_));
  if (tcp_update_rcv_ann_wnd(pcb_) >= TCP_WND_UPDATE_THRESHOLD) {
    tcp_ack_now(pcb_);
    tcp_output(pcb_);
  }
}

// credit_locked acks (reopens the window for) every charged byte except
// those that must stay charged so that held bytes never exceed the receive
// buffer: the peer may send one window beyond the acked bytes, so at most
// receive_buffer_ - window_ held bytes may be acked before they are consumed.
void tcp_core::credit_locked() {
  size_t held = rx_len_ + taken_ + unacked_;
  size_t may_hold_acked = receive_buffer_ - window_;
  size_t keep = held > may_hold_acked ? held - may_hold_acked : 0;
  keep = std::min(keep, charged_);
  size_t n = charged_ - keep;
  charged_ = keep;
  detail::count_rx_held_locked(held, held_);
  held_ = held;
  open_window_locked(n);
}

size_t tcp_core::write_locked(std::span<const uint8_t> data) {
  if (!data.empty()) {
    unpark_locked();
  }
  size_t done = 0;
  while (done < data.size()) {
    size_t room = writable_locked();
    if (room == 0) {
      break;
    }
    size_t segs = TCP_SND_QUEUELEN - 1 - tcp_sndqueuelen(pcb_);
    size_t n = std::min({room, data.size() - done, segs * tcp_mss(pcb_), size_t{0xffff}});
    err_t e = ERR_MEM;
    while (n > 0 && (e = tcp_write(pcb_, data.data() + done, static_cast<u16_t>(n),
                                   TCP_WRITE_FLAG_COPY)) == ERR_MEM) {
      n = n > tcp_mss(pcb_) ? n / 2 : 0; // the segment queue is full: try less
    }
    if (e != ERR_OK) {
      break;
    }
    done += n;
  }
  if (done > 0) {
    tcp_output(pcb_);
  }
  return done;
}

result<void> tcp_core::shutdown_write_locked() {
  if (error_) {
    return *error_;
  }
  if (closed_) {
    return make_error(errc::closed, "connection closed");
  }
  if (wr_shut_) {
    return {};
  }
  if (pcb_ == nullptr || phase_ != phase::open) {
    return make_error(errc::closed, "connection not open");
  }
  wr_shut_ = true;
  unpark_locked();
  tcp_shutdown(pcb_, 0, 1);
  if (fin_) {
    detach_locked(); // LAST_ACK: lwIP finishes and frees the pcb itself
    phase_ = phase::done;
  }
  notify_locked();
  return {};
}

void tcp_core::close_locked() {
  if (closed_) {
    return;
  }
  closed_ = true;
  bool unread = rx_len_ + unacked_ > 0;
  for (pbuf* p : rx_) {
    pbuf_free(p);
  }
  rx_.clear();
  rx_len_ = 0;
  unacked_ = 0;
  charged_ = 0;
  detail::count_rx_held_locked(taken_, held_); // a reader may still be copying
  held_ = taken_;
  if (pcb_ != nullptr) {
    tcp_pcb* p = pcb_;
    detach_locked();
    if (unread) {
      tcp_abort(p); // RST, as Linux closes a socket with unread data
    } else {
      // Everything was read. lwIP judges that by a full window, which a
      // widened one (widen_window_locked) never equals: say so, and it
      // sends FIN.
      p->rcv_wnd = TCP_WND_MAX(p);
      if (tcp_close(p) != ERR_OK) {
        tcp_abort(p);
      }
    }
  }
  phase_ = phase::done;
  if (!error_) {
    error_ = make_error(errc::closed, "connection closed");
  }
  notify_locked();
}

void tcp_core::abort_locked() {
  if (pcb_ != nullptr) {
    tcp_pcb* p = pcb_;
    detach_locked();
    tcp_abort(p);
  }
  close_locked();
}

void tcp_core::set_events_locked(conn_events events) {
  events_ = std::move(events);
}

void tcp_core::node_gone_locked() {
  if (pcb_ != nullptr) {
    tcp_pcb* p = pcb_;
    detach_locked();
    tcp_abort(p);
  }
  node_ = nullptr;
  fail_locked(make_error(errc::closed, "node removed"));
}

void tcp_core::peer_gone_locked(const ip_addr& remote) {
  if (remote_.addr != remote || phase_ == phase::done) {
    return;
  }
  if (pcb_ != nullptr) {
    tcp_pcb* p = pcb_;
    detach_locked();
    tcp_abort(p);
  }
  fail_locked(make_error(errc::connection_lost, "the peer left the tailnet"));
}

void tcp_core::detach_locked() {
  if (pcb_ == nullptr) {
    return;
  }
  unpark_locked(); // lwIP's close/abort expect the pcb on its list
  tcp_arg(pcb_, nullptr);
  if (pcb_->state != LISTEN) {
    tcp_recv(pcb_, nullptr);
    tcp_sent(pcb_, nullptr);
  }
  tcp_err(pcb_, nullptr);
  pcb_ = nullptr;
}

void tcp_core::fail_locked(failure f) {
  phase_ = phase::done;
  if (error_) {
    notify_locked();
    return;
  }
  error_ = std::move(f);
  notify_locked();
  if (events_.on_close) {
    events_.on_close(&*error_);
  }
}

void tcp_core::notify_locked() {
  detail::notify_after_unlock(weak_from_this(), cv_);
}

} // namespace tf::netstack
