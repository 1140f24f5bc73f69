// SPDX-License-Identifier: Apache-2.0
// control_channel: the I/O-free secure channel of the control protocol
// (Noise_IK over TCP, machine keys as static keys). One channel belongs to
// one connection and is touched by one actor at a time; it never does I/O,
// never blocks and never logs secrets.
//
// Wire format: the client sends the preamble 'T' 'F' 'C' 0x01, then records
// of a 2-byte big-endian length L (1..65535) and L bytes. Record 1 (client)
// is Noise IK message 1 carrying the client hello, record 2 (server) is
// message 2 carrying the server hello; every later record is one transport
// message whose plaintext is a chunk of the application stream (at most
// control_max_chunk_len bytes), then zero padding, then one byte giving the
// padding's length: padding inside the encryption, as TLS 1.3 has it (which
// marks the end with a content type rather than a length). The sender pads
// (control_record_padding) where it makes the record cheaper to seal and
// open: libsodium 1.0.18 (Debian 12) runs ChaCha20 over whole 256-byte
// chunks in vector code and over the rest one 64-byte block at a time, so a
// delta's record (208 bytes of plaintext unpadded) sealed and opened in
// ~1.1 us each, and 256 bytes take ~0.5-0.7 (bench/record_cost).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "runtime/keys.hpp"
#include "runtime/noise.hpp"
#include "runtime/result.hpp"

namespace tf {

/// control_preamble opens every client-to-server stream; the last byte is
/// the protocol version.
inline constexpr std::array<uint8_t, 4> control_preamble{'T', 'F', 'C', 0x02};

/// control_prologue is the Noise prologue of the control handshake.
inline constexpr std::string_view control_prologue = "tailfleet control protocol v2";

/// control_max_record_len is the largest record body (the Noise limit).
inline constexpr size_t control_max_record_len = 65535;

/// control_record_block is the length a record's plaintext is padded to a
/// multiple of: libsodium's ChaCha20 chunk.
inline constexpr size_t control_record_block = 256;

/// control_max_plaintext_len is the most plaintext one record carries: the
/// largest multiple of control_record_block under the Noise limit.
inline constexpr size_t control_max_plaintext_len =
  (control_max_record_len - noise::tag_len) / control_record_block * control_record_block;

/// control_max_chunk_len is the most application bytes one record carries
/// (the plaintext less the padding-length byte).
inline constexpr size_t control_max_chunk_len = control_max_plaintext_len - 1;

/// control_record_padding is how many zero bytes a sender puts after a chunk
/// of `chunk_len` (<= control_max_chunk_len) application bytes: up to the
/// next multiple of control_record_block when the plaintext would end more
/// than one ChaCha20 block (64 bytes) past a multiple, none otherwise (one
/// block in the slow path costs what a whole chunk costs in the fast one,
/// and padding it would only cost bandwidth).
constexpr size_t control_record_padding(size_t chunk_len) noexcept {
  size_t tail = (chunk_len + 1) % control_record_block;
  return tail > 64 ? control_record_block - tail : 0;
}

/// control_record_header_len is the record's length prefix.
inline constexpr size_t control_record_header_len = 2;

/// control_record_len is what a record carrying `chunk_len` (<=
/// control_max_chunk_len) application bytes takes on the wire: length
/// prefix, chunk, padding, padding-length byte and tag.
constexpr size_t control_record_len(size_t chunk_len) noexcept {
  return control_record_header_len + chunk_len + control_record_padding(chunk_len) + 1
         + noise::tag_len;
}

/// control_channel runs the handshake and record layer of one control
/// connection. Any error is final: the phase becomes failed and every later
/// call returns the same failure. Rejected peer input bumps one of the
/// counters control_channel_bad_preamble, control_channel_handshake_failed,
/// control_channel_decrypt_failed or control_channel_bad_record. Calls in the
/// wrong phase fail with errc::invalid_argument. A moved-from channel is
/// failed (errc::closed) and holds no keys.
class control_channel {
public:
  /// phase is where the channel stands. Client: awaiting_initiation (before
  /// initiate()), awaiting_response, established. Server: awaiting_preamble,
  /// awaiting_initiation (preamble seen, record 1 pending), awaiting_accept
  /// (record 1 read; call accept()), established.
  enum class phase {
    awaiting_preamble,
    awaiting_initiation,
    awaiting_accept,
    awaiting_response,
    established,
    failed,
  };

