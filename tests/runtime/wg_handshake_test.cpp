// SPDX-License-Identifier: Apache-2.0
// The WireGuard handshake in memory: initiator and responder agree on keys
// and indices, wrong keys and forged responses fail (and are counted), MAC1/
// MAC2 and cookie replies round-trip, TAI64N timestamps order correctly.
#define CAF_SUITE wg_handshake
#include <caf/test/unit_test_impl.hpp>

#include <algorithm>
#include <chrono>
#include <vector>

#include "runtime/counters.hpp"
#include "runtime/wg/cookie.hpp"
#include "runtime/wg/handshake.hpp"

using namespace tf;
using namespace tf::wg;
using namespace std::chrono_literals;

namespace {

const time_point t0 = time_point{} + 1h;

tai64n stamp(int seconds) {
  return make_tai64n(std::chrono::system_clock::time_point{} + 1700000000s
                     + std::chrono::seconds{seconds});
}

std::vector<uint8_t> ip_packet(uint8_t fill) {
  std::vector<uint8_t> p(40, fill);
  p[0] = 0x45;
  p[2] = 0;
  p[3] = 40;
  return p;
}

} // namespace

CAF_TEST(initiator_and_responder_derive_matching_keypairs) {
  auto ki = node_private_key::generate();
  auto kr = node_private_key::generate();
  preshared_key psk{};
  auto init = initiator_handshake::begin(ki, kr.public_key(), psk, 0x1111, stamp(0));
  CAF_REQUIRE(init.ok());
  auto& msg1 = init->message();
  CAF_CHECK_EQUAL(msg1.sender, 0x1111u);
  auto wire1 = serialize(msg1);
  CAF_CHECK_EQUAL(wire1.size(), initiation_len);

  auto resp = responder_handshake::read(kr, *parse_initiation(wire1));
  CAF_REQUIRE(resp.ok());
  CAF_CHECK(resp->remote_static() == ki.public_key());
  CAF_CHECK(resp->timestamp() == stamp(0));
  CAF_CHECK_EQUAL(resp->remote_index(), 0x1111u);
  auto answer = resp->respond(psk, 0x2222, t0);
  CAF_REQUIRE(answer.ok());
  CAF_CHECK_EQUAL(answer->msg.sender, 0x2222u);
  CAF_CHECK_EQUAL(answer->msg.receiver, 0x1111u);
  CAF_CHECK(!resp->respond(psk, 0x3333, t0).ok()); // single use

  auto kpi = init->complete(*parse_response(serialize(answer->msg)), t0);
  CAF_REQUIRE(kpi.ok());
  auto& a = **kpi;
  auto& b = *answer->keys;
  CAF_CHECK(a.initiator);
  CAF_CHECK(!b.initiator);
  CAF_CHECK_EQUAL(a.local_index, 0x1111u);
  CAF_CHECK_EQUAL(a.remote_index, 0x2222u);
  CAF_CHECK_EQUAL(b.local_index, 0x2222u);
  CAF_CHECK_EQUAL(b.remote_index, 0x1111u);
  // Both directions decrypt.
  auto pkt = ip_packet(7);
  auto m = seal_transport(a, pkt);
  CAF_REQUIRE(m.ok());
  auto opened = open_transport(b, *parse_transport(*m));
  CAF_REQUIRE(opened.ok());
  CAF_REQUIRE_EQUAL(opened->size(), 48u); // zero-padded to a multiple of 16
  CAF_CHECK(std::equal(pkt.begin(), pkt.end(), opened->begin()));
  CAF_CHECK(inner_packet_len(*opened) == std::optional<size_t>{40});
  auto back = seal_transport(b, pkt);
  CAF_REQUIRE(back.ok());
  auto opened_back = open_transport(a, *parse_transport(*back));
  CAF_CHECK(opened_back.ok());
}

CAF_TEST(wrong_keys_and_forged_responses_fail) {
  auto ki = node_private_key::generate();
  auto kr = node_private_key::generate();
  auto other = node_private_key::generate();
  preshared_key psk{};
  auto init = initiator_handshake::begin(ki, kr.public_key(), psk, 1, stamp(0));
  CAF_REQUIRE(init.ok());
  auto msg1 = init->message();

  CAF_MESSAGE("an initiation for another responder key does not decrypt");
  auto before = counter_value("wg_rejected_initiation_auth");
  CAF_CHECK_EQUAL(responder_handshake::read(other, msg1).code(), errc::handshake_failed);
  CAF_CHECK_EQUAL(counter_value("wg_rejected_initiation_auth"), before + 1);

  CAF_MESSAGE("a flipped bit in the encrypted static fails");
  auto bad = msg1;
  bad.encrypted_static[5] ^= 1;
  CAF_CHECK(!responder_handshake::read(kr, bad).ok());

  CAF_MESSAGE("different pre-shared keys: the initiator refuses the response");
  auto resp = responder_handshake::read(kr, msg1);
  CAF_REQUIRE(resp.ok());
  preshared_key other_psk{};
  other_psk[0] = 1;
  auto answer = resp->respond(other_psk, 2, t0);
  CAF_REQUIRE(answer.ok());
  auto before_resp = counter_value("wg_rejected_response_auth");
  CAF_CHECK_EQUAL(init->complete(answer->msg, t0).code(), errc::handshake_failed);
  CAF_CHECK_EQUAL(counter_value("wg_rejected_response_auth"), before_resp + 1);

  CAF_MESSAGE("a forged response leaves the pending handshake usable");
  auto resp2 = responder_handshake::read(kr, msg1);
  CAF_REQUIRE(resp2.ok());
  auto good = resp2->respond(psk, 3, t0);
  CAF_REQUIRE(good.ok());
  auto forged = good->msg;
  forged.encrypted_nothing[0] ^= 0x80;
  CAF_CHECK(!init->complete(forged, t0).ok());
  CAF_CHECK(init->complete(good->msg, t0).ok());
}

