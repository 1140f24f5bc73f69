// SPDX-License-Identifier: Apache-2.0
// WireGuard transport data: padding, counters, forged packets, the replay
// window's edges (duplicate, 2048 and 2049 behind, far ahead, the reject
// limit) and recovering the inner IP packet length.
#define CAF_SUITE wg_transport
#include <caf/test/unit_test_impl.hpp>

#include <chrono>
#include <memory>
#include <vector>

#include "runtime/counters.hpp"
#include "runtime/wg/handshake.hpp"
#include "runtime/wg/transport.hpp"

using namespace tf;
using namespace tf::wg;
using namespace std::chrono_literals;

namespace {

const time_point t0 = time_point{} + 1h;

/// linked_keypairs runs one in-memory handshake: {initiator's, responder's}.
std::pair<std::unique_ptr<keypair>, std::unique_ptr<keypair>> linked_keypairs() {
  auto ki = node_private_key::generate();
  auto kr = node_private_key::generate();
  auto init = initiator_handshake::begin(ki, kr.public_key(), {}, 1,
                                         make_tai64n(std::chrono::system_clock::now()));
  auto resp = responder_handshake::read(kr, init->message());
  auto answer = resp->respond({}, 2, t0);
  auto a = init->complete(answer->msg, t0);
  return {std::move(*a), std::move(answer->keys)};
}

std::vector<uint8_t> ipv4_packet(size_t len) {
  std::vector<uint8_t> p(len, 0xab);
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>(len >> 8);
  p[3] = static_cast<uint8_t>(len);
  return p;
}

} // namespace

CAF_TEST(seal_pads_to_16_and_counts_up) {
  auto [a, b] = linked_keypairs();
  struct {
    const char* name;
    size_t len;
    size_t want_wire;
  } cases[] = {
    {"keepalive", 0, 32}, {"1 byte", 1, 48},    {"16 bytes", 16, 48},
    {"17 bytes", 17, 64}, {"1420 bytes", 1420, 16 + 1424 + 16},
  };
  uint64_t want_counter = 0;
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    std::vector<uint8_t> pkt(c.len, 0x5a);
    auto m = seal_transport(*a, pkt);
    CAF_REQUIRE(m.ok());
    CAF_CHECK_EQUAL(m->size(), c.want_wire);
    auto v = parse_transport(*m);
    CAF_REQUIRE(v.ok());
    auto counter = v->counter;
    auto receiver = v->receiver;
    CAF_CHECK_EQUAL(counter, want_counter++);
    CAF_CHECK_EQUAL(receiver, b->local_index);
    auto plain = open_transport(*b, *v);
    CAF_REQUIRE(plain.ok());
    CAF_CHECK_EQUAL(plain->size(), padded_len(c.len));
    pkt.resize(padded_len(c.len), 0); // zero padding
    CAF_CHECK(*plain == pkt);
  }
  CAF_MESSAGE("an oversize packet and a used-up keypair are refused");
  CAF_CHECK_EQUAL(seal_transport(*a, std::vector<uint8_t>(max_packet_len + 1)).code(),
                  errc::invalid_argument);
  a->send_counter = reject_after_messages;
  CAF_CHECK_EQUAL(seal_transport(*a, ipv4_packet(20)).code(), errc::nonce_exhausted);
}