  /// client makes the connecting side; it knows the server's machine key.
  static control_channel client(const machine_private_key& self,
                                const machine_public_key& server);

  /// server makes the accepting side; it learns the client's key.
  static control_channel server(const machine_private_key& self);

  control_channel(control_channel&& other) noexcept;
  control_channel& operator=(control_channel&& other) noexcept;
  control_channel(const control_channel&) = delete;
  control_channel& operator=(const control_channel&) = delete;
  ~control_channel();

  /// initiate (client) returns the preamble and record 1 carrying `hello`.
  /// errc::invalid_argument when `hello` does not fit one record.
  result<std::vector<uint8_t>> initiate(std::span<const uint8_t> hello);

  /// receive feeds bytes read from the connection and appends decrypted
  /// application bytes to `app_out`. Partial records are buffered. A server
  /// stops after record 1 (phase awaiting_accept) and keeps later bytes until
  /// accept(); call receive({}, app_out) then to drain them.
  result<void> receive(std::span<const uint8_t> bytes, std::vector<uint8_t>& app_out);

  /// accept (server, phase awaiting_accept) returns record 2 carrying
  /// `hello`; the channel is established afterwards.
  result<std::vector<uint8_t>> accept(std::span<const uint8_t> hello);

  /// seal (established) appends records carrying `app_bytes` to `out`,
  /// splitting it into chunks of at most control_max_chunk_len bytes, each
  /// padded as control_record_padding says. Empty input appends nothing. On
  /// failure `out` is left as it was.
  result<void> seal(std::span<const uint8_t> app_bytes, std::vector<uint8_t>& out);

  /// seal_plaintext_for_test appends one record whose plaintext is exactly
  /// `plaintext` (padding and its length byte included, unchecked): tests of
  /// how a receiver treats bad padding.
  result<void> seal_plaintext_for_test(std::span<const uint8_t> plaintext,
                                       std::vector<uint8_t>& out);

  phase current_phase() const noexcept { return phase_; }

  /// peer_static is the peer's machine key: the server's from the start on a
  /// client, the client's once record 1 is read on a server (zero before).
  const machine_public_key& peer_static() const noexcept { return peer_static_; }

  /// peer_hello is the peer's handshake payload (empty until received).
  const std::vector<uint8_t>& peer_hello() const noexcept { return peer_hello_; }

  /// handshake_hash is the Noise handshake hash once established (channel
  /// binding); zero before.
  const blake2s_digest& handshake_hash() const noexcept { return handshake_hash_; }

  /// set_ephemeral_for_test fixes the ephemeral key of the handshake (tests
  /// that need two identical servers). Only before initiate()/record 1.
  void set_ephemeral_for_test(const key_bytes& ephemeral);

private:
  control_channel(bool is_client, const machine_private_key& self);

  failure fail(failure err);
  result<void> start_handshake();
  result<size_t> process(std::span<const uint8_t> in, std::vector<uint8_t>& app_out);
  /// complete_pending completes the partial record in pending_ from the
  /// front of `bytes` (advancing it) and opens it.
  result<void> complete_pending(std::span<const uint8_t>& bytes, std::vector<uint8_t>& app_out);
  result<void> on_record(std::span<const uint8_t> record, std::vector<uint8_t>& app_out);
  result<void> finish_handshake();
  result<void> strip_padding(std::vector<uint8_t>& app_out, size_t old_len);

  bool is_client_ = false;
  phase phase_ = phase::awaiting_preamble;
  failure err_;
  machine_private_key self_;            // wiped once the handshake starts
  std::optional<key_bytes> ephemeral_;  // test only; wiped with self_
  std::optional<noise::handshake_state> handshake_;
  noise::cipher_state send_;
  noise::cipher_state receive_;
  machine_public_key peer_static_;
  std::vector<uint8_t> peer_hello_;
  blake2s_digest handshake_hash_{};
  size_t preamble_seen_ = 0;
  std::vector<uint8_t> pending_; // unprocessed input (partial record, or all
                                 // bytes after record 1 until accept())
};

} // namespace tf
