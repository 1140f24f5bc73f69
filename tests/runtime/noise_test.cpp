// SPDX-License-Identifier: Apache-2.0
// Noise IK and IKpsk2: published known-answer vectors (cacophony, snow) in
// both roles, then random-key handshakes, rejection of wrong keys, tampered,
// truncated, replayed and reordered messages, and nonce exhaustion.
#define CAF_SUITE runtime_noise
#include <caf/test/unit_test_impl.hpp>

#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/hex.hpp"
#include "runtime/keys.hpp"
#include "runtime/noise.hpp"
#include "tests/runtime/noise_vectors.hpp"
#include "tests/support/bytes_of.hpp"

using namespace tf;
using namespace tf::noise;
using tf::test::bytes_of;

namespace {

std::vector<uint8_t> unhex(std::string_view text) {
  auto out = from_hex(text);
  CAF_REQUIRE(out.has_value());
  return *out;
}

std::vector<uint8_t> random_key() {
  std::vector<uint8_t> out(32);
  random_bytes(out.data(), out.size());
  return out;
}

std::vector<uint8_t> public_of(const std::vector<uint8_t>& secret) {
  key_bytes k;
  std::copy(secret.begin(), secret.end(), k.begin());
  auto pub = x25519_base(k);
  return {pub.begin(), pub.end()};
}

/// pair_fixture holds an initiator and a responder with random keys.
struct pair_fixture {
  std::vector<uint8_t> init_s = random_key();
  std::vector<uint8_t> resp_s = random_key();
  std::vector<uint8_t> psk = random_key();
  std::string prologue = "tailfleet test";

  handshake_options initiator_options(handshake_pattern p) const {
    handshake_options o;
    o.pattern = p;
    o.role = handshake_role::initiator;
    o.prologue = bytes_of(prologue);
    o.local_static = init_s;
    o.remote_static = resp_pub;
    if (p == handshake_pattern::ikpsk2) {
      o.psk = psk;
    }
    return o;
  }

  handshake_options responder_options(handshake_pattern p) const {
    auto o = initiator_options(p);
    o.role = handshake_role::responder;
    o.local_static = resp_s;
    o.remote_static = {};
    return o;
  }

  std::vector<uint8_t> resp_pub = public_of(resp_s);
};

/// run_handshake drives a full handshake; returns false when any step fails.
bool run_handshake(handshake_state& i, handshake_state& r) {
  auto m1 = i.write_message(bytes_of("hello"));
  if (!m1) {
    return false;
  }
  auto p1 = r.read_message(*m1);
  if (!p1) {
    return false;
  }
  auto m2 = r.write_message(bytes_of("welcome"));
  if (!m2) {
    return false;
  }
  auto p2 = i.read_message(*m2);
  return p2.ok();
}

} // namespace

// -- known answers -------------------------------------------------------------

