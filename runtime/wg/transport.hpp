// SPDX-License-Identifier: Apache-2.0
// keypair (the transport keys one handshake derives) and the transport data
// codec: seal with 64-bit counters and zero padding, open with the replay
// window. Confined to the session that owns the keypair; no clock reads, no
// I/O; keys are wiped with the keypair.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "runtime/noise.hpp"
#include "runtime/result.hpp"
#include "runtime/wg/constants.hpp"
#include "runtime/wg/messages.hpp"
#include "runtime/wg/replay.hpp"

namespace tf::wg {

/// keypair holds the keys of one completed handshake: `send` (our direction)
/// and `receive`, our index (the receiver index peers put on messages to us),
/// theirs, when it was derived and whether we initiated. Send counters count
/// up from 0; `replay` guards receive counters.
struct keypair {
  noise::cipher_state send;
  noise::cipher_state receive;
  uint32_t local_index = 0;
  uint32_t remote_index = 0;
  time_point created{};
  bool initiator = false;
  uint64_t send_counter = 0;
  replay_window replay;

  /// age is how long ago the keypair was derived.
  duration age(time_point now) const noexcept { return now - created; }
};

/// padded_len rounds `len` up to a multiple of padding_multiple.
constexpr size_t padded_len(size_t len) noexcept {
  return (len + padding_multiple - 1) / padding_multiple * padding_multiple;
}

/// seal_transport returns a transport message carrying `packet` (empty = a
/// keepalive) zero-padded to a multiple of 16, under the next send counter.
/// errc::nonce_exhausted once the counter reaches reject_after_messages;
/// errc::invalid_argument when `packet` exceeds max_packet_len.
result<std::vector<uint8_t>> seal_transport(keypair& kp, std::span<const uint8_t> packet);

/// open_transport authenticates and decrypts `msg` (whose receiver index
/// names `kp`) and returns the padded plaintext. errc::decrypt_failed on a
/// replayed or too old counter (wg_rejected_replay) or a bad tag
/// (wg_rejected_decrypt); the window only advances on success.
result<std::vector<uint8_t>> open_transport(keypair& kp, const transport_view& msg);

/// inner_packet_len returns the length of the IPv4/IPv6 packet at the start
/// of a padded plaintext (from its header), or nothing when the header is
/// not a valid IP header or claims more bytes than there are.
std::optional<size_t> inner_packet_len(std::span<const uint8_t> plaintext) noexcept;

} // namespace tf::wg
