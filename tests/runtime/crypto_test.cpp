// SPDX-License-Identifier: Apache-2.0
// Known answers for the crypto wrappers: BLAKE2s (RFC 7693, BLAKE2 KAT),
// keyed BLAKE2s, HMAC-BLAKE2s and Noise HKDF (values from Python's hashlib
// and hmac), ChaCha20-Poly1305 with the Noise nonce (value from pyca
// cryptography) and XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha A.3.1).
// Long ChaCha20-Poly1305 messages (up to a full control record) give pyca
// cryptography's bytes, open in place, and zero the output when forged.
#define CAF_SUITE runtime_crypto
#include <caf/test/unit_test_impl.hpp>

#include <sodium.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/aead.hpp"
#include "runtime/blake2s.hpp"
#include "runtime/hex.hpp"
#include "tests/support/bytes_of.hpp"

using namespace tf;
using tf::test::bytes_of;

namespace {

std::vector<uint8_t> unhex(std::string_view text) {
  auto out = from_hex(text);
  CAF_REQUIRE(out.has_value());
  return *out;
}

std::vector<uint8_t> range_bytes(size_t n) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<uint8_t>(i);
  }
  return out;
}

} // namespace

CAF_TEST(blake2s_known_answers) {
  auto abc = to_hex(blake2s(bytes_of("abc")));
  CAF_CHECK_EQUAL(abc, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
  auto parts = to_hex(blake2s({bytes_of("a"), bytes_of(""), bytes_of("bc")}));
  CAF_CHECK_EQUAL(parts, abc);
  auto key = range_bytes(32);
  struct {
    const char* name;
    size_t out_len;
    size_t in_len;
    const char* want;
  } cases[] = {
    {"32-byte output, empty input (BLAKE2 KAT)", 32, 0,
     "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49"},
    {"16-byte output (MAC1 shape)", 16, 3, "1e2a79436a7796a3e9826bfedf07659f"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    std::vector<uint8_t> out(c.out_len);
    auto in = range_bytes(c.in_len);
    auto r = keyed_blake2s(out, key, {in});
    CAF_REQUIRE(r.ok());
    CAF_CHECK_EQUAL(to_hex(out), c.want);
  }
  std::vector<uint8_t> bad_out(20);
  CAF_CHECK_EQUAL(keyed_blake2s(bad_out, key, {}).code(), errc::invalid_argument);
  std::vector<uint8_t> out16(16);
  auto long_key = range_bytes(33);
  CAF_CHECK_EQUAL(keyed_blake2s(out16, long_key, {}).code(), errc::invalid_argument);
  CAF_CHECK_EQUAL(keyed_blake2s(out16, {}, {}).code(), errc::invalid_argument);
}

CAF_TEST(hmac_blake2s_known_answers) {
  struct {
    const char* name;
    std::vector<uint8_t> key;
    std::string data;
    const char* want;
  } cases[] = {
    {"short key", {'k', 'e', 'y'}, "The quick brown fox jumps over the lazy dog",
     "f93215bb90d4af4c3061cd932fb169fb8bb8a91d0b4022baea1271e1323cd9a0"},
    {"empty key", {}, "abc",
     "4a79a31b10a8c34b7c89735b8088e6b810b4bad4f36d671b65ca2ea0914952bf"},
    {"key longer than a block", std::vector<uint8_t>(100, 0), "abc",
     "03cf3d649c2b4d751e1937c489fb0653eaa260f42019c03a44e8a7917749d086"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    blake2s_digest out;
    auto r = hmac_blake2s(c.key, {bytes_of(c.data)}, out);
    CAF_REQUIRE(r.ok());
    CAF_CHECK_EQUAL(to_hex(out), c.want);
  }
}

CAF_TEST(noise_hkdf_known_answers) {
  auto ck = range_bytes(32);
  std::span<const uint8_t, 32> ck_span{ck.data(), 32};
  blake2s_digest o1;
  blake2s_digest o2;
  blake2s_digest o3;
  auto r = noise_hkdf(ck_span, bytes_of("input key material"), o1, o2, o3);
  CAF_REQUIRE(r.ok());
  CAF_CHECK_EQUAL(to_hex(o1), "93e2a65883e34ac95485f5d0aa4b09163a4e944dab8cf9406d3a138e362851c6");
  CAF_CHECK_EQUAL(to_hex(o2), "dd6fae42afdb2a41170f44dc5b885ec4cfd17c8dd324d38b390c548630dd0a83");
  CAF_CHECK_EQUAL(to_hex(o3), "4125e0adfa9b7e736615e99dde6f3f0b64b949d8b480e82cab2e685dc286e45d");
  // Two outputs, empty input (as in split()), first output aliasing ck.
  blake2s_digest ck_inout;
  std::copy(ck.begin(), ck.end(), ck_inout.begin());
  auto r2 = noise_hkdf(ck_inout, {}, ck_inout, o2);
  CAF_REQUIRE(r2.ok());
  CAF_CHECK_EQUAL(to_hex(ck_inout), "7a38c34bf2b8738d7374ca77c44ecb309a11d2b2528304fa86052c365e722624");
  CAF_CHECK_EQUAL(to_hex(o2), "1a17621f346abdc520746a9fb64d8eb03231d674fc15687537b0780fd9c060fd");
}

CAF_TEST(chacha_noise_nonce_known_answer) {
  auto key_bytes = range_bytes(32);
  std::span<const uint8_t, 32> key{key_bytes.data(), 32};
  std::string_view text = "Noise nonces are 4 zero bytes and a little-endian counter.";
  auto pt = bytes_of(text);
  auto ad = bytes_of("tailfleet");
  std::vector<uint8_t> ct(pt.size() + aead_tag_len);
  CAF_REQUIRE(chacha_seal(ct, key, 0x0102030405060708, ad, pt).ok());
  CAF_CHECK_EQUAL(to_hex(ct),
                  "be26c497ce1984770ac84fbf531913ddc032d2beed362abe354cd3389a22c6b3"
                  "3d5c619dbe5b7d8d7c514b95ac048907929f95e75af2f879f0c9efa6af71a796"
                  "de8585e2014ecbdbc493");
  std::vector<uint8_t> back(pt.size());
  CAF_REQUIRE(chacha_open(back, key, 0x0102030405060708, ad, ct).ok());
  CAF_CHECK(std::equal(back.begin(), back.end(), pt.begin(), pt.end()));
  std::vector<uint8_t> empty_ct(aead_tag_len);
  CAF_REQUIRE(chacha_seal(empty_ct, key, 0, {}, {}).ok());
  CAF_CHECK_EQUAL(to_hex(empty_ct), "10324f800a160bd9a1794255be7ec29d");
  struct {
    const char* name;
    uint64_t counter;
    size_t flip; // byte index to flip, or SIZE_MAX
    const char* ad;
  } bad[] = {
    {"wrong counter", 0x0102030405060709, SIZE_MAX, "tailfleet"},
    {"flipped ciphertext byte", 0x0102030405060708, 3, "tailfleet"},
    {"flipped tag byte", 0x0102030405060708, 60, "tailfleet"},
    {"wrong associated data", 0x0102030405060708, SIZE_MAX, "tailfleeT"},
  };
  for (auto& c : bad) {
    CAF_MESSAGE("case " << c.name);
    auto tampered = ct;
    if (c.flip != SIZE_MAX) {
      tampered[c.flip] ^= 0x01;
    }
    auto r = chacha_open(back, key, c.counter, bytes_of(c.ad), tampered);
    CAF_CHECK_EQUAL(r.code(), errc::decrypt_failed);
  }
  std::vector<uint8_t> wrong_len(pt.size() + 1);
  CAF_CHECK_EQUAL(chacha_seal(wrong_len, key, 0, {}, pt).code(), errc::invalid_argument);
  CAF_CHECK_EQUAL(chacha_open(wrong_len, key, 0, {}, std::span{ct}.first(5)).code(),
                  errc::invalid_argument);
}

CAF_TEST(chacha_in_place) {
  auto key_bytes = range_bytes(32);
  std::span<const uint8_t, 32> key{key_bytes.data(), 32};
  std::vector<uint8_t> buf(100 + aead_tag_len, 0x5a);
  auto plain = std::span{buf}.first(100);
  std::vector<uint8_t> want(buf.size());
  CAF_REQUIRE(chacha_seal(want, key, 7, {}, plain).ok());
  CAF_REQUIRE(chacha_seal(buf, key, 7, {}, plain).ok());
  CAF_CHECK(buf == want);
  CAF_REQUIRE(chacha_open(std::span{buf}.first(100), key, 7, {}, buf).ok());
  CAF_CHECK(std::all_of(buf.begin(), buf.begin() + 100, [](uint8_t b) { return b == 0x5a; }));
}

CAF_TEST(chacha_long_messages_known_answers) {
  // BLAKE2s-256 of ciphertext||tag and the tag, from pyca cryptography;
  // lengths around libsodium's 256-byte chunks, a WireGuard packet and a
  // full control record.
  struct {
    size_t len;
    const char* ct_hash;
    const char* tag;
  } cases[] = {
    {511, "b9122af652a87a510f945ea078257b30a52fdf484298b3bd3b561a4993c3089a",
     "822193a368c27474be6036dfdeb66181"},
    {512, "419db390d98727805f3dc18c4880ff738ef00fc1cab0bd3b1da7c5170f828956",
     "d7046615cd8c4c55247d1c6eda1935a1"},
    {513, "c622ce824d140e96c5bd9351163b0a087f0a56451d7010c48cc6042a7191957e",
     "3334e4c9f97dcc997614e88fcf585fe7"},
    {1420, "3fbd66d286f03726cf5d71b5ba5bb44091d600039c4a6323951ed91e6b19dc26",
     "96a83b3ba0c4d2f78c3795abdaf7f32d"},
    {65519, "14d85ab5d31413e0096bbe3da1e1f266afe2bb629e50711a48939f6b1bc249f0",
     "39dfb3763d8292f5ce4de0efaf3d2f10"},
  };
  auto key_bytes = range_bytes(32);
  std::span<const uint8_t, 32> key{key_bytes.data(), 32};
  auto ad = bytes_of("tailfleet");
  for (auto& c : cases) {
    CAF_MESSAGE("length " << c.len);
    auto pt = range_bytes(c.len);
    std::vector<uint8_t> ct(c.len + aead_tag_len);
    CAF_REQUIRE(chacha_seal(ct, key, 42, ad, pt).ok());
    CAF_CHECK_EQUAL(to_hex(blake2s(ct)), c.ct_hash);
    CAF_CHECK_EQUAL(to_hex(std::span{ct}.last(aead_tag_len)), c.tag);
    // Open a copy in place; then a forged tag fails and zeroes the output.
    auto buf = ct;
    CAF_REQUIRE(chacha_open(std::span{buf}.first(c.len), key, 42, ad, buf).ok());
    CAF_CHECK(std::equal(pt.begin(), pt.end(), buf.begin()));
    auto forged = ct;
    forged.back() ^= 0x80;
    std::vector<uint8_t> out(c.len, 0xee);
    CAF_CHECK_EQUAL(chacha_open(out, key, 42, ad, forged).code(), errc::decrypt_failed);
    CAF_CHECK(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; }));
    CAF_CHECK_EQUAL(chacha_open(out, key, 43, ad, ct).code(), errc::decrypt_failed);
    CAF_CHECK_EQUAL(chacha_open(out, key, 42, {}, ct).code(), errc::decrypt_failed);
  }
}

CAF_TEST(xchacha_known_answer) {
  auto key = unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  auto nonce = unhex("404142434445464748494a4b4c4d4e4f5051525354555657");
  auto ad = unhex("50515253c0c1c2c3c4c5c6c7");
  std::string_view text = "Ladies and Gentlemen of the class of '99: If I could offer you "
                          "only one tip for the future, sunscreen would be it.";
  auto pt = bytes_of(text);
  std::span<const uint8_t, 32> k{key.data(), 32};
  std::span<const uint8_t, 24> n{nonce.data(), 24};
  std::vector<uint8_t> ct(pt.size() + aead_tag_len);
  CAF_REQUIRE(xchacha_seal(ct, k, n, ad, pt).ok());
  CAF_CHECK_EQUAL(to_hex(ct),
                  "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
                  "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
                  "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
                  "21f9664c97637da9768812f615c68b13b52e"
                  "c0875924c1c7987947deafd8780acf49");
  std::vector<uint8_t> back(pt.size());
  CAF_REQUIRE(xchacha_open(back, k, n, ad, ct).ok());
  CAF_CHECK(std::equal(back.begin(), back.end(), pt.begin(), pt.end()));
  ct[10] ^= 0x80;
  CAF_CHECK_EQUAL(xchacha_open(back, k, n, ad, ct).code(), errc::decrypt_failed);
}