CAF_TEST(published_vectors_both_roles) {
  for (auto& v : noise::test::handshake_vectors) {
    CAF_MESSAGE("case " << v.name);
    auto prologue = unhex(v.prologue);
    auto psk = unhex(v.psk);
    auto init_s = unhex(v.init_static);
    auto init_e = unhex(v.init_ephemeral);
    auto remote = unhex(v.init_remote_static);
    auto resp_s = unhex(v.resp_static);
    auto resp_e = unhex(v.resp_ephemeral);
    CAF_CHECK(public_of(resp_s) == remote);
    handshake_options io{v.pattern, handshake_role::initiator, prologue, init_s,
                         remote, psk, init_e};
    handshake_options ro{v.pattern, handshake_role::responder, prologue, resp_s,
                         {}, psk, resp_e};
    auto i = handshake_state::make(io);
    auto r = handshake_state::make(ro);
    CAF_REQUIRE(i.ok() && r.ok());
    // Message 1: the initiator's bytes and the responder's reading.
    auto m1 = i->write_message(unhex(v.messages[0].payload));
    CAF_REQUIRE(m1.ok());
    CAF_CHECK_EQUAL(to_hex(*m1), v.messages[0].ciphertext);
    auto p1 = r->read_message(unhex(v.messages[0].ciphertext));
    CAF_REQUIRE(p1.ok());
    CAF_CHECK_EQUAL(to_hex(*p1), v.messages[0].payload);
    // Message 2: the responder's bytes and the initiator's reading.
    auto m2 = r->write_message(unhex(v.messages[1].payload));
    CAF_REQUIRE(m2.ok());
    CAF_CHECK_EQUAL(to_hex(*m2), v.messages[1].ciphertext);
    auto p2 = i->read_message(unhex(v.messages[1].ciphertext));
    CAF_REQUIRE(p2.ok());
    CAF_CHECK_EQUAL(to_hex(*p2), v.messages[1].payload);
    CAF_REQUIRE(i->is_complete() && r->is_complete());
    CAF_CHECK(i->handshake_hash() == r->handshake_hash());
    if (*v.handshake_hash != '\0') {
      CAF_CHECK_EQUAL(to_hex(i->handshake_hash()), v.handshake_hash);
    }
    auto init_pub = public_of(init_s);
    CAF_CHECK(std::equal(init_pub.begin(), init_pub.end(), r->remote_static().begin()));
    CAF_CHECK(std::equal(remote.begin(), remote.end(), i->remote_static().begin()));
    auto ik = i->split();
    auto rk = r->split();
    CAF_REQUIRE(ik.ok() && rk.ok());
    CAF_CHECK_GREATER_OR_EQUAL(v.num_messages, 4u);
    for (size_t n = 2; n < v.num_messages; ++n) {
      CAF_MESSAGE("transport message " << n);
      bool from_initiator = n % 2 == 0;
      auto& sender = from_initiator ? ik->send : rk->send;
      auto& receiver = from_initiator ? rk->receive : ik->receive;
      std::vector<uint8_t> ct;
      CAF_REQUIRE(sender.encrypt_with_ad({}, unhex(v.messages[n].payload), ct).ok());
      CAF_CHECK_EQUAL(to_hex(ct), v.messages[n].ciphertext);
      std::vector<uint8_t> pt;
      CAF_REQUIRE(receiver.decrypt_with_ad({}, unhex(v.messages[n].ciphertext), pt).ok());
      CAF_CHECK_EQUAL(to_hex(pt), v.messages[n].payload);
    }
  }
}

CAF_TEST(short_protocol_names_are_padded) {
  symmetric_state st;
  st.initialize("Noise_NN_25519_AESGCM_SHA256");
  blake2s_digest want{};
  std::string_view name = "Noise_NN_25519_AESGCM_SHA256";
  std::copy(name.begin(), name.end(), want.begin());
  CAF_CHECK(st.handshake_hash() == want);
  st.initialize(protocol_name(handshake_pattern::ik));
  CAF_CHECK(st.handshake_hash() == blake2s(bytes_of("Noise_IK_25519_ChaChaPoly_BLAKE2s")));
}

// -- roles against each other --------------------------------------------------

