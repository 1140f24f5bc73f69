// SPDX-License-Identifier: Apache-2.0
// Noise handshake_state for IK and IKpsk2 (spec revision 34, sections 5.3, 7
// and 9). Confined to its owner's thread; private keys, the psk and DH
// results are wiped as soon as they are no longer needed.
#include <sodium.h>

#include <cstring>

#include "runtime/noise.hpp"

namespace tf::noise {

namespace {

constexpr std::string_view ik_name = "Noise_IK_25519_ChaChaPoly_BLAKE2s";
constexpr std::string_view ikpsk2_name = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";

bool copy_key(std::span<const uint8_t> in, key_bytes& out) noexcept {
  if (in.size() != key_len) {
    return false;
  }
  std::memcpy(out.data(), in.data(), key_len);
  return true;
}

failure bad_option(const char* what) {
  return make_error(errc::invalid_argument, what);
}

} // namespace

std::string_view protocol_name(handshake_pattern pattern) noexcept {
  return pattern == handshake_pattern::ikpsk2 ? ikpsk2_name : ik_name;
}

// -- construction ------------------------------------------------------------

result<handshake_state> handshake_state::make(const handshake_options& opts) {
  handshake_state hs;
  hs.pattern_ = opts.pattern;
  hs.role_ = opts.role;
  bool initiator = opts.role == handshake_role::initiator;
  if (!copy_key(opts.local_static, hs.s_)) {
    return bad_option("Noise handshake: local static key must be 32 bytes");
  }
  if (initiator && !copy_key(opts.remote_static, hs.rs_)) {
    return bad_option("Noise handshake: the initiator needs the 32-byte responder key");
  }
  if (!initiator && !opts.remote_static.empty()) {
    return bad_option("Noise handshake: IK responders learn the remote static key");
  }
  if (!opts.psk.empty()) {
    if (!hs.is_psk()) {
      return bad_option("Noise handshake: a psk needs the IKpsk2 pattern");
    }
    if (auto r = hs.set_psk(opts.psk); !r) {
      return r.error();
    }
  }
  if (!opts.ephemeral_for_test.empty()) {
    if (!copy_key(opts.ephemeral_for_test, hs.e_)) {
      return bad_option("Noise handshake: a fixed ephemeral key must be 32 bytes");
    }
    hs.fixed_e_ = true;
  }
  crypto_scalarmult_base(hs.s_pub_.data(), hs.s_.data());
  hs.ss_.initialize(protocol_name(opts.pattern));
  hs.ss_.mix_hash(opts.prologue);
  // Pre-message "<- s": both sides hash the responder's static public key.
  hs.ss_.mix_hash(initiator ? hs.rs_ : hs.s_pub_);
  return hs;
}

handshake_state::~handshake_state() {
  wipe(s_.data(), s_.size());
  wipe(e_.data(), e_.size());
  wipe(psk_.data(), psk_.size());
}

result<void> handshake_state::set_psk(std::span<const uint8_t> psk) noexcept {
  if (!is_psk() || next_message_ > 1 || failed_) {
    return bad_option("Noise handshake: psk given to a non-psk or finished handshake");
  }
  if (!copy_key(psk, psk_)) {
    return bad_option("Noise handshake: psk must be 32 bytes");
  }
  has_psk_ = true;
  return {};
}

// -- messages ----------------------------------------------------------------

std::span<const handshake_state::token> handshake_state::tokens() const noexcept {
  static constexpr token first[] = {token::e, token::es, token::s, token::ss};
  static constexpr token second_ik[] = {token::e, token::ee, token::se};
  static constexpr token second_psk[] = {token::e, token::ee, token::se, token::psk};
  if (next_message_ == 0) {
    return first;
  }
  return is_psk() ? std::span<const token>{second_psk} : std::span<const token>{second_ik};
}

bool handshake_state::is_my_turn() const noexcept {
  if (failed_ || next_message_ >= 2) {
    return false;
  }
  bool initiator = role_ == handshake_role::initiator;
  return (next_message_ == 0) == initiator;
}

failure handshake_state::fail(failure err) noexcept {
  failed_ = true;
  wipe(s_.data(), s_.size());
  wipe(e_.data(), e_.size());
  wipe(psk_.data(), psk_.size());
  return err;
}

result<void> handshake_state::mix_dh(const key_bytes& secret,
                                     const key_bytes& pub) noexcept {
  key_bytes shared;
  if (crypto_scalarmult(shared.data(), secret.data(), pub.data()) != 0) {
    wipe(shared.data(), shared.size());
    return make_error(errc::handshake_failed, "Noise handshake: low-order public key");
  }
  auto r = ss_.mix_key(shared);
  wipe(shared.data(), shared.size());
  return r;
}

result<void> handshake_state::write_token(token t, std::vector<uint8_t>& out) {
  bool initiator = role_ == handshake_role::initiator;
  switch (t) {
    case token::e:
      if (!fixed_e_) {
        random_bytes(e_.data(), e_.size());
      }
      crypto_scalarmult_base(e_pub_.data(), e_.data());
      out.insert(out.end(), e_pub_.begin(), e_pub_.end());
      ss_.mix_hash(e_pub_);
      return is_psk() ? ss_.mix_key(e_pub_) : result<void>{};
    case token::s:
      return ss_.encrypt_and_hash(s_pub_, out);
    case token::ee:
      return mix_dh(e_, re_);
    case token::es:
      return initiator ? mix_dh(e_, rs_) : mix_dh(s_, re_);
    case token::se:
      return initiator ? mix_dh(s_, re_) : mix_dh(e_, rs_);
    case token::ss:
      return mix_dh(s_, rs_);
    case token::psk:
      if (!has_psk_) {
        return bad_option("Noise handshake: IKpsk2 needs a psk before message 2");
      }
      return ss_.mix_key_and_hash(psk_);
  }
  return make_error(errc::internal, "Noise handshake: unknown token");
}

result<void> handshake_state::read_token(token t, std::span<const uint8_t>& in) {
  bool initiator = role_ == handshake_role::initiator;
  switch (t) {
    case token::e:
      if (in.size() < key_len) {
        return make_error(errc::handshake_failed, "Noise handshake: message too short");
      }
      std::memcpy(re_.data(), in.data(), key_len);
      in = in.subspan(key_len);
      ss_.mix_hash(re_);
      return is_psk() ? ss_.mix_key(re_) : result<void>{};
    case token::s: {
      size_t len = key_len + ss_.cipher().overhead();
      if (in.size() < len) {
        return make_error(errc::handshake_failed, "Noise handshake: message too short");
      }
      std::vector<uint8_t> plain;
      plain.reserve(key_len);
      if (auto r = ss_.decrypt_and_hash(in.first(len), plain); !r) {
        return r;
      }
      std::memcpy(rs_.data(), plain.data(), key_len);
      in = in.subspan(len);
      return {};
    }
    case token::ee:
      return mix_dh(e_, re_);
    case token::es:
      return initiator ? mix_dh(e_, rs_) : mix_dh(s_, re_);
    case token::se:
      return initiator ? mix_dh(s_, re_) : mix_dh(e_, rs_);
    case token::ss:
      return mix_dh(s_, rs_);
    case token::psk:
      if (!has_psk_) {
        return bad_option("Noise handshake: IKpsk2 needs a psk before message 2");
      }
      return ss_.mix_key_and_hash(psk_);
  }
  return make_error(errc::internal, "Noise handshake: unknown token");
}

result<std::vector<uint8_t>> handshake_state::write_message(std::span<const uint8_t> payload) {
  if (failed_) {
    return make_error(errc::handshake_failed, "Noise handshake: failed earlier");
  }
  if (!is_my_turn()) {
    return make_error(errc::invalid_argument, "Noise handshake: not our turn to write");
  }
  std::vector<uint8_t> out;
  out.reserve(2 * key_len + 2 * tag_len + payload.size());
  for (auto t : tokens()) {
    if (auto r = write_token(t, out); !r) {
      return fail(r.error());
    }
  }
  if (auto r = ss_.encrypt_and_hash(payload, out); !r) {
    return fail(r.error());
  }
  if (out.size() > max_message_len) {
    return fail(make_error(errc::invalid_argument, "Noise handshake: payload too long"));
  }
  ++next_message_;
  return out;
}

result<std::vector<uint8_t>> handshake_state::read_message(std::span<const uint8_t> message) {
  if (failed_) {
    return make_error(errc::handshake_failed, "Noise handshake: failed earlier");
  }
  if (next_message_ >= 2 || is_my_turn()) {
    return make_error(errc::invalid_argument, "Noise handshake: not our turn to read");
  }
  if (message.size() > max_message_len) {
    return fail(make_error(errc::handshake_failed, "Noise handshake: message too long"));
  }
  auto in = message;
  for (auto t : tokens()) {
    if (auto r = read_token(t, in); !r) {
      auto err = r.error();
      if (err.code != errc::invalid_argument) {
        err.code = errc::handshake_failed;
      }
      return fail(std::move(err));
    }
  }
  std::vector<uint8_t> payload;
  if (auto r = ss_.decrypt_and_hash(in, payload); !r) {
    return fail(make_error(errc::handshake_failed,
                           "Noise handshake: payload failed authentication"));
  }
  ++next_message_;
  return payload;
}

result<transport_keys> handshake_state::split() {
  if (!is_complete() || split_done_) {
    return make_error(errc::invalid_argument, "Noise handshake: split before completion");
  }
  transport_keys keys;
  cipher_state c1;
  cipher_state c2;
  if (auto r = ss_.split(c1, c2); !r) {
    return fail(r.error());
  }
  bool initiator = role_ == handshake_role::initiator;
  keys.send = initiator ? c1 : c2;
  keys.receive = initiator ? c2 : c1;
  split_done_ = true;
  wipe(s_.data(), s_.size());
  wipe(e_.data(), e_.size());
  wipe(psk_.data(), psk_.size());
  return keys;
}

} // namespace tf::noise
