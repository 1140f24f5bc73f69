// SPDX-License-Identifier: Apache-2.0
// Tables for runtime basics: hex, keys and their text forms, addresses,
// prefixes, endpoints, the tailnet address plan and allocator, counters,
// the Internet checksum's one's complement sum.
#define CAF_SUITE runtime_basics
#include <caf/test/unit_test_impl.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "runtime/counters.hpp"
#include "runtime/hex.hpp"
#include "runtime/inet_checksum.hpp"
#include "runtime/ip.hpp"
#include "runtime/keys.hpp"
#include "runtime/tailnet_addr.hpp"

using namespace tf;

CAF_TEST(hex_round_trip_and_rejects) {
  std::vector<uint8_t> bytes{0x00, 0x0f, 0xa5, 0xff};
  CAF_CHECK_EQUAL(to_hex(bytes), "000fa5ff");
  auto back = from_hex("000FA5ff");
  CAF_REQUIRE(back.has_value());
  CAF_CHECK(*back == bytes);
  struct {
    const char* name;
    const char* input;
  } bad[] = {{"odd length", "abc"}, {"bad digit", "zz"}, {"space", "0 "}};
  for (auto& c : bad) {
    CAF_MESSAGE("case " << c.name);
    CAF_CHECK(!from_hex(c.input).has_value());
  }
}

CAF_TEST(keys_derive_and_text_forms) {
  // RFC 7748 section 6.1: Alice's key pair.
  key_bytes alice_secret;
  CAF_REQUIRE(from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
                       alice_secret));
  node_private_key priv{alice_secret};
  CAF_CHECK_EQUAL(to_hex(priv.public_key().bytes()),
                  "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  auto text = priv.public_key().to_string();
  CAF_CHECK_EQUAL(text.substr(0, 8), "nodekey:");
  auto parsed = node_public_key::parse(text);
  CAF_REQUIRE(parsed.ok());
  CAF_CHECK(*parsed == priv.public_key());
  auto priv_text = priv.to_string();
  auto priv_back = node_private_key::parse(priv_text);
  CAF_REQUIRE(priv_back.ok());
  CAF_CHECK(priv_back->bytes() == priv.bytes());
  struct {
    const char* name;
    const char* input;
  } bad[] = {
    {"machine prefix for node key", "mkey:8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"},
    {"short", "nodekey:8520"},
    {"not hex", "nodekey:zz20f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"},
    {"empty", ""},
  };
  for (auto& c : bad) {
    CAF_MESSAGE("case " << c.name);
    auto r = node_public_key::parse(c.input);
    CAF_CHECK(!r.ok() && r.code() == errc::bad_key);
  }
  CAF_CHECK(!node_private_key::parse("privkey:" + std::string(64, '0')).ok());
}

CAF_TEST(keys_generate_and_agree) {
  auto a = machine_private_key::generate();
  auto b = machine_private_key::generate();
  CAF_CHECK(!a.is_zero());
  CAF_CHECK(a.public_key() != b.public_key());
  auto ab = x25519(a.bytes(), b.public_key().bytes());
  auto ba = x25519(b.bytes(), a.public_key().bytes());
  CAF_REQUIRE(ab.ok() && ba.ok());
  CAF_CHECK(*ab == *ba);
  // A low-order point (all zeros) gives an all-zero secret: refused.
  CAF_CHECK_EQUAL(x25519(a.bytes(), key_bytes{}).code(), errc::bad_key);
}

CAF_TEST(ip_parse_format) {
  struct {
    const char* input;
    bool ok;
    const char* want;
  } cases[] = {
    {"100.64.0.1", true, "100.64.0.1"},
    {"fd7a:115c:a1e0::1", true, "fd7a:115c:a1e0::1"},
    {"::ffff:100.64.0.1", true, "::ffff:100.64.0.1"},
    {"256.1.1.1", false, ""},
    {"", false, ""},
    {"1.2.3", false, ""},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.input);
    auto a = ip_addr::parse(c.input);
    CAF_CHECK_EQUAL(a.has_value(), c.ok);
    if (a && c.ok)
      CAF_CHECK_EQUAL(a->to_string(), c.want);
  }
  CAF_CHECK(ip_addr::parse("::ffff:100.64.0.1")->unmap() == ip_addr::v4(100, 64, 0, 1));
}

CAF_TEST(prefix_and_endpoint) {
  auto p = ip_prefix::parse("100.64.0.0/10");
  CAF_REQUIRE(p.has_value());
  CAF_CHECK(p->contains(ip_addr::v4(100, 127, 255, 255)));
  CAF_CHECK(!p->contains(ip_addr::v4(100, 128, 0, 0)));
  CAF_CHECK(!ip_prefix::parse("100.64.0.0/33").has_value());
  CAF_CHECK(!ip_prefix::parse("100.64.0.0/").has_value());
  auto host = ip_prefix::parse("fd7a:115c:a1e0::1");
  CAF_REQUIRE(host.has_value());
  CAF_CHECK_EQUAL(host->bits, 128);
  struct {
    const char* input;
    bool ok;
    const char* want;
  } eps[] = {
    {"1.2.3.4:80", true, "1.2.3.4:80"},
    {"[fd7a::1]:443", true, "[fd7a::1]:443"},
    {"fd7a::1:443", false, ""},
    {"1.2.3.4:65536", false, ""},
    {"1.2.3.4:", false, ""},
    {"1.2.3.4", false, ""},
  };
  for (auto& c : eps) {
    CAF_MESSAGE("case " << c.input);
    auto e = ip_endpoint::parse(c.input);
    CAF_CHECK_EQUAL(e.has_value(), c.ok);
    if (e && c.ok)
      CAF_CHECK_EQUAL(e->to_string(), c.want);
  }
}

