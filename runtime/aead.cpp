// SPDX-License-Identifier: Apache-2.0
// AEAD seal/open over libsodium (which picks its fastest ChaCha20 code in
// sodium_init, run once here). Pure functions, any thread.
#include "runtime/aead.hpp"

#include <sodium.h>

#include <cstdlib>
#include <cstring>

namespace tf {

namespace {

void ensure_sodium() noexcept {
  static const bool ready = [] {
    if (sodium_init() < 0) {
      std::abort(); // no libsodium: nothing safe is possible
    }
    return true;
  }();
  (void) ready;
}

/// counter_nonce builds the Noise/WireGuard nonce: 4 zero bytes followed by
/// the little-endian 64-bit counter.
void counter_nonce(uint8_t (&nonce)[12], uint64_t counter) noexcept {
  std::memset(nonce, 0, 4);
  for (int i = 0; i < 8; ++i) {
    nonce[4 + i] = static_cast<uint8_t>(counter >> (8 * i));
  }
}

failure length_error(const char* what) {
  return make_error(errc::invalid_argument, what);
}

} // namespace

result<void> chacha_seal(std::span<uint8_t> out, aead_key key, uint64_t counter,
                         std::span<const uint8_t> ad,
                         std::span<const uint8_t> plaintext) noexcept {
  if (out.size() != plaintext.size() + aead_tag_len) {
    return length_error("ChaCha20-Poly1305 seal: output must be plaintext + 16 bytes");
  }
  ensure_sodium();
  uint8_t nonce[12];
  counter_nonce(nonce, counter);
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), nullptr, plaintext.data(),
                                            plaintext.size(), ad.data(), ad.size(),
                                            nullptr, nonce, key.data());
  return {};
}

result<void> chacha_open(std::span<uint8_t> out, aead_key key, uint64_t counter,
                         std::span<const uint8_t> ad,
                         std::span<const uint8_t> ciphertext) noexcept {
  if (ciphertext.size() < aead_tag_len
      || out.size() != ciphertext.size() - aead_tag_len) {
    return length_error("ChaCha20-Poly1305 open: output must be ciphertext - 16 bytes");
  }
  ensure_sodium();
  uint8_t nonce[12];
  counter_nonce(nonce, counter);
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), nullptr, nullptr,
                                                ciphertext.data(), ciphertext.size(),
                                                ad.data(), ad.size(), nonce,
                                                key.data())
      != 0) {
    return make_error(errc::decrypt_failed, "ChaCha20-Poly1305: authentication failed");
  }
  return {};
}

result<void> xchacha_seal(std::span<uint8_t> out, aead_key key,
                          xchacha_nonce nonce, std::span<const uint8_t> ad,
                          std::span<const uint8_t> plaintext) noexcept {
  if (out.size() != plaintext.size() + aead_tag_len) {
    return length_error("XChaCha20-Poly1305 seal: output must be plaintext + 16 bytes");
  }
  ensure_sodium();
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), nullptr, plaintext.data(),
                                             plaintext.size(), ad.data(), ad.size(),
                                             nullptr, nonce.data(), key.data());
  return {};
}

result<void> xchacha_open(std::span<uint8_t> out, aead_key key,
                          xchacha_nonce nonce, std::span<const uint8_t> ad,
                          std::span<const uint8_t> ciphertext) noexcept {
  if (ciphertext.size() < aead_tag_len
      || out.size() != ciphertext.size() - aead_tag_len) {
    return length_error("XChaCha20-Poly1305 open: output must be ciphertext - 16 bytes");
  }
  ensure_sodium();
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), nullptr, nullptr,
                                                 ciphertext.data(), ciphertext.size(),
                                                 ad.data(), ad.size(), nonce.data(),
                                                 key.data())
      != 0) {
    return make_error(errc::decrypt_failed, "XChaCha20-Poly1305: authentication failed");
  }
  return {};
}

} // namespace tf
