// SPDX-License-Identifier: Apache-2.0
// WireGuard MAC1/MAC2 and cookies (whitepaper 5.4.4, 5.4.7). cookie_checker
// is the responder side (one per local static key), cookie_generator the
// initiator side (one per remote peer). Plain values confined to their
// owner's thread; no clock reads (callers pass `now`); secrets are wiped.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "runtime/blake2s.hpp"
#include "runtime/keys.hpp"
#include "runtime/result.hpp"
#include "runtime/wg/constants.hpp"
#include "runtime/wg/messages.hpp"

namespace tf::wg {

/// cookie_len is the length of a cookie (a BLAKE2s-128 MAC).
inline constexpr size_t cookie_len = 16;

/// mac1_key_for returns HASH("mac1----" || public_key): the MAC1 key of
/// messages sent to the owner of `public_key`.
blake2s_digest mac1_key_for(const key_bytes& public_key) noexcept;

/// cookie_key_for returns HASH("cookie--" || public_key): the key that
/// encrypts cookie replies sent by the owner of `public_key`.
blake2s_digest cookie_key_for(const key_bytes& public_key) noexcept;

/// compute_mac is keyed BLAKE2s-128 of `data` (MAC in the whitepaper).
mac_bytes compute_mac(std::span<const uint8_t> key, std::span<const uint8_t> data) noexcept;

/// cookie_checker verifies MAC1 (always) and MAC2 (under load) of handshake
/// messages addressed to one local static key, and writes cookie replies.
/// The cookie secret is random and replaced every cookie_refresh_time.
class cookie_checker {
public:
  explicit cookie_checker(const key_bytes& local_public) noexcept;
  ~cookie_checker();
  cookie_checker(const cookie_checker&) = delete;
  cookie_checker& operator=(const cookie_checker&) = delete;

  /// check_mac1 verifies the mac1 of a whole initiation or response datagram
  /// (at least 32 bytes; shorter ones fail).
  bool check_mac1(std::span<const uint8_t> datagram) const noexcept;

  /// check_mac2 verifies mac2 against the cookie of `source` (the sender's
  /// address bytes). Fails when no secret is set or it is older than
  /// cookie_refresh_time.
  bool check_mac2(std::span<const uint8_t> datagram, std::span<const uint8_t> source,
                  time_point now) const noexcept;

  /// make_reply returns the cookie reply to a handshake `datagram` from
  /// `source`: the cookie MAC(secret, source) encrypted with XChaCha20-
  /// Poly1305 under a random nonce, authenticating the datagram's mac1.
  /// Rotates an expired secret first.
  result<cookie_reply_msg> make_reply(std::span<const uint8_t> datagram,
                                      std::span<const uint8_t> source, time_point now);

private:
  blake2s_digest mac1_key_;
  blake2s_digest cookie_key_;
  std::array<uint8_t, 32> secret_{};
  time_point secret_set_{};
  bool has_secret_ = false;
};

/// cookie_generator writes MAC1 (and MAC2 while it holds a fresh cookie) on
/// our handshake messages to one remote peer and consumes that peer's cookie
/// replies.
class cookie_generator {
public:
  explicit cookie_generator(const key_bytes& remote_public) noexcept;
  ~cookie_generator();
  cookie_generator(const cookie_generator&) = delete;
  cookie_generator& operator=(const cookie_generator&) = delete;

  /// add_macs writes mac1 into the last 32..16 bytes of a serialized
  /// initiation or response, remembers it (a cookie reply must authenticate
  /// it), and writes mac2 when a cookie younger than cookie_refresh_time is
  /// held (zeros otherwise).
  void add_macs(std::span<uint8_t> datagram, time_point now) noexcept;

  /// consume_reply decrypts a cookie reply to our last mac1 and stores the
  /// cookie. errc::decrypt_failed (counted wg_rejected_cookie_reply) when no
  /// message awaits a cookie or the reply does not authenticate.
  result<void> consume_reply(const cookie_reply_msg& reply, time_point now);

  /// has_cookie reports whether mac2 would be set at `now`.
  bool has_cookie(time_point now) const noexcept;

private:
  blake2s_digest mac1_key_;
  blake2s_digest cookie_key_;
  mac_bytes last_mac1_{};
  bool has_last_mac1_ = false;
  std::array<uint8_t, cookie_len> cookie_{};
  time_point cookie_set_{};
  bool has_cookie_ = false;
};

} // namespace tf::wg
