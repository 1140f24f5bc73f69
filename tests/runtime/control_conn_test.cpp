// SPDX-License-Identifier: Apache-2.0
// control_conn handing over a read's messages in batches (feed and more
// with a cap, as the node's control session does): every message arrives
// once and in order for any split of the stream into reads and any cap,
// and a bad frame fails after the messages before it; the buffer for a
// read's bytes outlives a burst of large reads, not the burst's end.
// Single-threaded.
#define CAF_SUITE control_conn
#include <caf/test/unit_test_impl.hpp>

#include <random>
#include <string>
#include <vector>

#include "runtime/control_conn.hpp"
#include "runtime/counters.hpp"
#include "tests/runtime/control_conn_pair.hpp"
#include "tests/runtime/wire_test_util.hpp"
#include "tests/support/synthetic.hpp"

using namespace tf;

namespace {

// deltas are small map responses (one frame each) with a big one (a frame
// that spans reads) in the middle.
std::vector<wire::message> stream_messages() {
  std::vector<wire::message> out;
  for (uint64_t i = 1; i <= 600; ++i) {
    wire::map_response r;
    r.seq = i;
    r.peers_changed.push_back(test::make_peer(1000 + i));
    if (i == 300)
      for (wire::node_id id = 5000; id < 5400; ++id)
        r.peers_changed.push_back(test::make_peer(id));
    out.emplace_back(std::move(r));
  }
  return out;
}

// read_all feeds `bytes` in reads of the given lengths and takes at most
// `cap` messages per call, as the session does.
result<std::vector<wire::message>> read_all(control_conn& c, std::span<const uint8_t> bytes,
                                            const std::vector<size_t>& reads, size_t cap,
                                            size_t& calls) {
  std::vector<wire::message> got;
  control_conn::received rx;
  size_t off = 0;
  for (auto len : reads) {
    len = std::min(len, bytes.size() - off);
    rx.clear();
    if (auto ok = c.feed(bytes.subspan(off, len), rx, cap); !ok)
      return ok.error();
    off += len;
    for (;;) {
      ++calls;
      if (rx.messages.size() > cap)
        return make_error(errc::internal, "a batch exceeded the cap");
      for (auto& m : rx.messages)
        got.push_back(m); // a copy: the batch's messages become spares, whole
      if (!c.has_more())
        break;
      rx.clear();
      if (auto ok = c.more(rx, cap); !ok)
        return ok.error();
    }
  }
  return got;
}

} // namespace

CAF_TEST(batches_deliver_every_message_once_in_order) {
  auto want = stream_messages();
  std::mt19937 rng{7};
  for (size_t cap : {size_t{1}, size_t{64}, size_t{256}, SIZE_MAX}) {
    for (int round = 0; round < 3; ++round) {
      test::control_conn_pair p;
      std::vector<uint8_t> bytes;
      for (auto& m : want)
        CAF_REQUIRE(p.server.send(m, bytes).ok());
      // Reads: the whole stream at once, or random lengths up to 64 KiB.
      std::vector<size_t> reads;
      if (round == 0) {
        reads.push_back(bytes.size());
      } else {
        for (size_t at = 0; at < bytes.size();) {
          auto len = std::uniform_int_distribution<size_t>{1, 65536}(rng);
          reads.push_back(len);
          at += len;
        }
      }
      size_t calls = 0;
      auto got = read_all(p.client, bytes, reads, cap, calls);
      CAF_REQUIRE(got.ok());
      CAF_CHECK(*got == want);
      CAF_CHECK(!p.client.has_more());
      if (cap == 1)
        CAF_CHECK_GREATER_OR_EQUAL(calls, want.size());
    }
  }
}

