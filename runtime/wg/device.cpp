// SPDX-License-Identifier: Apache-2.0
// device: MAC1/cookie/flood checks in front of the sessions and datagram
// routing by receiver index or static key. Confined to its owner's thread.
#include "runtime/wg/device.hpp"

#include <algorithm>

#include "runtime/counters.hpp"

namespace tf::wg {

source_address source_address::from(const ip_endpoint& ep) noexcept {
  source_address out;
  size_t n = ep.addr.is_v4() ? 4 : 16;
  std::copy_n(ep.addr.bytes().begin(), n, out.bytes.begin());
  out.bytes[n] = static_cast<uint8_t>(ep.port >> 8);
  out.bytes[n + 1] = static_cast<uint8_t>(ep.port);
  out.len = static_cast<uint8_t>(n + 2);
  return out;
}

device::device(const node_private_key& key, device_options opts)
  : private_key_(key),
    public_key_(key.public_key()),
    opts_(std::move(opts)),
    checker_(public_key_.bytes()),
    indices_(opts_.indices ? opts_.indices : std::make_shared<index_table>()) {
}

device::~device() {
  sessions_.clear(); // sessions release their indices while the table lives
}

result<session*> device::add_peer(peer_options opts) {
  if (opts.public_key.is_zero() || opts.public_key == public_key_) {
    return make_error(errc::invalid_argument, "WireGuard device: peer key is zero or our own");
  }
  if (sessions_.contains(opts.public_key)) {
    return make_error(errc::invalid_argument, "WireGuard device: peer already exists");
  }
  auto key = opts.public_key;
  auto s = std::make_unique<session>(*this, std::move(opts));
  auto* raw = s.get();
  sessions_.emplace(key, std::move(s));
  return raw;
}

bool device::remove_peer(const node_public_key& key) {
  return sessions_.erase(key) > 0;
}

session* device::find_peer(const node_public_key& key) const noexcept {
  auto i = sessions_.find(key);
  return i == sessions_.end() ? nullptr : i->second.get();
}

bool device::is_addressed_to(std::span<const uint8_t> datagram) const noexcept {
  return checker_.check_mac1(datagram);
}

std::optional<time_point> device::next_timer() const {
  std::optional<time_point> out;
  for (auto& [key, s] : sessions_) {
    auto t = s->next_timer();
    if (t && (!out || *t < *out)) {
      out = t;
    }
  }
  return out;
}

bool device::admit_handshake(std::span<const uint8_t> d, std::span<const uint8_t> source,
                             time_point now, receive_result& res) {
  if (!checker_.check_mac1(d)) {
    TF_COUNTER("wg_rejected_bad_mac1").add();
    return false;
  }
  if (!under_load_) {
    return true;
  }
  if (!checker_.check_mac2(d, source, now)) {
    TF_COUNTER("wg_rejected_cookie_required").add();
    if (auto reply = checker_.make_reply(d, source, now)) {
      res.reply = serialize(*reply);
    }
    return false;
  }
  if (opts_.allow_handshake && !opts_.allow_handshake(source, now)) {
    TF_COUNTER("wg_rejected_rate_limited").add();
    return false;
  }
  return true;
}

receive_result device::receive(std::span<const uint8_t> d, std::span<const uint8_t> source,
                               time_point now) {
  receive_result res;
  auto type = peek_type(d);
  if (!type) {
    return res;
  }
  auto owner_of = [this](uint32_t index) -> session* {
    auto* s = indices_->find(index);
    if (s == nullptr) {
      TF_COUNTER("wg_rejected_unknown_index").add();
    }
    return s;
  };
  switch (*type) {
    case message_type::initiation: {
      auto msg = parse_initiation(d);
      if (!msg || !admit_handshake(d, source, now, res)) {
        return res;
      }
      auto hs = responder_handshake::read(private_key_, *msg);
      if (!hs) {
        return res;
      }
      auto* s = find_peer(hs->remote_static());
      if (s == nullptr) {
        TF_COUNTER("wg_rejected_unknown_peer").add();
        res.unknown_initiator = hs->remote_static();
        return res;
      }
      res.peer = s;
      res.out = s->on_initiation(std::move(*hs), now);
      return res;
    }
    case message_type::response: {
      auto msg = parse_response(d);
      session* s = msg ? owner_of(msg->receiver) : nullptr;
      if (s == nullptr || !s->owner().admit_handshake(d, source, now, res)) {
        return res;
      }
      res.peer = s;
      res.out = s->on_response(*msg, now);
      return res;
    }
    case message_type::cookie_reply: {
      auto msg = parse_cookie_reply(d);
      session* s = msg ? owner_of(msg->receiver) : nullptr;
      if (s != nullptr) {
        res.peer = s;
        res.out = s->on_cookie_reply(*msg, now);
      }
      return res;
    }
    case message_type::transport: {
      auto msg = parse_transport(d);
      session* s = msg ? owner_of(msg->receiver) : nullptr;
      if (s != nullptr) {
        res.peer = s;
        res.out = s->on_transport(*msg, now);
      }
      return res;
    }
  }
  return res;
}

} // namespace tf::wg