CAF_TEST(forged_packets_are_rejected_and_do_not_move_the_window) {
  auto [a, b] = linked_keypairs();
  auto m = seal_transport(*a, ipv4_packet(60));
  CAF_REQUIRE(m.ok());
  struct {
    const char* name;
    size_t index;
  } flips[] = {
    {"ciphertext", 20}, {"tag", 60 + 16 + 10}, {"counter", 8}, {"counter high byte", 15},
  };
  for (auto& f : flips) {
    CAF_MESSAGE("case bit flip in " << f.name);
    auto bad = *m;
    bad[f.index] ^= 0x04;
    auto before = counter_value("wg_rejected_decrypt");
    auto r = open_transport(*b, *parse_transport(bad));
    CAF_CHECK_EQUAL(r.code(), errc::decrypt_failed);
    CAF_CHECK_EQUAL(counter_value("wg_rejected_decrypt"), before + 1);
  }
  // The forged counters (some far ahead) left the window untouched.
  CAF_CHECK_EQUAL(b->replay.highest(), 0u);
  CAF_CHECK(open_transport(*b, *parse_transport(*m)).ok());
  auto before = counter_value("wg_rejected_replay");
  CAF_CHECK(!open_transport(*b, *parse_transport(*m)).ok());
  CAF_CHECK_EQUAL(counter_value("wg_rejected_replay"), before + 1);
}

CAF_TEST(replay_window_edges) {
  replay_window w;
  struct {
    const char* name;
    uint64_t counter;
    bool want;
  } steps[] = {
    {"first 0", 0, true},
    {"duplicate 0", 0, false},
    {"in order 1", 1, true},
    {"jump to 5000", 5000, true},
    {"reordered 4999", 4999, true},
    {"exactly 2048 behind (2952)", 5000 - 2048, true},
    {"2048 behind again", 5000 - 2048, false},
    {"2049 behind (2951)", 5000 - 2049, false},
    {"far behind 1", 1, false},
    {"duplicate 5000", 5000, false},
    {"far ahead 1000000", 1000000, true},
    {"old head 5000 now too old", 5000, false},
    {"just inside the new window", 1000000 - 2048, true},
    {"fresh block after a big jump", 1000000 - 64, true},
    {"reject limit", reject_after_messages, false},
    {"just below the reject limit", reject_after_messages - 1, true},
    {"window moved: 1000001 too old", 1000001, false},
  };
  for (auto& s : steps) {
    CAF_MESSAGE("case " << s.name);
    CAF_CHECK_EQUAL(w.would_accept(s.counter), s.want);
    CAF_CHECK_EQUAL(w.accept(s.counter), s.want);
  }
}

CAF_TEST(replay_window_accepts_every_counter_once_under_reordering) {
  replay_window w;
  // Deliver 0..9999 in blocks of 100, each block reversed: every counter once.
  size_t accepted = 0;
  for (uint64_t base = 0; base < 10000; base += 100) {
    for (uint64_t i = 100; i-- > 0;) {
      accepted += w.accept(base + i) ? 1 : 0;
    }
  }
  CAF_CHECK_EQUAL(accepted, 10000u);
  size_t again = 0;
  for (uint64_t c = 10000 - 2048; c < 10000; ++c) {
    again += w.accept(c) ? 1 : 0;
  }
  CAF_CHECK_EQUAL(again, 0u);
}

CAF_TEST(inner_packet_len_reads_ip_headers) {
  auto v4 = ipv4_packet(28);
  v4.resize(32, 0); // padding
  std::vector<uint8_t> v6(48, 0);
  v6[0] = 0x60;
  v6[5] = 8; // payload 8 -> 48
  std::vector<uint8_t> v6_long = v6;
  v6_long[5] = 9;
  std::vector<uint8_t> v4_short_len = v4;
  v4_short_len[3] = 19;
  std::vector<uint8_t> v4_long = v4;
  v4_long[3] = 33;
  struct {
    const char* name;
    std::vector<uint8_t> input;
    std::optional<size_t> want;
  } cases[] = {
    {"ipv4 with padding", v4, 28},
    {"ipv6", v6, 48},
    {"ipv6 claims too much", v6_long, std::nullopt},
    {"ipv4 length below header", v4_short_len, std::nullopt},
    {"ipv4 claims too much", v4_long, std::nullopt},
    {"version 5", std::vector<uint8_t>(40, 0x50), std::nullopt},
    {"short ipv4", std::vector<uint8_t>(10, 0x45), std::nullopt},
    {"empty", {}, std::nullopt},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto got = inner_packet_len(c.input);
    CAF_CHECK(got == c.want);
  }
}
