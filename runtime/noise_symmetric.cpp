// SPDX-License-Identifier: Apache-2.0
// Noise cipher_state and symmetric_state (spec revision 34, sections 5.1 and
// 5.2). Plain values confined to their owner's thread; secrets are wiped on
// destruction and when no longer needed.
#include <cstring>
#include <limits>

#include "runtime/aead.hpp"
#include "runtime/noise.hpp"

namespace tf::noise {

namespace {

constexpr uint64_t reserved_nonce = std::numeric_limits<uint64_t>::max();

failure nonce_error() {
  return make_error(errc::nonce_exhausted, "Noise cipher: nonce 2^64-1 reached");
}

} // namespace

// -- cipher_state --------------------------------------------------------------

cipher_state::~cipher_state() {
  wipe(k_.data(), k_.size());
}

void cipher_state::initialize_key(std::span<const uint8_t, 32> key) noexcept {
  std::memcpy(k_.data(), key.data(), k_.size());
  n_ = 0;
  has_key_ = true;
}

result<void> cipher_state::encrypt_with_ad(std::span<const uint8_t> ad,
                                           std::span<const uint8_t> plaintext,
                                           std::span<uint8_t> out) noexcept {
  if (!has_key_) {
    if (out.size() != plaintext.size()) {
      return make_error(errc::invalid_argument, "Noise cipher: output size mismatch");
    }
    if (!plaintext.empty() && out.data() != plaintext.data()) {
      std::memmove(out.data(), plaintext.data(), plaintext.size());
    }
    return {};
  }
  if (n_ == reserved_nonce) {
    return nonce_error();
  }
  if (auto r = chacha_seal(out, k_, n_, ad, plaintext); !r) {
    return r;
  }
  ++n_;
  return {};
}

result<void> cipher_state::decrypt_with_ad(std::span<const uint8_t> ad,
                                           std::span<const uint8_t> ciphertext,
                                           std::span<uint8_t> out) noexcept {
  if (!has_key_) {
    if (out.size() != ciphertext.size()) {
      return make_error(errc::invalid_argument, "Noise cipher: output size mismatch");
    }
    if (!ciphertext.empty() && out.data() != ciphertext.data()) {
      std::memmove(out.data(), ciphertext.data(), ciphertext.size());
    }
    return {};
  }
  if (n_ == reserved_nonce) {
    return nonce_error();
  }
  if (ciphertext.size() < tag_len) {
    return make_error(errc::decrypt_failed, "Noise cipher: ciphertext shorter than a tag");
  }
  if (auto r = chacha_open(out, k_, n_, ad, ciphertext); !r) {
    return r;
  }
  ++n_;
  return {};
}

result<void> cipher_state::encrypt_with_ad(std::span<const uint8_t> ad,
                                           std::span<const uint8_t> plaintext,
                                           std::vector<uint8_t>& out) {
  auto old_len = out.size();
  out.resize(old_len + plaintext.size() + overhead());
  auto r = encrypt_with_ad(ad, plaintext, std::span{out}.subspan(old_len));
  if (!r) {
    out.resize(old_len);
  }
  return r;
}

result<void> cipher_state::decrypt_with_ad(std::span<const uint8_t> ad,
                                           std::span<const uint8_t> ciphertext,
                                           std::vector<uint8_t>& out) {
  if (ciphertext.size() < overhead()) {
    return make_error(errc::decrypt_failed, "Noise cipher: ciphertext shorter than a tag");
  }
  auto old_len = out.size();
  out.resize(old_len + ciphertext.size() - overhead());
  auto r = decrypt_with_ad(ad, ciphertext, std::span{out}.subspan(old_len));
  if (!r) {
    out.resize(old_len);
  }
  return r;
}

// -- symmetric_state -----------------------------------------------------------

symmetric_state::~symmetric_state() {
  wipe(ck_.data(), ck_.size());
}

void symmetric_state::initialize(std::string_view protocol_name) noexcept {
  std::span<const uint8_t> name{reinterpret_cast<const uint8_t*>(protocol_name.data()),
                                protocol_name.size()};
  if (name.size() <= h_.size()) {
    h_.fill(0);
    std::memcpy(h_.data(), name.data(), name.size());
  } else {
    h_ = blake2s(name);
  }
  ck_ = h_;
  cs_ = cipher_state{};
}

void symmetric_state::mix_hash(std::span<const uint8_t> data) noexcept {
  h_ = blake2s({h_, data});
}

result<void> symmetric_state::mix_key(std::span<const uint8_t> ikm) noexcept {
  blake2s_digest temp_k;
  auto r = noise_hkdf(ck_, ikm, ck_, temp_k);
  if (r) {
    cs_.initialize_key(temp_k);
  }
  wipe(temp_k.data(), temp_k.size());
  return r;
}

result<void> symmetric_state::mix_key_and_hash(std::span<const uint8_t> ikm) noexcept {
  blake2s_digest temp_h;
  blake2s_digest temp_k;
  auto r = noise_hkdf(ck_, ikm, ck_, temp_h, temp_k);
  if (r) {
    mix_hash(temp_h);
    cs_.initialize_key(temp_k);
  }
  wipe(temp_h.data(), temp_h.size());
  wipe(temp_k.data(), temp_k.size());
  return r;
}

result<void> symmetric_state::encrypt_and_hash(std::span<const uint8_t> plaintext,
                                               std::vector<uint8_t>& out) {
  auto old_len = out.size();
  if (auto r = cs_.encrypt_with_ad(h_, plaintext, out); !r) {
    return r;
  }
  mix_hash(std::span{out}.subspan(old_len));
  return {};
}

result<void> symmetric_state::decrypt_and_hash(std::span<const uint8_t> ciphertext,
                                               std::vector<uint8_t>& out) {
  if (auto r = cs_.decrypt_with_ad(h_, ciphertext, out); !r) {
    return r;
  }
  mix_hash(ciphertext);
  return {};
}

result<void> symmetric_state::split(cipher_state& c1, cipher_state& c2) noexcept {
  blake2s_digest temp_k1;
  blake2s_digest temp_k2;
  auto r = noise_hkdf(ck_, {}, temp_k1, temp_k2);
  if (r) {
    c1.initialize_key(temp_k1);
    c2.initialize_key(temp_k2);
  }
  wipe(temp_k1.data(), temp_k1.size());
  wipe(temp_k2.data(), temp_k2.size());
  wipe(ck_.data(), ck_.size());
  cs_ = cipher_state{};
  return r;
}

} // namespace tf::noise
