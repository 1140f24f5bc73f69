// SPDX-License-Identifier: Apache-2.0
// A real node's session decodes a full map's peer list a part at a time
// (wire::encoded_peers), over the real control channel from the fake
// control of tests/support: a map of several parts arrives whole, and a
// peer that turns out malformed midway ends the connection (counted), not
// the node, with the parts before it applied and nothing else lost.
#define CAF_SUITE full_map_parts
#include <caf/test/unit_test_impl.hpp>

#include <memory>
#include <vector>

#include "nodes/local_client.hpp"
#include "nodes/server.hpp"
#include "runtime/counters.hpp"
#include "runtime/wire_codec.hpp"
#include "tests/runtime/wire_test_util.hpp"
#include "tests/support/fake_control.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/synthetic.hpp"

using namespace tf;
using namespace tf::test;
using namespace std::chrono;

namespace {

constexpr size_t part_len = 16384; // the session's part (control_session.cpp)
constexpr wire::node_id num_peers = part_len + 3000;

wire::map_response full_map(wire::node_id first, size_t n) {
  wire::map_response full;
  full.peers.emplace();
  for (wire::node_id id = first; id < first + n; ++id)
    full.peers->push_back(make_peer(id));
  full.dns = wire::dns_config{};
  full.domain = synthetic_domain;
  full.user_profiles.push_back({synthetic_user, "parts@example.com", "Parts", ""});
  return full;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(full_map_parts, system_fixture)

CAF_TEST(a_map_in_parts_arrives_whole_and_a_bad_peer_ends_only_the_connection) {
  auto control = fake_control::listen();
  CAF_REQUIRE(control.ok());
  server node{sys, node_options(**control, "parts", 2)};
  CAF_REQUIRE(node.start().ok());
  CAF_REQUIRE((*control)->serve_node(full_map(2, num_peers)).ok());
  CAF_REQUIRE(node.up(seconds(60)).ok());
  auto lc = node.local_client();
  auto status = lc.status();
  CAF_REQUIRE(status.ok());
  CAF_CHECK_EQUAL(status->num_peers, num_peers);
  CAF_CHECK(lc.peer_by_id(2).ok());
  CAF_CHECK(lc.peer_by_id(num_peers + 1).ok());
  auto who = lc.whois(make_peer(num_peers).addresses.front().addr.to_string());
  CAF_REQUIRE(who.ok());
  CAF_CHECK_EQUAL(who->node->id(), num_peers);
  CAF_CHECK_EQUAL(who->user.login_name, "parts@example.com");

  CAF_MESSAGE("a second full map whose peer after the first part is malformed");
  // New peers from 100000 on; the one at index part_len + 10 gets a number
  // for a hostname: the list's shape is fine, so the first part is sent to
  // the shards before the bad peer is decoded.
  auto second = full_map(100'000, num_peers);
  auto bad = wire::test_util::edited(wire::message{second},
                                     [](msgpack::object& root, msgpack::zone&) {
                                       wire::test_util::at(root, {1, 3, part_len + 10, 11})
                                         = msgpack::object(uint64_t{5});
                                     });
  auto errors = counter_value("control_session_protocol_errors");
  auto rejected = counter_value("wire_decode_rejected");
  CAF_REQUIRE((*control)->send_encoded(std::vector<std::vector<uint8_t>>{bad}).ok());
  CAF_CHECK(wait_until(
    [&] { return counter_value("control_session_protocol_errors") == errors + 1; }, seconds(30)));
  CAF_CHECK_EQUAL(counter_value("wire_decode_rejected"), rejected + 1);
  // The node lives on: the first part's new peers were applied, the old map
  // was not dropped (its removal comes only with a complete map), and
  // nothing after the bad peer arrived.
  CAF_CHECK(wait_until([&] { return lc.peer_by_id(100'000).ok(); }, seconds(10)));
  CAF_CHECK(lc.peer_by_id(2).ok());
  CAF_CHECK(lc.peer_by_id(num_peers + 1).ok());
  CAF_CHECK(!lc.peer_by_id(100'000 + part_len + 10).ok());
  CAF_CHECK(!lc.peer_by_id(100'000 + num_peers - 1).ok());
  status = lc.status();
  CAF_REQUIRE(status.ok());
  CAF_CHECK_EQUAL(status->num_peers, num_peers + part_len);
  static_cast<void>(node.close());
}

CAF_TEST_FIXTURE_SCOPE_END()
