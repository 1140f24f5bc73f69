// SPDX-License-Identifier: Apache-2.0
// Tables for the WireGuard wire layouts: exact byte offsets of every field,
// round trips, and malformed datagrams (truncated, too long, wrong type,
// reserved bytes) rejected with the right counter.
#define CAF_SUITE wg_messages
#include <caf/test/unit_test_impl.hpp>

#include <numeric>
#include <string>
#include <vector>

#include "runtime/counters.hpp"
#include "runtime/hex.hpp"
#include "runtime/wg/messages.hpp"

using namespace tf;
using namespace tf::wg;

namespace {

template <size_t N>
void fill(std::array<uint8_t, N>& a, uint8_t start) {
  std::iota(a.begin(), a.end(), start);
}

initiation_msg sample_initiation() {
  initiation_msg m;
  m.sender = 0x04030201;
  fill(m.ephemeral, 0x10);
  fill(m.encrypted_static, 0x40);
  fill(m.encrypted_timestamp, 0x80);
  fill(m.mac1, 0xa0);
  fill(m.mac2, 0xc0);
  return m;
}

response_msg sample_response() {
  response_msg m;
  m.sender = 0x11223344;
  m.receiver = 0x55667788;
  fill(m.ephemeral, 0x10);
  fill(m.encrypted_nothing, 0x40);
  fill(m.mac1, 0xa0);
  fill(m.mac2, 0xc0);
  return m;
}

cookie_reply_msg sample_cookie() {
  cookie_reply_msg m;
  m.receiver = 0xdeadbeef;
  fill(m.nonce, 0x10);
  fill(m.encrypted_cookie, 0x40);
  return m;
}

std::string hex_at(const std::vector<uint8_t>& v, size_t off, size_t len) {
  return to_hex(std::span<const uint8_t>{v}.subspan(off, len));
}

} // namespace

CAF_TEST(initiation_layout_is_exact) {
  auto wire = serialize(sample_initiation());
  CAF_REQUIRE_EQUAL(wire.size(), initiation_len);
  // type 1 and three reserved zero bytes, then the little-endian sender.
  CAF_CHECK_EQUAL(hex_at(wire, 0, 8), "0100000001020304");
  CAF_CHECK_EQUAL(wire[8], 0x10);   // ephemeral at 8..40
  CAF_CHECK_EQUAL(wire[40], 0x40);  // encrypted static at 40..88
  CAF_CHECK_EQUAL(wire[88], 0x80);  // encrypted timestamp at 88..116
  CAF_CHECK_EQUAL(wire[116], 0xa0); // mac1 at 116..132
  CAF_CHECK_EQUAL(wire[132], 0xc0); // mac2 at 132..148
  CAF_CHECK_EQUAL(wire[147], 0xcf);
  auto back = parse_initiation(wire);
  CAF_REQUIRE(back.ok());
  CAF_CHECK(serialize(*back) == wire);
  CAF_CHECK_EQUAL(sender_index_of(wire), 0x04030201u);
}

CAF_TEST(response_and_cookie_layouts_are_exact) {
  auto wire = serialize(sample_response());
  CAF_REQUIRE_EQUAL(wire.size(), response_len);
  CAF_CHECK_EQUAL(hex_at(wire, 0, 12), "020000004433221188776655");
  CAF_CHECK_EQUAL(wire[12], 0x10); // ephemeral at 12..44
  CAF_CHECK_EQUAL(wire[44], 0x40); // encrypted nothing at 44..60
  CAF_CHECK_EQUAL(wire[60], 0xa0); // mac1 at 60..76
  CAF_CHECK_EQUAL(wire[76], 0xc0); // mac2 at 76..92
  auto back = parse_response(wire);
  CAF_REQUIRE(back.ok());
  CAF_CHECK(serialize(*back) == wire);

  auto cwire = serialize(sample_cookie());
  CAF_REQUIRE_EQUAL(cwire.size(), cookie_reply_len);
  CAF_CHECK_EQUAL(hex_at(cwire, 0, 8), "03000000efbeadde");
  CAF_CHECK_EQUAL(cwire[8], 0x10);  // nonce at 8..32
  CAF_CHECK_EQUAL(cwire[32], 0x40); // encrypted cookie at 32..64
  auto cback = parse_cookie_reply(cwire);
  CAF_REQUIRE(cback.ok());
  CAF_CHECK(serialize(*cback) == cwire);
}

CAF_TEST(transport_header_is_little_endian) {
  std::vector<uint8_t> wire(transport_min_len + 5, 0xee);
  write_transport_header(std::span<uint8_t, transport_header_len>{wire.data(), 16}, 0x04030201,
                         0x0807060504030201ULL);
  CAF_CHECK_EQUAL(hex_at(wire, 0, 16), "04000000010203040102030405060708");
  auto v = parse_transport(wire);
  CAF_REQUIRE(v.ok());
  auto receiver = v->receiver;
  auto counter = v->counter;
  auto ct_len = v->ciphertext.size();
  CAF_CHECK_EQUAL(receiver, 0x04030201u);
  CAF_CHECK_EQUAL(counter, 0x0807060504030201ULL);
  CAF_CHECK_EQUAL(ct_len, wire.size() - 16);
}

