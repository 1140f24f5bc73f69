// SPDX-License-Identifier: Apache-2.0
// BLAKE2s-256 (plain and keyed, from libb2), HMAC-BLAKE2s-256 (OpenSSL
// EVP_MAC) and the Noise HKDF built from that HMAC. Pure functions, safe on
// any thread; they never allocate per call and never hand-roll a primitive.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "runtime/result.hpp"

namespace tf {

/// blake2s_len is BLAKE2s-256's output length (Noise HASHLEN).
inline constexpr size_t blake2s_len = 32;

/// blake2s_digest is one BLAKE2s-256 output.
using blake2s_digest = std::array<uint8_t, blake2s_len>;

/// byte_parts lists byte strings that are hashed as if concatenated.
using byte_parts = std::initializer_list<std::span<const uint8_t>>;

/// blake2s hashes `in` with unkeyed BLAKE2s-256.
blake2s_digest blake2s(std::span<const uint8_t> in) noexcept;

/// blake2s hashes the concatenation of `parts` with unkeyed BLAKE2s-256.
blake2s_digest blake2s(byte_parts parts) noexcept;

/// keyed_blake2s writes keyed BLAKE2s of the concatenation of `parts` to
/// `out`, whose size (16 or 32) is the output length; 16 gives WireGuard's
/// MAC1/MAC2. Fails with errc::invalid_argument on another output length or
/// a key of 0 or more than 32 bytes (leaving `out` untouched).
result<void> keyed_blake2s(std::span<uint8_t> out, std::span<const uint8_t> key,
                           byte_parts parts) noexcept;

/// hmac_blake2s writes HMAC-BLAKE2s-256(key, concatenation of `parts`) to
/// `out`. `out` may alias `key` or a part. Fails with errc::internal only when
/// OpenSSL cannot provide the MAC (no default provider).
result<void> hmac_blake2s(std::span<const uint8_t> key, byte_parts parts,
                          std::span<uint8_t, blake2s_len> out) noexcept;

/// noise_hkdf is HKDF(chaining_key, input_key_material, 2) of the Noise
/// specification (revision 34, section 4.3). The outputs may alias
/// `chaining_key` (as in "ck, k = HKDF(ck, ikm, 2)"); the intermediate key is
/// wiped. Fails only as hmac_blake2s does.
result<void> noise_hkdf(std::span<const uint8_t, blake2s_len> chaining_key,
                        std::span<const uint8_t> input_key_material,
                        std::span<uint8_t, blake2s_len> out1,
                        std::span<uint8_t, blake2s_len> out2) noexcept;

/// noise_hkdf with three outputs: HKDF(chaining_key, input_key_material, 3).
result<void> noise_hkdf(std::span<const uint8_t, blake2s_len> chaining_key,
                        std::span<const uint8_t> input_key_material,
                        std::span<uint8_t, blake2s_len> out1,
                        std::span<uint8_t, blake2s_len> out2,
                        std::span<uint8_t, blake2s_len> out3) noexcept;

} // namespace tf
