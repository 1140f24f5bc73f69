// SPDX-License-Identifier: Apache-2.0
// WireGuard's handshake over tf::noise::handshake_state (pattern IKpsk2):
// message bodies are the Noise messages split into the wire fields.
// Confined to the owning session.
#include "runtime/wg/handshake.hpp"

#include <cstring>

#include "runtime/counters.hpp"

namespace tf::wg {

namespace {

std::span<const uint8_t> prologue_bytes() noexcept {
  return {reinterpret_cast<const uint8_t*>(prologue.data()), prologue.size()};
}

std::unique_ptr<keypair> make_keypair(noise::transport_keys keys, uint32_t local_index,
                                      uint32_t remote_index, time_point now,
                                      bool initiator) {
  auto kp = std::make_unique<keypair>();
  kp->send = keys.send;
  kp->receive = keys.receive;
  kp->local_index = local_index;
  kp->remote_index = remote_index;
  kp->created = now;
  kp->initiator = initiator;
  return kp;
}

} // namespace

// -- initiator --------------------------------------------------------------------

result<initiator_handshake> initiator_handshake::begin(const node_private_key& local,
                                                       const node_public_key& remote,
                                                       const preshared_key& psk,
                                                       uint32_t local_index,
                                                       const tai64n& timestamp) {
  noise::handshake_options opts;
  opts.pattern = noise::handshake_pattern::ikpsk2;
  opts.role = noise::handshake_role::initiator;
  opts.prologue = prologue_bytes();
  opts.local_static = local.bytes();
  opts.remote_static = remote.bytes();
  opts.psk = psk;
  auto hs = noise::handshake_state::make(opts);
  if (!hs) {
    return hs.error();
  }
  auto body = hs->write_message(timestamp);
  if (!body) {
    return body.error();
  }
  initiation_msg msg;
  constexpr size_t want = 32 + 48 + 28;
  if (body->size() != want) {
    return make_error(errc::internal, "WireGuard handshake: unexpected initiation size");
  }
  msg.sender = local_index;
  auto* p = body->data();
  std::memcpy(msg.ephemeral.data(), p, 32);
  std::memcpy(msg.encrypted_static.data(), p + 32, 48);
  std::memcpy(msg.encrypted_timestamp.data(), p + 80, 28);
  return initiator_handshake{std::move(*hs), msg, local_index};
}

result<std::unique_ptr<keypair>> initiator_handshake::complete(const response_msg& msg,
                                                               time_point now) const {
  auto hs = hs_; // a failure must leave the pending handshake usable
  std::array<uint8_t, 48> body;
  std::memcpy(body.data(), msg.ephemeral.data(), 32);
  std::memcpy(body.data() + 32, msg.encrypted_nothing.data(), 16);
  auto payload = hs.read_message(body);
  if (!payload || !payload->empty()) {
    TF_COUNTER("wg_rejected_response_auth").add();
    return make_error(errc::handshake_failed,
                      "WireGuard handshake: response failed authentication");
  }
  auto keys = hs.split();
  if (!keys) {
    return keys.error();
  }
  return make_keypair(std::move(*keys), local_index_, msg.sender, now, true);
}

// -- responder --------------------------------------------------------------------

result<responder_handshake> responder_handshake::read(const node_private_key& local,
                                                      const initiation_msg& msg) {
  noise::handshake_options opts;
  opts.pattern = noise::handshake_pattern::ikpsk2;
  opts.role = noise::handshake_role::responder;
  opts.prologue = prologue_bytes();
  opts.local_static = local.bytes();
  auto hs = noise::handshake_state::make(opts);
  if (!hs) {
    return hs.error();
  }
  std::array<uint8_t, 108> body;
  std::memcpy(body.data(), msg.ephemeral.data(), 32);
  std::memcpy(body.data() + 32, msg.encrypted_static.data(), 48);
  std::memcpy(body.data() + 80, msg.encrypted_timestamp.data(), 28);
  auto payload = hs->read_message(body);
  if (!payload || payload->size() != tai64n_len) {
    TF_COUNTER("wg_rejected_initiation_auth").add();
    return make_error(errc::handshake_failed,
                      "WireGuard handshake: initiation failed authentication");
  }
  tai64n ts;
  std::memcpy(ts.data(), payload->data(), tai64n_len);
  return responder_handshake{std::move(*hs), ts, msg.sender};
}

result<responder_response> responder_handshake::respond(const preshared_key& psk,
                                                        uint32_t local_index, time_point now) {
  if (auto r = hs_.set_psk(psk); !r) {
    return r.error();
  }
  auto body = hs_.write_message({});
  if (!body) {
    return body.error();
  }
  if (body->size() != 48) {
    return make_error(errc::internal, "WireGuard handshake: unexpected response size");
  }
  auto keys = hs_.split();
  if (!keys) {
    return keys.error();
  }
  responder_response out;
  out.msg.sender = local_index;
  out.msg.receiver = remote_index_;
  std::memcpy(out.msg.ephemeral.data(), body->data(), 32);
  std::memcpy(out.msg.encrypted_nothing.data(), body->data() + 32, 16);
  out.keys = make_keypair(std::move(*keys), local_index, remote_index_, now, false);
  return out;
}

} // namespace tf::wg
