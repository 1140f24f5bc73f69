// SPDX-License-Identifier: Apache-2.0
// The Noise protocol framework (revision 34) with 25519, ChaChaPoly and
// BLAKE2s: cipher_state, symmetric_state and a handshake_state for IK and
// IKpsk2. Each object is a plain value confined to one thread or actor at a
// time; no I/O, no clocks, no logging. Secrets are wiped on destruction.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "runtime/blake2s.hpp"
#include "runtime/keys.hpp"
#include "runtime/result.hpp"

namespace tf::noise {

/// max_message_len is the Noise limit on any handshake or transport message.
inline constexpr size_t max_message_len = 65535;

/// tag_len is the AEAD overhead of every encrypted field.
inline constexpr size_t tag_len = 16;

// -- cipher_state --------------------------------------------------------------

/// cipher_state is Noise's CipherState: a key k (possibly empty) and a nonce
/// counter n. Nonce 2^64-1 is reserved: once n reaches it, every call fails
/// with errc::nonce_exhausted. A failed decryption leaves n unchanged.
class cipher_state {
public:
  cipher_state() = default;
  cipher_state(const cipher_state&) = default;
  cipher_state& operator=(const cipher_state&) = default;
  ~cipher_state();

  /// initialize_key installs `key` and resets n to zero.
  void initialize_key(std::span<const uint8_t, 32> key) noexcept;

  bool has_key() const noexcept { return has_key_; }
  uint64_t nonce() const noexcept { return n_; }

  /// set_nonce overrides n (WireGuard's receive side uses explicit counters).
  void set_nonce(uint64_t n) noexcept { n_ = n; }

  /// overhead is the number of bytes encryption adds (16 with a key, else 0).
  size_t overhead() const noexcept { return has_key_ ? tag_len : 0; }

  /// encrypt_with_ad writes the ciphertext of `plaintext` to `out`, which
  /// must hold exactly plaintext.size() + overhead() bytes (in place allowed).
  /// Without a key it copies the plaintext. Increments n on success.
  result<void> encrypt_with_ad(std::span<const uint8_t> ad,
                               std::span<const uint8_t> plaintext,
                               std::span<uint8_t> out) noexcept;

  /// decrypt_with_ad writes the plaintext of `ciphertext` to `out` (exactly
  /// ciphertext.size() - overhead() bytes). errc::decrypt_failed on a bad
  /// tag. Increments n on success only.
  result<void> decrypt_with_ad(std::span<const uint8_t> ad,
                               std::span<const uint8_t> ciphertext,
                               std::span<uint8_t> out) noexcept;

  /// encrypt_with_ad appends the ciphertext to `out` (untouched on failure).
  result<void> encrypt_with_ad(std::span<const uint8_t> ad,
                               std::span<const uint8_t> plaintext,
                               std::vector<uint8_t>& out);

  /// decrypt_with_ad appends the plaintext to `out` (untouched on failure).
  result<void> decrypt_with_ad(std::span<const uint8_t> ad,
                               std::span<const uint8_t> ciphertext,
                               std::vector<uint8_t>& out);

private:
  std::array<uint8_t, 32> k_{};
  uint64_t n_ = 0;
  bool has_key_ = false;
};

// -- symmetric_state -----------------------------------------------------------

/// symmetric_state is Noise's SymmetricState: chaining key ck, handshake hash
/// h and a cipher_state. The chaining key is wiped by split() and on
/// destruction.
class symmetric_state {
public:
  symmetric_state() = default;
  symmetric_state(const symmetric_state&) = default;
  symmetric_state& operator=(const symmetric_state&) = default;
  ~symmetric_state();

  /// initialize sets h from the protocol name (padded or hashed), ck = h.
  void initialize(std::string_view protocol_name) noexcept;

  void mix_hash(std::span<const uint8_t> data) noexcept;
  result<void> mix_key(std::span<const uint8_t> input_key_material) noexcept;
  result<void> mix_key_and_hash(std::span<const uint8_t> input_key_material) noexcept;

  /// encrypt_and_hash appends the encryption of `plaintext` to `out` and
  /// mixes it into h.
  result<void> encrypt_and_hash(std::span<const uint8_t> plaintext,
                                std::vector<uint8_t>& out);

  /// decrypt_and_hash appends the decryption of `ciphertext` to `out` and
  /// mixes the ciphertext into h. errc::decrypt_failed on a bad tag.
  result<void> decrypt_and_hash(std::span<const uint8_t> ciphertext,
                                std::vector<uint8_t>& out);

  /// split derives the two transport ciphers (c1: initiator to responder,
  /// c2: responder to initiator) and wipes ck.
  result<void> split(cipher_state& c1, cipher_state& c2) noexcept;