CAF_TEST(mac1_binds_the_receiver_key) {
  auto kr = node_private_key::generate();
  auto other = node_private_key::generate();
  cookie_generator gen{kr.public_key().bytes()};
  cookie_checker checker{kr.public_key().bytes()};
  cookie_checker wrong{other.public_key().bytes()};
  auto init = initiator_handshake::begin(node_private_key::generate(), kr.public_key(), {}, 9,
                                         stamp(0));
  CAF_REQUIRE(init.ok());
  auto wire = serialize(init->message());
  gen.add_macs(wire, t0);
  CAF_CHECK(checker.check_mac1(wire));
  CAF_CHECK(!wrong.check_mac1(wire));
  // mac2 stays zero without a cookie.
  CAF_CHECK(std::all_of(wire.end() - 16, wire.end(), [](uint8_t b) { return b == 0; }));
  struct {
    const char* name;
    size_t index;
  } flips[] = {{"sender index", 4}, {"ephemeral", 20}, {"mac1", 120}};
  for (auto& f : flips) {
    CAF_MESSAGE("case " << f.name);
    auto copy = wire;
    copy[f.index] ^= 1;
    CAF_CHECK(!checker.check_mac1(copy));
  }
  // mac2 is not covered by mac1.
  auto copy = wire;
  copy[140] ^= 1;
  CAF_CHECK(checker.check_mac1(copy));
}

CAF_TEST(cookie_reply_round_trip_sets_mac2) {
  auto kr = node_private_key::generate();
  cookie_generator gen{kr.public_key().bytes()};
  cookie_checker checker{kr.public_key().bytes()};
  std::vector<uint8_t> src{198, 51, 100, 1, 0x9c, 0x40};
  std::vector<uint8_t> other_src{198, 51, 100, 5, 0x9c, 0x40};

  CAF_MESSAGE("a reply before any message of ours is refused");
  auto before = counter_value("wg_rejected_cookie_reply");
  CAF_CHECK(!gen.consume_reply(cookie_reply_msg{}, t0).ok());
  CAF_CHECK_EQUAL(counter_value("wg_rejected_cookie_reply"), before + 1);

  auto init = initiator_handshake::begin(node_private_key::generate(), kr.public_key(), {}, 77,
                                         stamp(0));
  CAF_REQUIRE(init.ok());
  auto wire = serialize(init->message());
  gen.add_macs(wire, t0);
  CAF_CHECK(!checker.check_mac2(wire, src, t0)); // no secret yet
  auto reply = checker.make_reply(wire, src, t0);
  CAF_REQUIRE(reply.ok());
  CAF_CHECK_EQUAL(reply->receiver, 77u);
  CAF_CHECK_EQUAL(serialize(*reply).size(), cookie_reply_len);

  CAF_MESSAGE("a reply bound to a different mac1 is refused");
  auto tampered = *reply;
  tampered.encrypted_cookie[3] ^= 1;
  CAF_CHECK(!gen.consume_reply(tampered, t0).ok());
  CAF_CHECK(gen.consume_reply(*reply, t0 + 1s).ok());
  CAF_CHECK(gen.has_cookie(t0 + 1s));
  CAF_CHECK(!gen.consume_reply(*reply, t0 + 1s).ok()); // the mac1 was used up

  CAF_MESSAGE("the next message carries a mac2 the checker accepts");
  auto wire2 = serialize(init->message());
  gen.add_macs(wire2, t0 + 2s);
  CAF_CHECK(checker.check_mac1(wire2));
  CAF_CHECK(checker.check_mac2(wire2, src, t0 + 2s));
  CAF_CHECK(!checker.check_mac2(wire2, other_src, t0 + 2s));
  CAF_CHECK(!checker.check_mac2(wire2, src, t0 + 121s)); // secret rotated out

  CAF_MESSAGE("the cookie expires after cookie_refresh_time");
  CAF_CHECK(!gen.has_cookie(t0 + 1s + cookie_refresh_time));
  auto wire3 = serialize(init->message());
  gen.add_macs(wire3, t0 + 1s + cookie_refresh_time);
  CAF_CHECK(std::all_of(wire3.end() - 16, wire3.end(), [](uint8_t b) { return b == 0; }));
}

CAF_TEST(tai64n_orders_and_whitens) {
  auto a = stamp(0);
  auto b = stamp(1);
  CAF_CHECK(is_after(b, a));
  CAF_CHECK(!is_after(a, b));
  CAF_CHECK(!is_after(a, a));
  CAF_CHECK(is_after(successor(a), a));
  // 2^62 + 10 + seconds, big-endian.
  CAF_CHECK_EQUAL(a[0], 0x40);
  CAF_CHECK_EQUAL(a[7], static_cast<uint8_t>(0x0a + 1700000000));
  // Whitening: 5 ms later gives the same stamp; 40 ms later a later one.
  auto w = std::chrono::system_clock::time_point{} + 1700000000s;
  CAF_CHECK(make_tai64n(w + 5ms) == make_tai64n(w));
  CAF_CHECK(is_after(make_tai64n(w + 40ms), make_tai64n(w)));
  // successor carries into the seconds.
  tai64n edge = a;
  edge[8] = 0x3b;
  edge[9] = 0x9a;
  edge[10] = 0xc9;
  edge[11] = 0xff; // 999999999 ns
  auto next = successor(edge);
  CAF_CHECK(is_after(next, edge));
  CAF_CHECK_EQUAL(next[11], 0);
  CAF_CHECK_EQUAL(next[7], static_cast<uint8_t>(a[7] + 1));
}
