// SPDX-License-Identifier: Apache-2.0
// session: handshake initiation and the timer state machine (whitepaper 6.1-
// 6.5, wireguard-go device/timers.go). Timers are deadlines compared with the
// `now` the driver passes; nothing here sleeps or reads a clock. Confined to
// the owning device's thread.
#include <algorithm>

#include "runtime/counters.hpp"
#include "runtime/wg/device.hpp"
#include "runtime/wg/session.hpp"

namespace tf::wg {

namespace {

bool due(const std::optional<time_point>& t, time_point now) noexcept {
  return t && *t <= now;
}

void earliest(std::optional<time_point>& out, std::optional<time_point> t) noexcept {
  if (t && (!out || *t < *out)) {
    out = t;
  }
}

} // namespace

duration session::jitter() const {
  uint32_t r = 0;
  random_bytes(&r, sizeof(r));
  auto max_ms = static_cast<uint32_t>(rekey_timeout_jitter_max.count());
  return std::chrono::milliseconds{r % max_ms};
}

// -- handshake initiation -------------------------------------------------------------

void session::begin_handshake(time_point now, bool is_retry, actions& out) {
  if (!is_retry) {
    attempt_started_ = now; // a fresh reason to talk restarts the attempt budget
    if (last_initiation_sent_ && now - *last_initiation_sent_ < rekey_timeout) {
      return; // at most one initiation per rekey_timeout
    }
  }
  auto ts = make_tai64n(owner_.wall_at(now));
  if (!is_after(ts, last_sent_timestamp_)) {
    ts = successor(last_sent_timestamp_);
  }
  if (pending_) {
    owner_.indices().release(pending_->local_index());
    pending_.reset();
  }
  auto index = owner_.indices().allocate(this);
  auto hs = initiator_handshake::begin(owner_.private_key(), opts_.public_key, opts_.psk, index,
                                       ts);
  if (!hs) {
    owner_.indices().release(index);
    TF_COUNTER("wg_handshake_create_failed").add();
    return;
  }
  last_sent_timestamp_ = ts;
  auto bytes = serialize(hs->message());
  cookies_.add_macs(bytes, now);
  pending_.emplace(std::move(*hs));
  last_initiation_sent_ = now;
  out.datagrams.push_back(std::move(bytes));
  packet_sent(now, false);
  retransmit_at_ = now + rekey_timeout + jitter();
}

void session::give_up(actions& out) {
  if (pending_) {
    owner_.indices().release(pending_->local_index());
    pending_.reset();
  }
  if (!staged_.empty()) {
    TF_COUNTER("wg_dropped_staged_gave_up").add(staged_.size());
    staged_.clear();
  }
  retransmit_at_.reset();
  new_handshake_at_.reset();
  out.events.push_back(event::handshake_gave_up);
}

void session::handshake_completed() noexcept {
  retransmit_at_.reset();
  sent_last_minute_handshake_ = false;
}

// -- timer bookkeeping (wireguard-go's timers* hooks) ----------------------------------

void session::packet_sent(time_point now, bool data) {
  keepalive_at_.reset(); // we said something: no passive keepalive owed
  if (data && !new_handshake_at_) {
    // Data out, nothing back within this: the peer may have lost our keys.
    new_handshake_at_ = now + keepalive_timeout + rekey_timeout + jitter();
  }
  if (opts_.persistent_keepalive.count() > 0) {
    persistent_keepalive_at_ = now + opts_.persistent_keepalive;
  }
}

void session::packet_received(time_point now, bool data) {
  new_handshake_at_.reset();
  if (data && !keepalive_at_) {
    keepalive_at_ = now + keepalive_timeout;
  }
}

void session::expire_keypairs(time_point now, actions& out) {
  auto expired = [now](const std::unique_ptr<keypair>& kp) {
    return kp && kp->age(now) >= reject_after_time;
  };
  if (expired(current_)) {
    drop(current_);
    out.events.push_back(event::keys_expired);
  }
  if (expired(previous_)) {
    drop(previous_);
  }
  if (expired(next_)) {
    drop(next_);
  }
}

// -- tick ---------------------------------------------------------------------------------

actions session::tick(time_point now) {
  actions out;
  expire_keypairs(now, out);
  if (due(retransmit_at_, now)) {
    retransmit_at_.reset();
    if (now - attempt_started_ >= rekey_attempt_time) {
      give_up(out);
    } else {
      TF_COUNTER("wg_handshake_retries").add();
      begin_handshake(now, true, out);
    }
  }
  if (due(new_handshake_at_, now)) {
    new_handshake_at_.reset();
    begin_handshake(now, false, out);
  }
  if (due(keepalive_at_, now)) {
    keepalive_at_.reset();
    if (sendable(now) != nullptr) {
      send_keepalive(now, out);
    }
  }
  if (due(persistent_keepalive_at_, now)) {
    persistent_keepalive_at_.reset();
    send_keepalive(now, out);
  }
  return out;
}

std::optional<time_point> session::next_timer() const {
  std::optional<time_point> out;
  earliest(out, retransmit_at_);
  earliest(out, new_handshake_at_);
  earliest(out, keepalive_at_);
  earliest(out, persistent_keepalive_at_);
  for (auto* kp : {current_.get(), previous_.get(), next_.get()}) {
    if (kp != nullptr) {
      earliest(out, kp->created + reject_after_time);
    }
  }
  return out;
}

} // namespace tf::wg