CAF_TEST(random_keys_both_patterns) {
  for (auto p : {handshake_pattern::ik, handshake_pattern::ikpsk2}) {
    CAF_MESSAGE("case " << protocol_name(p));
    pair_fixture f;
    auto i = handshake_state::make(f.initiator_options(p));
    auto r = handshake_state::make(f.responder_options(p));
    CAF_REQUIRE(i.ok() && r.ok());
    CAF_CHECK(i->is_my_turn() && !r->is_my_turn());
    auto m1 = i->write_message(bytes_of("client hello"));
    CAF_REQUIRE(m1.ok());
    CAF_CHECK_EQUAL(m1->size(), 32u + 48u + 12u + 16u);
    auto p1 = r->read_message(*m1);
    CAF_REQUIRE(p1.ok());
    CAF_CHECK_EQUAL(std::string(p1->begin(), p1->end()), "client hello");
    auto init_pub = public_of(f.init_s);
    CAF_CHECK(std::equal(init_pub.begin(), init_pub.end(), r->remote_static().begin()));
    auto m2 = r->write_message({});
    CAF_REQUIRE(m2.ok());
    CAF_CHECK_EQUAL(m2->size(), 32u + 16u);
    auto p2 = i->read_message(*m2);
    CAF_REQUIRE(p2.ok());
    CAF_CHECK(p2->empty());
    CAF_CHECK(i->handshake_hash() == r->handshake_hash());
    auto ik = i->split();
    auto rk = r->split();
    CAF_REQUIRE(ik.ok() && rk.ok());
    for (int n = 0; n < 5; ++n) {
      std::string text = "message " + std::to_string(n);
      std::vector<uint8_t> a;
      CAF_REQUIRE(ik->send.encrypt_with_ad({}, bytes_of(text), a).ok());
      std::vector<uint8_t> b;
      CAF_REQUIRE(rk->receive.decrypt_with_ad({}, a, b).ok());
      CAF_CHECK_EQUAL(std::string(b.begin(), b.end()), text);
      std::vector<uint8_t> c;
      CAF_REQUIRE(rk->send.encrypt_with_ad({}, bytes_of(text), c).ok());
      CAF_CHECK(a != c); // each direction has its own key
      std::vector<uint8_t> d;
      CAF_REQUIRE(ik->receive.decrypt_with_ad({}, c, d).ok());
      CAF_CHECK_EQUAL(std::string(d.begin(), d.end()), text);
    }
    CAF_CHECK_EQUAL(i->split().code(), errc::invalid_argument); // only once
  }
}

CAF_TEST(responder_supplies_psk_after_message_one) {
  pair_fixture f;
  auto ro = f.responder_options(handshake_pattern::ikpsk2);
  ro.psk = {};
  auto i = handshake_state::make(f.initiator_options(handshake_pattern::ikpsk2));
  auto r = handshake_state::make(ro);
  CAF_REQUIRE(i.ok() && r.ok());
  auto m1 = i->write_message({});
  CAF_REQUIRE(m1.ok());
  CAF_REQUIRE(r->read_message(*m1).ok());
  CAF_REQUIRE(r->set_psk(f.psk).ok());
  auto m2 = r->write_message({});
  CAF_REQUIRE(m2.ok());
  CAF_CHECK(i->read_message(*m2).ok());
  CAF_CHECK(i->handshake_hash() == r->handshake_hash());
}

// -- rejections ----------------------------------------------------------------

CAF_TEST(bad_options_are_refused) {
  pair_fixture f;
  auto short_key = std::vector<uint8_t>(31, 1);
  struct {
    const char* name;
    handshake_options opts;
  } cases[] = {
    {"missing local static", [&] { auto o = f.initiator_options(handshake_pattern::ik); o.local_static = {}; return o; }()},
    {"initiator without remote", [&] { auto o = f.initiator_options(handshake_pattern::ik); o.remote_static = {}; return o; }()},
    {"responder with remote", [&] { auto o = f.responder_options(handshake_pattern::ik); o.remote_static = f.resp_pub; return o; }()},
    {"psk with IK", [&] { auto o = f.initiator_options(handshake_pattern::ik); o.psk = f.psk; return o; }()},
    {"short psk", [&] { auto o = f.initiator_options(handshake_pattern::ikpsk2); o.psk = short_key; return o; }()},
    {"short ephemeral", [&] { auto o = f.initiator_options(handshake_pattern::ik); o.ephemeral_for_test = short_key; return o; }()},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto hs = handshake_state::make(c.opts);
    CAF_CHECK_EQUAL(hs.code(), errc::invalid_argument);
  }
}

