// SPDX-License-Identifier: Apache-2.0
// Wire layouts of the four WireGuard messages. Pure functions; any thread.
// Every rejected datagram bumps exactly one wg_rejected_<reason> counter.
#include "runtime/wg/messages.hpp"

#include <cstring>

#include "runtime/counters.hpp"

namespace tf::wg {

namespace {

uint32_t load_u32(const uint8_t* p) noexcept {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

uint64_t load_u64(const uint8_t* p) noexcept {
  return uint64_t{load_u32(p)} | uint64_t{load_u32(p + 4)} << 32;
}

void store_u32(uint8_t* p, uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) {
    p[i] = static_cast<uint8_t>(v >> (8 * i));
  }
}

void store_u64(uint8_t* p, uint64_t v) noexcept {
  store_u32(p, static_cast<uint32_t>(v));
  store_u32(p + 4, static_cast<uint32_t>(v >> 32));
}

template <size_t N>
const uint8_t* take(const uint8_t* p, std::array<uint8_t, N>& out) noexcept {
  std::memcpy(out.data(), p, N);
  return p + N;
}

template <size_t N>
uint8_t* put(uint8_t* p, const std::array<uint8_t, N>& in) noexcept {
  std::memcpy(p, in.data(), N);
  return p + N;
}

failure reject(counter& c, const char* detail) {
  c.add();
  return make_error(errc::malformed_message, detail);
}

/// check_layout validates type and length of a message of `want` type whose
/// length must lie in [min_len, max_len].
result<void> check_layout(std::span<const uint8_t> d, message_type want,
                          size_t min_len, size_t max_len) {
  auto type = peek_type(d);
  if (!type) {
    return type.error();
  }
  if (*type != want) {
    return reject(TF_COUNTER("wg_rejected_bad_type"), "WireGuard: unexpected message type");
  }
  if (d.size() < min_len) {
    return reject(TF_COUNTER("wg_rejected_truncated"), "WireGuard: message truncated");
  }
  if (d.size() > max_len) {
    return reject(TF_COUNTER("wg_rejected_bad_length"), "WireGuard: message too long");
  }
  return {};
}

std::vector<uint8_t> with_type(message_type t, size_t len) {
  std::vector<uint8_t> out(len, 0);
  out[0] = static_cast<uint8_t>(t);
  return out;
}

} // namespace

result<message_type> peek_type(std::span<const uint8_t> d) {
  if (d.size() < 4) {
    return reject(TF_COUNTER("wg_rejected_truncated"), "WireGuard: datagram shorter than a type");
  }
  if (d[0] < 1 || d[0] > 4) {
    return reject(TF_COUNTER("wg_rejected_bad_type"), "WireGuard: unknown message type");
  }
  if (d[1] != 0 || d[2] != 0 || d[3] != 0) {
    return reject(TF_COUNTER("wg_rejected_reserved"), "WireGuard: reserved bytes set");
  }
  return static_cast<message_type>(d[0]);
}

result<initiation_msg> parse_initiation(std::span<const uint8_t> d) {
  if (auto r = check_layout(d, message_type::initiation, initiation_len, initiation_len); !r) {
    return r.error();
  }
  initiation_msg m;
  m.sender = load_u32(d.data() + 4);
  auto p = take(d.data() + 8, m.ephemeral);
  p = take(p, m.encrypted_static);
  p = take(p, m.encrypted_timestamp);
  p = take(p, m.mac1);
  take(p, m.mac2);
  return m;
}

result<response_msg> parse_response(std::span<const uint8_t> d) {
  if (auto r = check_layout(d, message_type::response, response_len, response_len); !r) {
    return r.error();
  }
  response_msg m;
  m.sender = load_u32(d.data() + 4);
  m.receiver = load_u32(d.data() + 8);
  auto p = take(d.data() + 12, m.ephemeral);
  p = take(p, m.encrypted_nothing);
  p = take(p, m.mac1);
  take(p, m.mac2);
  return m;
}

result<cookie_reply_msg> parse_cookie_reply(std::span<const uint8_t> d) {
  if (auto r = check_layout(d, message_type::cookie_reply, cookie_reply_len, cookie_reply_len);
      !r) {
    return r.error();
  }
  cookie_reply_msg m;
  m.receiver = load_u32(d.data() + 4);
  auto p = take(d.data() + 8, m.nonce);
  take(p, m.encrypted_cookie);
  return m;
}

result<transport_view> parse_transport(std::span<const uint8_t> d) {
  if (auto r = check_layout(d, message_type::transport, transport_min_len, max_datagram_len);
      !r) {
    return r.error();
  }
  transport_view v;
  v.receiver = load_u32(d.data() + 4);
  v.counter = load_u64(d.data() + 8);
  v.ciphertext = d.subspan(transport_header_len);
  return v;
}

std::vector<uint8_t> serialize(const initiation_msg& m) {
  auto out = with_type(message_type::initiation, initiation_len);
  store_u32(out.data() + 4, m.sender);
  auto p = put(out.data() + 8, m.ephemeral);
  p = put(p, m.encrypted_static);
  p = put(p, m.encrypted_timestamp);
  p = put(p, m.mac1);
  put(p, m.mac2);
  return out;
}

std::vector<uint8_t> serialize(const response_msg& m) {
  auto out = with_type(message_type::response, response_len);
  store_u32(out.data() + 4, m.sender);
  store_u32(out.data() + 8, m.receiver);
  auto p = put(out.data() + 12, m.ephemeral);
  p = put(p, m.encrypted_nothing);
  p = put(p, m.mac1);
  put(p, m.mac2);
  return out;
}

std::vector<uint8_t> serialize(const cookie_reply_msg& m) {
  auto out = with_type(message_type::cookie_reply, cookie_reply_len);
  store_u32(out.data() + 4, m.receiver);
  auto p = put(out.data() + 8, m.nonce);
  put(p, m.encrypted_cookie);
  return out;
}

void write_transport_header(std::span<uint8_t, transport_header_len> out,
                            uint32_t receiver, uint64_t counter) noexcept {
  out[0] = static_cast<uint8_t>(message_type::transport);
  out[1] = out[2] = out[3] = 0;
  store_u32(out.data() + 4, receiver);
  store_u64(out.data() + 8, counter);
}

uint32_t sender_index_of(std::span<const uint8_t> d) noexcept {
  return d.size() >= 8 ? load_u32(d.data() + 4) : 0;
}

} // namespace tf::wg