CAF_TEST(messages_decoded_into_spares_carry_nothing_over) {
  // Every kind, big and small, each decoded into the spare the one before
  // left (a cap of 1): a field the earlier message had and this one lacks
  // must not survive.
  using namespace tf::wire::test_util;
  auto full = sample_map_response();
  auto delta = sample_map_response();
  delta.self.reset();
  delta.peers.reset();
  delta.dns.reset();
  delta.domain.clear();
  delta.peers_changed = {test::make_peer(9)};
  delta.peers_changed.front().endpoints.clear();
  delta.peers_changed_patch.clear();
  delta.user_profiles.clear();
  wire::map_response keep_alive;
  keep_alive.keep_alive = true;
  std::vector<wire::message> want{full, delta, keep_alive, extremes(), full,
                                  sample_register_response(), keep_alive, delta,
                                  wire::control_error{errc::not_authorized, "no"}, delta,
                                  sample_map_request(), sample_register_request(), full};
  test::control_conn_pair p;
  std::vector<uint8_t> bytes;
  for (auto& m : want)
    CAF_REQUIRE(p.server.send(m, bytes).ok());
  size_t calls = 0;
  auto got = read_all(p.client, bytes, {bytes.size()}, 1, calls);
  CAF_REQUIRE(got.ok());
  CAF_REQUIRE_EQUAL(got->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    CAF_MESSAGE("message " << i);
    CAF_CHECK((*got)[i] == want[i]);
  }
}

CAF_TEST(a_bad_frame_fails_after_the_messages_before_it) {
  auto want = stream_messages();
  test::control_conn_pair p;
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i < 100; ++i)
    CAF_REQUIRE(p.server.send(want[i], bytes).ok());
  const uint8_t never_used[] = {0xc1};
  CAF_REQUIRE(p.server.send_encoded(never_used, bytes).ok());
  CAF_REQUIRE(p.server.send(want[100], bytes).ok());
  control_conn::received rx;
  CAF_REQUIRE(p.client.feed(bytes, rx, 64).ok());
  CAF_REQUIRE_EQUAL(rx.messages.size(), 64u);
  CAF_CHECK(std::vector<wire::message>(rx.messages.begin(), rx.messages.end())
            == std::vector<wire::message>(want.begin(), want.begin() + 64));
  CAF_REQUIRE(p.client.has_more());
  rx.clear();
  auto rejected = counter_value("wire_decode_rejected");
  auto bad = p.client.more(rx, 64); // messages 64..99, then the bad frame
  CAF_REQUIRE(!bad.ok());
  CAF_CHECK_EQUAL(bad.error().code, errc::malformed_message);
  CAF_CHECK_EQUAL(rx.messages.size(), 36u);
  CAF_CHECK_EQUAL(counter_value("wire_decode_rejected"), rejected + 1);
}

CAF_TEST(the_read_buffer_is_kept_through_large_reads_and_freed_after) {
  test::control_conn_pair p;
  wire::map_response big;
  for (wire::node_id id = 2; id < 30'000; ++id)
    big.peers_changed.push_back(test::make_peer(id));
  wire::map_response small;
  small.peers_changed.push_back(test::make_peer(40'000));
  std::vector<uint8_t> bytes;
  CAF_REQUIRE(p.server.send(wire::message{big}, bytes).ok());
  auto big_len = bytes.size();
  CAF_REQUIRE(p.server.send(wire::message{small}, bytes).ok());
  CAF_REQUIRE_GREATER(big_len, size_t{3} << 20);
  constexpr size_t read_len = (size_t{1} << 20) + (size_t{1} << 17); // a large read
  control_conn::received rx;
  size_t off = 0;
  size_t messages = 0;
  while (off + read_len < big_len) {
    rx.clear();
    CAF_REQUIRE(p.client.feed(std::span{bytes}.subspan(off, read_len), rx).ok());
    off += read_len;
    CAF_CHECK_GREATER_OR_EQUAL(p.client.receive_buffer_bytes(), read_len);
  }
  rx.clear();
  CAF_REQUIRE(p.client.feed(std::span{bytes}.subspan(off, big_len - off), rx).ok());
  messages += rx.messages.size();
  rx.clear();
  CAF_REQUIRE(p.client.feed(std::span{bytes}.subspan(big_len), rx).ok()); // a small read
  messages += rx.messages.size();
  CAF_CHECK_EQUAL(messages, 2u);
  CAF_CHECK_LESS_OR_EQUAL(p.client.receive_buffer_bytes(), size_t{1} << 20);
}