CAF_TEST(tailnet_address_plan) {
  CAF_CHECK(is_tailnet_ipv4(ip_addr::v4(100, 64, 0, 1)));
  CAF_CHECK(!is_tailnet_ipv4(ip_addr::v4(100, 100, 100, 100)));
  CAF_CHECK(!is_tailnet_ipv4(ip_addr::v4(100, 115, 93, 7)));
  CAF_CHECK(!is_tailnet_ipv4(ip_addr::v4(10, 0, 0, 1)));
  CAF_CHECK_EQUAL(ipv6_for(ip_addr::v4(100, 64, 0, 1)).to_string(),
                  "fd7a:115c:a1e0::6440:1");
  CAF_CHECK(is_tailnet_ipv6(ipv6_for(ip_addr::v4(100, 64, 0, 1))));
}

CAF_TEST(allocator_skips_excluded_and_reuses) {
  address_allocator alloc;
  auto first = alloc.allocate();
  CAF_REQUIRE(first.ok());
  CAF_CHECK_EQUAL(first->to_string(), "100.64.0.1");
  CAF_CHECK(alloc.mark_used(ip_addr::v4(100, 64, 0, 2)));
  CAF_CHECK(!alloc.mark_used(ip_addr::v4(100, 64, 0, 2)));
  CAF_CHECK(!alloc.mark_used(ip_addr::v4(8, 8, 8, 8)));
  CAF_CHECK_EQUAL(alloc.allocate()->to_string(), "100.64.0.3");
  // Walk up to the ChromeOS range: no address in it, nor 100.100.100.100.
  address_allocator walk;
  CAF_REQUIRE(walk.mark_used(ip_addr::v4(100, 64, 0, 1)));
  size_t n = 0;
  bool saw_excluded = false;
  while (n++ < (1u << 22)) {
    auto a = walk.allocate();
    if (!a.ok())
      break;
    if (!is_tailnet_ipv4(*a))
      saw_excluded = true;
  }
  CAF_CHECK(!saw_excluded);
  CAF_CHECK_EQUAL(walk.allocate().code(), errc::address_space_exhausted);
  // 2^22 minus network, broadcast, 512 ChromeOS and quad-100.
  CAF_CHECK_EQUAL(walk.num_used(), (1u << 22) - 2 - 512 - 1);
  walk.release(ip_addr::v4(100, 64, 0, 7));
  CAF_CHECK_EQUAL(walk.allocate()->to_string(), "100.64.0.7");
}

CAF_TEST(counters_are_named_and_shared) {
  auto before = counter_value("test_counter_x");
  TF_COUNTER("test_counter_x").add();
  get_counter("test_counter_x").add(2);
  CAF_CHECK_EQUAL(counter_value("test_counter_x"), before + 3);
  CAF_CHECK_EQUAL(snapshot_counters().count("test_counter_x"), 1u);
}

namespace {

/// rfc1071_sum is RFC 1071's definition, two bytes at a time, in network
/// byte order (the result's big-endian bytes are the sum's bytes).
uint16_t rfc1071_sum(const uint8_t* p, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i < len; i += 2) {
    sum += uint32_t{p[i]} << 8 | (i + 1 < len ? p[i + 1] : 0);
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(sum);
}

/// in_network_order reads a sum returned in the data's byte order.
uint16_t in_network_order(uint16_t sum) {
  uint8_t b[2];
  std::memcpy(b, &sum, 2);
  return static_cast<uint16_t>(b[0] << 8 | b[1]);
}

} // namespace

CAF_TEST(ones_complement_sum_matches_rfc1071) {
  // RFC 1071 section 3's worked example: the sum is ddf2.
  const uint8_t example[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  CAF_CHECK_EQUAL(in_network_order(ones_complement_sum(example)), 0xddf2);
  CAF_CHECK_EQUAL(ones_complement_sum({}), 0);
  // Every length up to 300 at every alignment, random and all-ones bytes
  // (all-ones: the sum wraps around in every word).
  std::mt19937 rng{7};
  std::vector<uint8_t> buf(8 + 300);
  for (int fill = 0; fill < 2; ++fill) {
    for (auto& b : buf)
      b = fill == 0 ? static_cast<uint8_t>(rng()) : 0xff;
    for (size_t off = 0; off < 8; ++off) {
      for (size_t len = 0; len <= 300; ++len) {
        const uint8_t* p = buf.data() + off;
        auto want = rfc1071_sum(p, len);
        auto got = in_network_order(ones_complement_sum({p, len}));
        if (got != want) {
          CAF_FAIL("offset " << off << " length " << len << ": " << got << " != " << want);
        }
      }
    }
  }
  // A long buffer: many carries out of the 64-bit accumulators.
  std::vector<uint8_t> big(1 << 20, 0xff);
  big[12345] = 0x01;
  CAF_CHECK_EQUAL(in_network_order(ones_complement_sum(big)), rfc1071_sum(big.data(), big.size()));
}