CAF_TEST(wrong_turn_and_low_order_keys) {
  pair_fixture f;
  auto i = handshake_state::make(f.initiator_options(handshake_pattern::ik));
  CAF_REQUIRE(i.ok());
  CAF_CHECK_EQUAL(i->read_message(std::vector<uint8_t>(96)).code(), errc::invalid_argument);
  auto r = handshake_state::make(f.responder_options(handshake_pattern::ik));
  CAF_REQUIRE(r.ok());
  CAF_CHECK_EQUAL(r->write_message({}).code(), errc::invalid_argument);
  auto o = f.initiator_options(handshake_pattern::ik);
  std::vector<uint8_t> zero(32, 0);
  o.remote_static = zero;
  auto bad = handshake_state::make(o);
  CAF_REQUIRE(bad.ok());
  CAF_CHECK_EQUAL(bad->write_message({}).code(), errc::handshake_failed);
  CAF_CHECK(bad->has_failed());
}

CAF_TEST(wrong_responder_key_fails) {
  pair_fixture f;
  auto io = f.initiator_options(handshake_pattern::ik);
  auto wrong = public_of(random_key());
  io.remote_static = wrong;
  auto i = handshake_state::make(io);
  auto r = handshake_state::make(f.responder_options(handshake_pattern::ik));
  CAF_REQUIRE(i.ok() && r.ok());
  auto m1 = i->write_message(bytes_of("hi"));
  CAF_REQUIRE(m1.ok());
  CAF_CHECK_EQUAL(r->read_message(*m1).code(), errc::handshake_failed);
  CAF_CHECK(r->has_failed());
  CAF_CHECK_EQUAL(r->write_message({}).code(), errc::handshake_failed);
}

CAF_TEST(psk_mismatch_fails) {
  pair_fixture f;
  auto ro = f.responder_options(handshake_pattern::ikpsk2);
  auto other_psk = random_key();
  ro.psk = other_psk;
  auto i = handshake_state::make(f.initiator_options(handshake_pattern::ikpsk2));
  auto r = handshake_state::make(ro);
  CAF_REQUIRE(i.ok() && r.ok());
  CAF_CHECK(!run_handshake(*i, *r));
  CAF_CHECK(i->has_failed());
  CAF_CHECK(!r->has_failed()); // the responder cannot tell before message 3
}

CAF_TEST(tampered_or_truncated_messages_fail) {
  struct {
    const char* name;
    int message;   // 1 or 2
    size_t offset; // byte to flip; SIZE_MAX = truncate by one byte
  } cases[] = {
    {"message 1 ephemeral", 1, 0},
    {"message 1 static ciphertext", 1, 40},
    {"message 1 static tag", 1, 75},
    {"message 1 payload tag", 1, 85},
    {"message 1 truncated", 1, SIZE_MAX},
    {"message 2 ephemeral", 2, 5},
    {"message 2 payload tag", 2, 40},
    {"message 2 truncated", 2, SIZE_MAX},
  };
  for (auto p : {handshake_pattern::ik, handshake_pattern::ikpsk2}) {
    for (auto& c : cases) {
      CAF_MESSAGE("case " << protocol_name(p) << ": " << c.name);
      pair_fixture f;
      auto i = handshake_state::make(f.initiator_options(p));
      auto r = handshake_state::make(f.responder_options(p));
      CAF_REQUIRE(i.ok() && r.ok());
      auto tamper = [&](std::vector<uint8_t> m) {
        if (c.offset == SIZE_MAX) {
          m.pop_back();
        } else {
          m[c.offset] ^= 0x04;
        }
        return m;
      };
      auto m1 = i->write_message(bytes_of("0123"));
      CAF_REQUIRE(m1.ok());
      if (c.message == 1) {
        CAF_CHECK_EQUAL(r->read_message(tamper(*m1)).code(), errc::handshake_failed);
        continue;
      }
      CAF_REQUIRE(r->read_message(*m1).ok());
      auto m2 = r->write_message({});
      CAF_REQUIRE(m2.ok());
      CAF_CHECK_EQUAL(i->read_message(tamper(*m2)).code(), errc::handshake_failed);
      CAF_CHECK(!i->is_complete());
      CAF_CHECK_EQUAL(i->split().code(), errc::invalid_argument);
    }
  }
}

