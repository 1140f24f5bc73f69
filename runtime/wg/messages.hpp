// SPDX-License-Identifier: Apache-2.0
// The four WireGuard message layouts (whitepaper 5.4): parse functions that
// validate type, length and reserved bytes (counting every rejection), and
// serializers. Pure functions over plain values; any thread; never allocate
// beyond the returned value.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/result.hpp"

namespace tf::wg {

/// message_type is the first byte of every datagram; the next three bytes are
/// reserved and must be zero (together: a little-endian uint32).
enum class message_type : uint8_t {
  initiation = 1,
  response = 2,
  cookie_reply = 3,
  transport = 4,
};

inline constexpr size_t initiation_len = 148;
inline constexpr size_t response_len = 92;
inline constexpr size_t cookie_reply_len = 64;
inline constexpr size_t transport_header_len = 16;
/// transport_min_len is a keepalive: header plus an empty ciphertext's tag.
inline constexpr size_t transport_min_len = 32;
/// max_datagram_len is the largest datagram any parser accepts.
inline constexpr size_t max_datagram_len = 65535;

inline constexpr size_t mac_len = 16;
using mac_bytes = std::array<uint8_t, mac_len>;

/// initiation_msg is handshake message 1 (148 bytes): type, sender index,
/// unencrypted ephemeral, encrypted static (32 + 16), encrypted TAI64N
/// timestamp (12 + 16), mac1, mac2.
struct initiation_msg {
  uint32_t sender = 0;
  std::array<uint8_t, 32> ephemeral{};
  std::array<uint8_t, 48> encrypted_static{};
  std::array<uint8_t, 28> encrypted_timestamp{};
  mac_bytes mac1{};
  mac_bytes mac2{};
};

/// response_msg is handshake message 2 (92 bytes): type, sender index,
/// receiver index, ephemeral, encrypted empty payload (16), mac1, mac2.
struct response_msg {
  uint32_t sender = 0;
  uint32_t receiver = 0;
  std::array<uint8_t, 32> ephemeral{};
  std::array<uint8_t, 16> encrypted_nothing{};
  mac_bytes mac1{};
  mac_bytes mac2{};
};

/// cookie_reply_msg (64 bytes): type, receiver index, 24-byte nonce, the
/// XChaCha20-Poly1305-encrypted 16-byte cookie (32 bytes with its tag).
struct cookie_reply_msg {
  uint32_t receiver = 0;
  std::array<uint8_t, 24> nonce{};
  std::array<uint8_t, 32> encrypted_cookie{};
};

/// transport_view is a parsed transport data message: header fields plus the
/// ciphertext, which borrows the parsed datagram (valid while it lives).
struct transport_view {
  uint32_t receiver = 0;
  uint64_t counter = 0;
  std::span<const uint8_t> ciphertext;
};

/// peek_type validates the 4-byte type field of `datagram`: errc::
/// malformed_message (counted wg_rejected_truncated, wg_rejected_bad_type or
/// wg_rejected_reserved) when it is shorter than 4 bytes, names no message
/// type or has a reserved byte set.
result<message_type> peek_type(std::span<const uint8_t> datagram);

/// parse_initiation reads a whole datagram as an initiation. errc::
/// malformed_message on a wrong type, reserved bytes, or a length other than
/// 148 (wg_rejected_truncated when shorter, wg_rejected_bad_length when longer).
result<initiation_msg> parse_initiation(std::span<const uint8_t> datagram);

/// parse_response reads a 92-byte response; failures as parse_initiation.
result<response_msg> parse_response(std::span<const uint8_t> datagram);

/// parse_cookie_reply reads a 64-byte cookie reply; failures as above.
result<cookie_reply_msg> parse_cookie_reply(std::span<const uint8_t> datagram);

/// parse_transport reads a transport message of 32..65535 bytes; the view
/// borrows `datagram`. Failures as above.
result<transport_view> parse_transport(std::span<const uint8_t> datagram);

/// serialize writes the wire form (little-endian indices and counters).
std::vector<uint8_t> serialize(const initiation_msg& msg);
std::vector<uint8_t> serialize(const response_msg& msg);
std::vector<uint8_t> serialize(const cookie_reply_msg& msg);

/// write_transport_header writes type 4, `receiver` and `counter` to the first
/// 16 bytes of `out`.
void write_transport_header(std::span<uint8_t, transport_header_len> out,
                            uint32_t receiver, uint64_t counter) noexcept;

/// sender_index_of returns the sender index of a serialized initiation or
/// response (bytes 4..7); the caller has validated the type and length.
uint32_t sender_index_of(std::span<const uint8_t> handshake_datagram) noexcept;

} // namespace tf::wg