  const blake2s_digest& handshake_hash() const noexcept { return h_; }
  const cipher_state& cipher() const noexcept { return cs_; }

private:
  cipher_state cs_;
  blake2s_digest ck_{};
  blake2s_digest h_{};
};

// -- handshake_state -----------------------------------------------------------

enum class handshake_pattern : uint8_t {
  ik,     // Noise_IK_25519_ChaChaPoly_BLAKE2s
  ikpsk2, // Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s
};

enum class handshake_role : uint8_t { initiator, responder };

/// protocol_name returns the full Noise protocol name of `pattern`.
std::string_view protocol_name(handshake_pattern pattern) noexcept;

/// handshake_options configures a handshake_state. Byte fields are borrowed
/// only for the duration of handshake_state::make().
struct handshake_options {
  /// pattern selects IK or IKpsk2. Default IK.
  handshake_pattern pattern = handshake_pattern::ik;
  /// role is initiator (writes message 1) or responder. Default initiator.
  handshake_role role = handshake_role::initiator;
  /// prologue is mixed into h before any message; both sides must agree.
  std::span<const uint8_t> prologue;
  /// local_static is our 32-byte X25519 private key. Required.
  std::span<const uint8_t> local_static;
  /// remote_static is the responder's 32-byte public key: required for the
  /// initiator, must be empty for the responder (it learns it).
  std::span<const uint8_t> remote_static;
  /// psk is the 32-byte pre-shared key of IKpsk2 (must be empty for IK). May
  /// be left empty and given later with set_psk(), before the psk token.
  std::span<const uint8_t> psk;
  /// ephemeral_for_test fixes our 32-byte ephemeral private key (known-answer
  /// tests only). Empty = fresh random key.
  std::span<const uint8_t> ephemeral_for_test;
};

/// transport_keys are the two cipher states of an established session,
/// oriented for one side: the initiator sends with c1, the responder with c2.
struct transport_keys {
  cipher_state send;
  cipher_state receive;
};

/// handshake_state runs one IK or IKpsk2 handshake. Any failure is final:
/// every later call returns errc::handshake_failed. Messages are at most
/// max_message_len bytes.
class handshake_state {
public:
  /// make validates `opts` (errc::invalid_argument on a bad length or a
  /// missing key) and performs the initialization (prologue, pre-message).
  static result<handshake_state> make(const handshake_options& opts);

  handshake_state(const handshake_state&) = default;
  handshake_state& operator=(const handshake_state&) = default;
  ~handshake_state();

  /// write_message returns the next handshake message carrying `payload`.
  /// errc::invalid_argument when it is not our turn or the message would be
  /// too long; errc::handshake_failed on a DH failure (low-order key).
  result<std::vector<uint8_t>> write_message(std::span<const uint8_t> payload);

  /// read_message consumes the peer's next message and returns its payload.
  /// errc::handshake_failed when it is malformed or fails authentication.
  result<std::vector<uint8_t>> read_message(std::span<const uint8_t> message);

  /// set_psk supplies the IKpsk2 pre-shared key (e.g. a responder that picks
  /// it after learning the initiator's static key). Only before the psk token.
  result<void> set_psk(std::span<const uint8_t> psk) noexcept;

  /// split returns the transport ciphers once is_complete(); wipes the
  /// chaining key and our private keys.
  result<transport_keys> split();

  handshake_role role() const noexcept { return role_; }
  bool is_complete() const noexcept { return next_message_ == 2 && !failed_; }
  bool has_failed() const noexcept { return failed_; }

  /// is_my_turn reports whether write_message (not read_message) is next.
  bool is_my_turn() const noexcept;

  /// remote_static is the peer's static public key (all zero until known).
  const key_bytes& remote_static() const noexcept { return rs_; }

  /// handshake_hash is h (final once is_complete(); channel binding).
  const blake2s_digest& handshake_hash() const noexcept { return ss_.handshake_hash(); }

private:
  handshake_state() = default;

  enum class token : uint8_t { e, s, ee, es, se, ss, psk };

  std::span<const token> tokens() const noexcept;
  bool is_psk() const noexcept { return pattern_ == handshake_pattern::ikpsk2; }
  result<void> mix_dh(const key_bytes& secret, const key_bytes& pub) noexcept;
  result<void> write_token(token t, std::vector<uint8_t>& out);
  result<void> read_token(token t, std::span<const uint8_t>& in);
  failure fail(failure err) noexcept;

  symmetric_state ss_;
  handshake_pattern pattern_ = handshake_pattern::ik;
  handshake_role role_ = handshake_role::initiator;
  key_bytes s_{};   // our static private key
  key_bytes s_pub_{};
  key_bytes e_{};   // our ephemeral private key
  key_bytes e_pub_{};
  key_bytes rs_{};
  key_bytes re_{};
  key_bytes psk_{};
  bool has_psk_ = false;
  bool fixed_e_ = false;
  bool failed_ = false;
  bool split_done_ = false;
  uint8_t next_message_ = 0; // 0: initiator -> responder, 1: back, 2: done
};

} // namespace tf::noise