CAF_TEST(malformed_datagrams_are_rejected_and_counted) {
  auto init = serialize(sample_initiation());
  auto resp = serialize(sample_response());
  auto cookie = serialize(sample_cookie());
  std::vector<uint8_t> keepalive(transport_min_len, 0);
  keepalive[0] = 4;
  auto cut = [](std::vector<uint8_t> v, size_t n) { v.resize(n); return v; };
  auto grow = [](std::vector<uint8_t> v) { v.push_back(0); return v; };
  auto set = [](std::vector<uint8_t> v, size_t i, uint8_t b) { v[i] = b; return v; };
  enum kind { init_k, resp_k, cookie_k, transport_k };
  struct {
    const char* name;
    kind parser;
    std::vector<uint8_t> input;
    const char* want_counter; // nullptr: must parse
  } cases[] = {
    {"initiation ok", init_k, init, nullptr},
    {"initiation truncated", init_k, cut(init, 147), "wg_rejected_truncated"},
    {"initiation too long", init_k, grow(init), "wg_rejected_bad_length"},
    {"initiation reserved byte 1", init_k, set(init, 1, 1), "wg_rejected_reserved"},
    {"initiation reserved byte 3", init_k, set(init, 3, 0x80), "wg_rejected_reserved"},
    {"response as initiation", init_k, resp, "wg_rejected_bad_type"},
    {"type 0", init_k, set(init, 0, 0), "wg_rejected_bad_type"},
    {"type 5", init_k, set(init, 0, 5), "wg_rejected_bad_type"},
    {"three bytes", init_k, cut(init, 3), "wg_rejected_truncated"},
    {"empty", init_k, {}, "wg_rejected_truncated"},
    {"response ok", resp_k, resp, nullptr},
    {"response truncated", resp_k, cut(resp, 91), "wg_rejected_truncated"},
    {"response too long", resp_k, grow(resp), "wg_rejected_bad_length"},
    {"response reserved", resp_k, set(resp, 2, 1), "wg_rejected_reserved"},
    {"initiation as response", resp_k, init, "wg_rejected_bad_type"},
    {"cookie ok", cookie_k, cookie, nullptr},
    {"cookie truncated", cookie_k, cut(cookie, 63), "wg_rejected_truncated"},
    {"cookie too long", cookie_k, grow(cookie), "wg_rejected_bad_length"},
    {"cookie reserved", cookie_k, set(cookie, 1, 9), "wg_rejected_reserved"},
    {"keepalive ok", transport_k, keepalive, nullptr},
    {"transport with data ok", transport_k, grow(keepalive), nullptr},
    {"transport truncated", transport_k, cut(keepalive, 31), "wg_rejected_truncated"},
    {"transport header only", transport_k, cut(keepalive, 16), "wg_rejected_truncated"},
    {"65536 zero bytes", transport_k, std::vector<uint8_t>(65536, 0), "wg_rejected_bad_type"},
    {"transport reserved", transport_k, set(keepalive, 3, 1), "wg_rejected_reserved"},
    {"cookie as transport", transport_k, cookie, "wg_rejected_bad_type"},
  };
  // A 65536-byte datagram of type 4 is too long (the zero-filled one above
  // has type 0); check that separately.
  auto huge = set(std::vector<uint8_t>(65536, 0), 0, 4);
  auto before_huge = counter_value("wg_rejected_bad_length");
  CAF_CHECK(!parse_transport(huge).ok());
  CAF_CHECK_EQUAL(counter_value("wg_rejected_bad_length"), before_huge + 1);
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto before = c.want_counter ? counter_value(c.want_counter) : 0;
    auto total_before = snapshot_counters();
    errc got = errc::ok;
    switch (c.parser) {
      case init_k: got = parse_initiation(c.input).code(); break;
      case resp_k: got = parse_response(c.input).code(); break;
      case cookie_k: got = parse_cookie_reply(c.input).code(); break;
      case transport_k: got = parse_transport(c.input).code(); break;
    }
    if (c.want_counter == nullptr) {
      CAF_CHECK_EQUAL(got, errc::ok);
      CAF_CHECK(snapshot_counters() == total_before);
    } else {
      CAF_CHECK_EQUAL(got, errc::malformed_message);
      CAF_CHECK_EQUAL(counter_value(c.want_counter), before + 1);
    }
  }
}

CAF_TEST(peek_type_names_every_type) {
  struct {
    const char* name;
    std::vector<uint8_t> input;
    errc want_code;
    message_type want;
  } cases[] = {
    {"initiation", {1, 0, 0, 0}, errc::ok, message_type::initiation},
    {"response", {2, 0, 0, 0, 9}, errc::ok, message_type::response},
    {"cookie", {3, 0, 0, 0}, errc::ok, message_type::cookie_reply},
    {"transport", {4, 0, 0, 0}, errc::ok, message_type::transport},
    {"big-endian type", {0, 0, 0, 1}, errc::malformed_message, message_type::initiation},
    {"reserved", {4, 0, 1, 0}, errc::malformed_message, message_type::initiation},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto r = peek_type(c.input);
    CAF_CHECK_EQUAL(r.code(), c.want_code);
    if (r.ok()) {
      CAF_CHECK(*r == c.want);
    }
  }
}
