// SPDX-License-Identifier: Apache-2.0
// session: sending, receiving and keypair rotation of one peer (whitepaper
// 6.1-6.3, wireguard-go device/send.go, receive.go, peer.go). Confined to the
// owning device's thread; handshakes and timers are in session_timers.cpp.
#include "runtime/wg/session.hpp"

#include <iterator>

#include "runtime/counters.hpp"
#include "runtime/wg/device.hpp"

namespace tf::wg {

void actions::append(actions&& other) {
  std::move(other.datagrams.begin(), other.datagrams.end(), std::back_inserter(datagrams));
  std::move(other.packets.begin(), other.packets.end(), std::back_inserter(packets));
  events.insert(events.end(), other.events.begin(), other.events.end());
  authenticated = authenticated || other.authenticated;
}

session::session(device& owner, peer_options opts)
  : owner_(owner), opts_(std::move(opts)), cookies_(opts_.public_key.bytes()) {
}

session::~session() {
  drop(current_);
  drop(previous_);
  drop(next_);
  if (pending_) {
    owner_.indices().release(pending_->local_index());
  }
}

// -- keypairs -------------------------------------------------------------------------

void session::drop(std::unique_ptr<keypair>& slot) noexcept {
  if (slot) {
    owner_.indices().release(slot->local_index);
    slot.reset();
  }
}

keypair* session::find_keypair(uint32_t local_index) const noexcept {
  for (auto* kp : {current_.get(), previous_.get(), next_.get()}) {
    if (kp != nullptr && kp->local_index == local_index) {
      return kp;
    }
  }
  return nullptr;
}

keypair* session::sendable(time_point now) const noexcept {
  auto* kp = current_.get();
  if (kp == nullptr || kp->age(now) >= reject_after_time
      || kp->send_counter >= reject_after_messages) {
    return nullptr;
  }
  return kp;
}

void session::confirm_next(time_point now, actions& out) {
  drop(previous_);
  previous_ = std::move(current_);
  current_ = std::move(next_);
  out.events.push_back(event::handshake_complete);
  handshake_completed();
  if (!staged_.empty()) {
    flush_staged(now, out);
  }
}

// -- sending ----------------------------------------------------------------------------

void session::stage(std::vector<uint8_t> packet) {
  while (!staged_.empty() && staged_.size() >= opts_.max_staged_packets) {
    staged_.pop_front();
    TF_COUNTER("wg_dropped_staged_overflow").add();
  }
  if (opts_.max_staged_packets > 0) {
    staged_.push_back(std::move(packet));
  } else {
    TF_COUNTER("wg_dropped_staged_overflow").add();
  }
}

void session::flush_staged(time_point now, actions& out) {
  auto* kp = sendable(now);
  if (kp == nullptr) {
    begin_handshake(now, false, out);
    return;
  }
  bool sent = false;
  bool data = false;
  while (!staged_.empty()) {
    auto msg = seal_transport(*kp, staged_.front());
    if (!msg) {
      break; // counter used up: keep the rest staged for the next keypair
    }
    data = data || !staged_.front().empty();
    staged_.pop_front();
    out.datagrams.push_back(std::move(*msg));
    sent = true;
  }
  if (sent) {
    packet_sent(now, data);
  }
  // Keep the key fresh (whitepaper 6.2): rekey on message count, and as the
  // initiator on age.
  if (!staged_.empty() || kp->send_counter > rekey_after_messages
      || (kp->initiator && kp->age(now) >= rekey_after_time)) {
    begin_handshake(now, false, out);
  }
}

void session::send_keepalive(time_point now, actions& out) {
  if (staged_.empty()) {
    staged_.emplace_back();
  }
  flush_staged(now, out);
}

actions session::send(std::span<const uint8_t> packet, time_point now) {
  actions out;
  if (packet.size() > max_packet_len) {
    TF_COUNTER("wg_rejected_oversize_packet").add();
    return out;
  }
  if (packet.empty()) {
    TF_COUNTER("wg_rejected_empty_packet").add(); // keepalives are the session's
    return out;
  }
  stage({packet.begin(), packet.end()});
  flush_staged(now, out);
  return out;
}

// -- receiving ----------------------------------------------------------------------------

actions session::receive(std::span<const uint8_t> d, time_point now) {
  auto type = peek_type(d);
  if (!type) {
    return {};
  }
  bool handshake = *type == message_type::initiation || *type == message_type::response;
  if (handshake && d.size() >= 2 * mac_len && !owner_.checker().check_mac1(d)) {
    TF_COUNTER("wg_rejected_bad_mac1").add();
    return {};
  }
  switch (*type) {
    case message_type::initiation: {
      auto msg = parse_initiation(d);
      if (!msg) {
        return {};
      }
      auto hs = responder_handshake::read(owner_.private_key(), *msg);
      if (!hs) {
        return {};
      }
      if (hs->remote_static() != opts_.public_key) {
        TF_COUNTER("wg_rejected_unknown_peer").add();
        return {};
      }
      return on_initiation(std::move(*hs), now);
    }
    case message_type::response: {
      auto msg = parse_response(d);
      return msg ? on_response(*msg, now) : actions{};
    }
    case message_type::cookie_reply: {
      auto msg = parse_cookie_reply(d);
      return msg ? on_cookie_reply(*msg, now) : actions{};
    }
    case message_type::transport: {
      auto msg = parse_transport(d);
      return msg ? on_transport(*msg, now) : actions{};
    }
  }
  return {};
}

actions session::on_initiation(responder_handshake hs, time_point now) {
  actions out;
  if (last_initiation_consumed_) {
    if (!is_after(hs.timestamp(), last_received_timestamp_)) {
      TF_COUNTER("wg_rejected_replayed_initiation").add();
      return out;
    }
    if (now - *last_initiation_consumed_ < handshake_initiation_rate) {
      TF_COUNTER("wg_rejected_initiation_flood").add();
      return out;
    }
  }
  last_received_timestamp_ = hs.timestamp();
  last_initiation_consumed_ = now;
  auto index = owner_.indices().allocate(this);
  auto r = hs.respond(opts_.psk, index, now);
  if (!r) {
    owner_.indices().release(index);
    TF_COUNTER("wg_handshake_create_failed").add();
    return out;
  }
  auto bytes = serialize(r->msg);
  cookies_.add_macs(bytes, now);
  // Responder rotation: the new keypair waits in `next` for confirmation.
  drop(next_);
  drop(previous_);
  next_ = std::move(r->keys);
  out.datagrams.push_back(std::move(bytes));
  out.authenticated = true;
  packet_received(now, false);
  packet_sent(now, false);
  return out;
}

actions session::on_response(const response_msg& msg, time_point now) {
  actions out;
  if (!pending_ || pending_->local_index() != msg.receiver) {
    TF_COUNTER("wg_rejected_unknown_index").add();
    return out;
  }
  auto kp = pending_->complete(msg, now);
  if (!kp) {
    return out;
  }
  pending_.reset(); // its index now belongs to the keypair
  // Initiator rotation: an unconfirmed `next` becomes previous, else current.
  if (next_) {
    drop(current_);
    drop(previous_);
    previous_ = std::move(next_);
  } else {
    drop(previous_);
    previous_ = std::move(current_);
  }
  current_ = std::move(*kp);
  out.authenticated = true;
  out.events.push_back(event::handshake_complete);
  handshake_completed();
  packet_received(now, false);
  send_keepalive(now, out); // sends the staged packets, or confirms with a keepalive
  return out;
}

actions session::on_cookie_reply(const cookie_reply_msg& msg, time_point now) {
  (void) cookies_.consume_reply(msg, now); // counted inside on failure
  return {};
}

actions session::on_transport(const transport_view& msg, time_point now) {
  actions out;
  auto* kp = find_keypair(msg.receiver);
  if (kp == nullptr) {
    TF_COUNTER("wg_rejected_unknown_index").add();
    return out;
  }
  if (kp->age(now) >= reject_after_time || msg.counter >= reject_after_messages) {
    TF_COUNTER("wg_rejected_expired_keypair").add();
    return out;
  }
  auto plain = open_transport(*kp, msg);
  if (!plain) {
    return out;
  }
  out.authenticated = true;
  bool confirm = kp == next_.get();
  if (!confirm && current_ && current_->initiator && !sent_last_minute_handshake_
      && current_->age(now) >= reject_after_time - keepalive_timeout - rekey_timeout) {
    // Whitepaper 6.2: the initiator rekeys before the responder's keys die.
    sent_last_minute_handshake_ = true;
    begin_handshake(now, false, out);
  }
  bool data = !plain->empty();
  if (data) {
    auto len = inner_packet_len(*plain);
    if (!len) {
      TF_COUNTER("wg_rejected_bad_inner_packet").add();
      data = false;
    } else {
      plain->resize(*len);
      out.packets.push_back(std::move(*plain));
    }
  }
  packet_received(now, data);
  if (confirm) {
    confirm_next(now, out);
  }
  return out;
}

} // namespace tf::wg
