// SPDX-License-Identifier: Apache-2.0
// Tables for a full map's peer list left encoded (wire::decode_deferring,
// wire::encoded_peers) and for control_conn handing such lists over: the
// parts decode to what decode() gives, in reused nodes; a bad peer fails as
// decode() fails, late; a broken list fails at once. Single-threaded.
#define CAF_SUITE wire_deferred_peers
#include <caf/test/unit_test_impl.hpp>

#include <string>
#include <vector>

#include "runtime/control_conn.hpp"
#include "runtime/huge_pages.hpp"
#include "runtime/wire_codec.hpp"
#include "tests/runtime/control_conn_pair.hpp"
#include "tests/runtime/wire_test_util.hpp"

using namespace tf;
using namespace tf::wire;
using namespace tf::wire::test_util;

namespace {

map_response full_map(size_t num_peers) {
  auto r = sample_map_response();
  r.peers.emplace();
  for (size_t i = 0; i < num_peers; ++i)
    r.peers->push_back(sample_node(10 + i));
  r.peers->back().name = std::string(200, 'n'); // a long one among short ones
  return r;
}

// decode_all decodes a deferred list in parts of `part` into one reused
// vector, collecting the peers.
std::vector<node> decode_all(encoded_peers& peers, size_t part) {
  std::vector<node> all;
  std::vector<node> scratch{sample_node(99), sample_node(98)}; // stale content
  while (peers.remaining() > 0) {
    auto ok = peers.next_part(scratch, part);
    CAF_REQUIRE(ok.ok());
    CAF_REQUIRE(!scratch.empty());
    all.insert(all.end(), scratch.begin(), scratch.end());
  }
  return all;
}

} // namespace

CAF_TEST(parts_decode_to_what_decode_gives) {
  auto r = full_map(7);
  auto bytes = encode(message{r});
  for (size_t part : {1, 3, 7, 100}) {
    CAF_MESSAGE("parts of " << part);
    // The span form copies the list; the vector form takes the frame.
    for (bool owned : {false, true}) {
      message m;
      encoded_peers peers;
      auto frame = bytes;
      auto ok = owned ? decode_deferring(frame, m, peers)
                      : decode_deferring(std::span<const uint8_t>{frame}, m, peers);
      CAF_REQUIRE(ok.ok());
      CAF_CHECK_EQUAL(frame.empty(), owned);
      auto& got = std::get<map_response>(m);
      CAF_REQUIRE(got.is_full());
      CAF_CHECK(got.peers->empty());
      CAF_CHECK_EQUAL(peers.remaining(), 7u);
      // Every other field is decoded as usual.
      auto rest = got;
      rest.peers = r.peers;
      CAF_CHECK(rest == r);
      CAF_CHECK(decode_all(peers, part) == *r.peers);
      std::vector<node> none;
      CAF_CHECK(peers.next_part(none, 5).ok());
      CAF_CHECK(none.empty());
    }
  }
}

