// SPDX-License-Identifier: Apache-2.0
// ChaCha20-Poly1305 (IETF, with the Noise/WireGuard counter nonce) and
// XChaCha20-Poly1305 seal/open over libsodium. Pure functions, safe on any
// thread; they never allocate and never log key material.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "runtime/result.hpp"

namespace tf {

/// aead_key_len is the key length of both AEADs.
inline constexpr size_t aead_key_len = 32;

/// aead_tag_len is the Poly1305 tag length appended to every ciphertext.
inline constexpr size_t aead_tag_len = 16;

/// xchacha_nonce_len is XChaCha20-Poly1305's nonce length.
inline constexpr size_t xchacha_nonce_len = 24;

using aead_key = std::span<const uint8_t, aead_key_len>;
using xchacha_nonce = std::span<const uint8_t, xchacha_nonce_len>;

/// chacha_seal encrypts `plaintext` under `key` with the 12-byte nonce "4 zero
/// bytes || little-endian `counter`" and authenticates `ad`; writes
/// ciphertext||tag to `out`, which must be exactly plaintext.size() + 16 bytes
/// (otherwise errc::invalid_argument and `out` is untouched). `out` may be
/// the same memory as `plaintext` (in place) but must not overlap otherwise.
result<void> chacha_seal(std::span<uint8_t> out, aead_key key, uint64_t counter,
                         std::span<const uint8_t> ad,
                         std::span<const uint8_t> plaintext) noexcept;

/// chacha_open verifies and decrypts ciphertext||tag into `out` (exactly
/// ciphertext.size() - 16 bytes). errc::decrypt_failed on a bad tag (then
/// `out` is zeroed), errc::invalid_argument on wrong lengths. In-place use as
/// for chacha_seal.
result<void> chacha_open(std::span<uint8_t> out, aead_key key, uint64_t counter,
                         std::span<const uint8_t> ad,
                         std::span<const uint8_t> ciphertext) noexcept;

/// xchacha_seal is chacha_seal with XChaCha20-Poly1305 and a 24-byte nonce.
result<void> xchacha_seal(std::span<uint8_t> out, aead_key key,
                          xchacha_nonce nonce, std::span<const uint8_t> ad,
                          std::span<const uint8_t> plaintext) noexcept;

/// xchacha_open is chacha_open with XChaCha20-Poly1305 and a 24-byte nonce.
result<void> xchacha_open(std::span<uint8_t> out, aead_key key,
                          xchacha_nonce nonce, std::span<const uint8_t> ad,
                          std::span<const uint8_t> ciphertext) noexcept;

} // namespace tf
