// SPDX-License-Identifier: Apache-2.0
// MAC1/MAC2 and cookie replies over libb2 (keyed BLAKE2s) and libsodium
// (XChaCha20-Poly1305). Confined to the owning device or session.
#include "runtime/wg/cookie.hpp"

#include <sodium.h>

#include <cstring>
#include <string_view>

#include "runtime/aead.hpp"
#include "runtime/counters.hpp"

namespace tf::wg {

namespace {

constexpr std::string_view mac1_label = "mac1----";
constexpr std::string_view cookie_label = "cookie--";

blake2s_digest label_hash(std::string_view label, const key_bytes& key) noexcept {
  std::span<const uint8_t> l{reinterpret_cast<const uint8_t*>(label.data()), label.size()};
  return blake2s({l, std::span<const uint8_t>{key}});
}

/// covered_by_mac1 / covered_by_mac2 are the prefixes of a handshake datagram
/// that mac1 and mac2 authenticate.
std::span<const uint8_t> covered_by_mac1(std::span<const uint8_t> d) noexcept {
  return d.first(d.size() - 2 * mac_len);
}

std::span<const uint8_t> covered_by_mac2(std::span<const uint8_t> d) noexcept {
  return d.first(d.size() - mac_len);
}

bool equal_macs(const mac_bytes& a, const uint8_t* b) noexcept {
  return sodium_memcmp(a.data(), b, mac_len) == 0;
}

} // namespace

blake2s_digest mac1_key_for(const key_bytes& public_key) noexcept {
  return label_hash(mac1_label, public_key);
}

blake2s_digest cookie_key_for(const key_bytes& public_key) noexcept {
  return label_hash(cookie_label, public_key);
}

mac_bytes compute_mac(std::span<const uint8_t> key, std::span<const uint8_t> data) noexcept {
  mac_bytes out{};
  // Keys here are 16..32 bytes and the output is 16: keyed_blake2s cannot fail.
  (void) keyed_blake2s(out, key, {data});
  return out;
}

// -- cookie_checker -------------------------------------------------------------

cookie_checker::cookie_checker(const key_bytes& local_public) noexcept
  : mac1_key_(mac1_key_for(local_public)), cookie_key_(cookie_key_for(local_public)) {
}

cookie_checker::~cookie_checker() {
  wipe(secret_.data(), secret_.size());
}

bool cookie_checker::check_mac1(std::span<const uint8_t> d) const noexcept {
  if (d.size() < 2 * mac_len) {
    return false;
  }
  auto want = compute_mac(mac1_key_, covered_by_mac1(d));
  return equal_macs(want, d.data() + d.size() - 2 * mac_len);
}

bool cookie_checker::check_mac2(std::span<const uint8_t> d, std::span<const uint8_t> source,
                                time_point now) const noexcept {
  if (d.size() < 2 * mac_len || !has_secret_ || now - secret_set_ >= cookie_refresh_time) {
    return false;
  }
  auto cookie = compute_mac(secret_, source);
  auto want = compute_mac(cookie, covered_by_mac2(d));
  wipe(cookie.data(), cookie.size());
  return equal_macs(want, d.data() + d.size() - mac_len);
}

result<cookie_reply_msg> cookie_checker::make_reply(std::span<const uint8_t> d,
                                                    std::span<const uint8_t> source,
                                                    time_point now) {
  if (d.size() < 8 + 2 * mac_len) {
    return make_error(errc::invalid_argument, "WireGuard cookie: not a handshake message");
  }
  if (!has_secret_ || now - secret_set_ >= cookie_refresh_time) {
    random_bytes(secret_.data(), secret_.size());
    secret_set_ = now;
    has_secret_ = true;
  }
  cookie_reply_msg reply;
  reply.receiver = sender_index_of(d);
  random_bytes(reply.nonce.data(), reply.nonce.size());
  auto cookie = compute_mac(secret_, source);
  auto r = xchacha_seal(reply.encrypted_cookie, cookie_key_, reply.nonce,
                        d.subspan(d.size() - 2 * mac_len, mac_len), cookie);
  wipe(cookie.data(), cookie.size());
  if (!r) {
    return r.error();
  }
  return reply;
}

// -- cookie_generator -----------------------------------------------------------

cookie_generator::cookie_generator(const key_bytes& remote_public) noexcept
  : mac1_key_(mac1_key_for(remote_public)), cookie_key_(cookie_key_for(remote_public)) {
}

cookie_generator::~cookie_generator() {
  wipe(cookie_.data(), cookie_.size());
}

void cookie_generator::add_macs(std::span<uint8_t> d, time_point now) noexcept {
  if (d.size() < 2 * mac_len) {
    return;
  }
  auto* mac1 = d.data() + d.size() - 2 * mac_len;
  auto* mac2 = d.data() + d.size() - mac_len;
  last_mac1_ = compute_mac(mac1_key_, covered_by_mac1(d));
  has_last_mac1_ = true;
  std::memcpy(mac1, last_mac1_.data(), mac_len);
  if (has_cookie(now)) {
    auto m = compute_mac(cookie_, covered_by_mac2(d));
    std::memcpy(mac2, m.data(), mac_len);
  } else {
    std::memset(mac2, 0, mac_len);
  }
}

result<void> cookie_generator::consume_reply(const cookie_reply_msg& reply, time_point now) {
  if (!has_last_mac1_) {
    TF_COUNTER("wg_rejected_cookie_reply").add();
    return make_error(errc::decrypt_failed, "WireGuard cookie: no message awaits a cookie");
  }
  std::array<uint8_t, cookie_len> cookie{};
  if (auto r = xchacha_open(cookie, cookie_key_, reply.nonce, last_mac1_,
                            reply.encrypted_cookie);
      !r) {
    TF_COUNTER("wg_rejected_cookie_reply").add();
    return make_error(errc::decrypt_failed, "WireGuard cookie: reply failed authentication");
  }
  cookie_ = cookie;
  wipe(cookie.data(), cookie.size());
  cookie_set_ = now;
  has_cookie_ = true;
  has_last_mac1_ = false;
  return {};
}

bool cookie_generator::has_cookie(time_point now) const noexcept {
  return has_cookie_ && now - cookie_set_ < cookie_refresh_time;
}

} // namespace tf::wg