CAF_TEST(a_large_lists_spent_pages_go_back_as_its_peers_are_decoded) {
  auto r = full_map(40'000);
  auto bytes = encode(message{r});
  CAF_REQUIRE_GREATER_OR_EQUAL(bytes.size(), huge_page_advice_min + 2 * huge_page_len);
  message m;
  encoded_peers peers;
  auto frame = bytes;
  CAF_REQUIRE(decode_deferring(frame, m, peers).ok());
  std::vector<node> all;
  std::vector<node> part;
  size_t released = 0;
  while (peers.remaining() > 0) {
    CAF_REQUIRE(peers.next_part(part, 1000).ok());
    all.insert(all.end(), part.begin(), part.end());
    CAF_CHECK_GREATER_OR_EQUAL(peers.released(), released); // front to back
    released = peers.released();
  }
  // Every peer decoded as decode() gives it, though the pages behind them
  // went back while the rest was still read.
  CAF_CHECK(all == *r.peers);
  // All but the partial 2 MiB pages at both ends, and what follows the list.
  CAF_CHECK_GREATER(peers.released(), bytes.size() - 3 * huge_page_len);
  CAF_CHECK_EQUAL(peers.released() % huge_page_len, 0u);
  // A small list is left alone.
  auto small = encode(message{full_map(7)});
  CAF_REQUIRE(decode_deferring(small, m, peers).ok());
  CAF_CHECK(decode_all(peers, 3).size() == 7u);
  CAF_CHECK_EQUAL(peers.released(), 0u);
}

CAF_TEST(other_messages_are_decoded_whole) {
  auto delta = sample_map_response();
  delta.peers.reset();
  for (message want : {message{delta}, message{sample_register_response()}}) {
    auto frame = encode(want);
    auto copy = frame;
    message m;
    encoded_peers peers;
    CAF_REQUIRE(decode_deferring(frame, m, peers).ok());
    CAF_CHECK(m == want);
    CAF_CHECK(frame == copy); // left alone
    CAF_CHECK_EQUAL(peers.remaining(), 0u);
  }
  // Present and empty: a full map without peers.
  auto empty = sample_map_response();
  empty.peers = std::vector<node>{};
  auto frame = encode(message{empty});
  message m;
  encoded_peers peers;
  CAF_REQUIRE(decode_deferring(frame, m, peers).ok());
  CAF_CHECK(std::get<map_response>(m).is_full());
  CAF_CHECK_EQUAL(peers.remaining(), 0u);
}

CAF_TEST(a_bad_peer_fails_late_as_decode_fails) {
  auto r = full_map(5);
  // Peer 3's hostname (field 11) becomes a number: well-formed msgpack, so
  // the list's shape passes and the peer fails when its part is decoded.
  auto bad = edited(message{r}, [](msgpack::object& root, msgpack::zone&) {
    at(root, {1, 3, 3, 11}) = msgpack::object(uint64_t{5});
  });
  auto eager = decode(bad);
  CAF_REQUIRE(!eager.ok());
  message m;
  encoded_peers peers;
  CAF_REQUIRE(decode_deferring(bad, m, peers).ok());
  std::vector<node> part;
  CAF_REQUIRE(peers.next_part(part, 2).ok()); // peers 0 and 1
  auto before = rejected();
  auto late = peers.next_part(part, 2);       // peers 2 and 3
  CAF_REQUIRE(!late.ok());
  CAF_CHECK_EQUAL(late.error().code, errc::malformed_message);
  CAF_CHECK_EQUAL(late.error().message(), eager.error().message());
  CAF_CHECK_NOT_EQUAL(late.error().message().find("message.map_response.peers[3].hostname"),
                      std::string::npos);
  CAF_CHECK_EQUAL(rejected(), before + 1);
  CAF_CHECK_EQUAL(peers.remaining(), 0u); // spent
}

CAF_TEST(a_broken_list_fails_at_once) {
  auto r = full_map(4);
  // A truncated frame, a count larger than the bytes, a list nested past
  // the depth limit: each is refused by decode_deferring itself.
  auto bytes = encode(message{r});
  auto truncated = std::vector<uint8_t>(bytes.begin(), bytes.end() - 40);
  auto too_many = edited(message{r}, [](msgpack::object& root, msgpack::zone& z) {
    at(root, {1, 3}) = msgpack::object(std::vector<int>(20'000, 1), z);
  });
  decode_limits shallow;
  shallow.max_depth = 4; // a node's addresses nest 5 deep
  for (auto* frame : {&truncated, &too_many}) {
    message m;
    encoded_peers peers;
    auto before = rejected();
    auto ok = decode_deferring(*frame, m, peers);
    CAF_CHECK(!ok.ok());
    CAF_CHECK_EQUAL(rejected(), before + 1);
    CAF_CHECK_EQUAL(peers.remaining(), 0u);
  }
  message m;
  encoded_peers peers;
  auto ok = decode_deferring(bytes, m, peers, shallow);
  CAF_REQUIRE(!ok.ok());
  CAF_CHECK_NOT_EQUAL(ok.error().message().find("nesting deeper than 4"), std::string::npos);
}

CAF_TEST(control_conn_hands_over_each_full_maps_list) {
  tf::test::control_conn_pair pair;
  auto& client = pair.client;
  auto& server = pair.server;
  client.defer_full_peers();
  // A small full map, a delta and a large full map in one stream: fed
  // whole, the small map comes straight from the read (the span form);
  // fed in 1000-byte reads, the large one is assembled (the vector form).
  auto small = full_map(2);
  auto large = full_map(3000);
  auto delta = sample_map_response();
  delta.peers.reset();
  for (size_t read_len : {size_t{1} << 30, size_t{1000}}) {
    CAF_MESSAGE("reads of " << read_len);
    std::vector<uint8_t> wire_bytes;
    for (auto* msg : {&small, &delta, &large})
      CAF_REQUIRE(server.send(message{*msg}, wire_bytes).ok());
    control_conn::received got;
    std::vector<message> messages;
    std::vector<std::vector<node>> lists;
    for (size_t off = 0; off < wire_bytes.size(); off += read_len) {
      got.clear();
      auto len = std::min(read_len, wire_bytes.size() - off);
      CAF_REQUIRE(client.feed(std::span{wire_bytes}.subspan(off, len), got).ok());
      for (auto& m : got.messages)
        messages.push_back(m);
      for (auto& p : got.full_peers)
        lists.push_back(decode_all(p, 1000));
    }
    CAF_REQUIRE_EQUAL(messages.size(), 3u);
    CAF_REQUIRE_EQUAL(lists.size(), 2u);
    CAF_CHECK(lists[0] == *small.peers);
    CAF_CHECK(lists[1] == *large.peers);
    CAF_CHECK(messages[1] == message{delta});
    CAF_CHECK(std::get<map_response>(messages[2]).peers->empty());
  }
}