CAF_TEST(replayed_and_reordered_transport_messages_fail) {
  pair_fixture f;
  auto i = handshake_state::make(f.initiator_options(handshake_pattern::ik));
  auto r = handshake_state::make(f.responder_options(handshake_pattern::ik));
  CAF_REQUIRE(i.ok() && r.ok());
  CAF_REQUIRE(run_handshake(*i, *r));
  auto ik = i->split();
  auto rk = r->split();
  CAF_REQUIRE(ik.ok() && rk.ok());
  std::vector<uint8_t> first;
  std::vector<uint8_t> second;
  CAF_REQUIRE(ik->send.encrypt_with_ad({}, bytes_of("one"), first).ok());
  CAF_REQUIRE(ik->send.encrypt_with_ad({}, bytes_of("two"), second).ok());
  std::vector<uint8_t> out;
  // Reordered: the second message arrives first and is refused...
  CAF_CHECK_EQUAL(rk->receive.decrypt_with_ad({}, second, out).code(), errc::decrypt_failed);
  CAF_CHECK(out.empty());
  CAF_CHECK_EQUAL(rk->receive.nonce(), 0u);
  // ... the failure did not advance n, so the in-order stream still works.
  CAF_REQUIRE(rk->receive.decrypt_with_ad({}, first, out).ok());
  // Replayed: the same message again is refused.
  CAF_CHECK_EQUAL(rk->receive.decrypt_with_ad({}, first, out).code(), errc::decrypt_failed);
  CAF_REQUIRE(rk->receive.decrypt_with_ad({}, second, out).ok());
  CAF_CHECK_EQUAL(std::string(out.begin(), out.end()), "onetwo");
  // A message from the other direction is refused too (different key).
  std::vector<uint8_t> back;
  CAF_REQUIRE(rk->send.encrypt_with_ad({}, bytes_of("x"), back).ok());
  CAF_CHECK_EQUAL(rk->receive.decrypt_with_ad({}, back, out).code(), errc::decrypt_failed);
}

CAF_TEST(nonce_exhaustion) {
  cipher_state send;
  cipher_state receive;
  auto key = random_key();
  send.initialize_key(std::span<const uint8_t, 32>{key.data(), 32});
  receive.initialize_key(std::span<const uint8_t, 32>{key.data(), 32});
  constexpr auto max = std::numeric_limits<uint64_t>::max();
  send.set_nonce(max - 1);
  receive.set_nonce(max - 1);
  std::vector<uint8_t> ct;
  CAF_REQUIRE(send.encrypt_with_ad({}, bytes_of("last"), ct).ok());
  CAF_CHECK_EQUAL(send.nonce(), max);
  std::vector<uint8_t> more;
  CAF_CHECK_EQUAL(send.encrypt_with_ad({}, bytes_of("x"), more).code(), errc::nonce_exhausted);
  CAF_CHECK(more.empty());
  std::vector<uint8_t> pt;
  CAF_REQUIRE(receive.decrypt_with_ad({}, ct, pt).ok());
  CAF_CHECK_EQUAL(receive.decrypt_with_ad({}, ct, pt).code(), errc::nonce_exhausted);
  // Without a key, encryption is the identity (Noise section 5.1).
  cipher_state empty;
  std::vector<uint8_t> copy;
  CAF_REQUIRE(empty.encrypt_with_ad({}, bytes_of("plain"), copy).ok());
  CAF_CHECK_EQUAL(std::string(copy.begin(), copy.end()), "plain");
}
