// SPDX-License-Identifier: Apache-2.0
// The WireGuard handshake (whitepaper 5.4.2-5.4.5): Noise_IKpsk2 with the
// WireGuard prologue, message 1 carrying a TAI64N timestamp, message 2 an
// empty payload, indices and the resulting keypair. MACs, replay and flood
// checks are the caller's (cookie.hpp, session). Plain values confined to the
// owning session; no clock reads, no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "runtime/keys.hpp"
#include "runtime/noise.hpp"
#include "runtime/result.hpp"
#include "runtime/wg/messages.hpp"
#include "runtime/wg/tai64n.hpp"
#include "runtime/wg/transport.hpp"

namespace tf::wg {

/// prologue is WireGuard's Noise prologue (its identifier string).
inline constexpr std::string_view prologue = "WireGuard v1 zx2c4 Jason@zx2c4.com";

/// preshared_key is the optional IKpsk2 key; all zeros when unused.
using preshared_key = std::array<uint8_t, 32>;

/// initiator_handshake is our side of a handshake we started: the initiation
/// to send (MACs still zero) and the Noise state awaiting the response.
class initiator_handshake {
public:
  /// begin writes the initiation from `local` to `remote` with sender index
  /// `local_index` and `timestamp`. errc::handshake_failed when `remote` is a
  /// low-order point.
  static result<initiator_handshake> begin(const node_private_key& local,
                                           const node_public_key& remote,
                                           const preshared_key& psk, uint32_t local_index,
                                           const tai64n& timestamp);

  const initiation_msg& message() const noexcept { return msg_; }
  uint32_t local_index() const noexcept { return local_index_; }

  /// complete consumes the responder's `msg` (its receiver must be
  /// local_index(); the caller has checked mac1) and returns the keypair,
  /// created at `now`. errc::handshake_failed (counted
  /// wg_rejected_response_auth) when it does not authenticate; *this is
  /// unchanged then, so a forged response cannot end a pending handshake.
  result<std::unique_ptr<keypair>> complete(const response_msg& msg, time_point now) const;

private:
  initiator_handshake(noise::handshake_state hs, const initiation_msg& msg, uint32_t index)
    : hs_(std::move(hs)), msg_(msg), local_index_(index) {}

  noise::handshake_state hs_;
  initiation_msg msg_;
  uint32_t local_index_ = 0;
};

/// responder_response is what answering an initiation produces.
struct responder_response {
  response_msg msg;
  std::unique_ptr<keypair> keys;
};

/// responder_handshake is a decrypted initiation: who sent it, when, and the
/// Noise state to answer it with.
class responder_handshake {
public:
  /// read decrypts `msg` with our static key. errc::handshake_failed
  /// (counted wg_rejected_initiation_auth) when it does not authenticate or
  /// the payload is not a 12-byte timestamp.
  static result<responder_handshake> read(const node_private_key& local,
                                          const initiation_msg& msg);

  /// remote_static is the initiator's static public key.
  node_public_key remote_static() const noexcept { return node_public_key{hs_.remote_static()}; }
  const tai64n& timestamp() const noexcept { return timestamp_; }
  uint32_t remote_index() const noexcept { return remote_index_; }

  /// respond writes the response (MACs zero) with sender index `local_index`
  /// and returns it with the keypair (created at `now`, not yet confirmed).
  /// Single use: a second call fails with errc::invalid_argument.
  result<responder_response> respond(const preshared_key& psk, uint32_t local_index,
                                     time_point now);

private:
  responder_handshake(noise::handshake_state hs, const tai64n& ts, uint32_t remote_index)
    : hs_(std::move(hs)), timestamp_(ts), remote_index_(remote_index) {}

  noise::handshake_state hs_;
  tai64n timestamp_{};
  uint32_t remote_index_ = 0;
};

} // namespace tf::wg
