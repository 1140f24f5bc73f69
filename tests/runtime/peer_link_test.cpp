// SPDX-License-Identifier: Apache-2.0
// runtime/peer_link: the shards tell the data path about a peer only once
// a lookup made it active, and from then on every change and removal, in
// order; nothing for peers the data path never asked about (so a delta
// for them costs the tunnel nothing), nothing after forget() or close().
#define CAF_SUITE peer_link
#include <caf/test/unit_test_impl.hpp>

#include <vector>

#include "runtime/node_normalize.hpp"
#include "runtime/peer_intern.hpp"
#include "runtime/peer_link.hpp"
#include "tests/support/synthetic.hpp"

using namespace tf;

namespace {

/// interned is synthetic peer `id`, reachable at `endpoint` if given.
peer_ref interned(wire::node_id id, const char* endpoint = nullptr) {
  auto n = test::make_peer(id);
  if (endpoint != nullptr)
    n.endpoints = {*ip_endpoint::parse(endpoint)};
  CAF_REQUIRE(normalize_node(n).ok());
  return intern_peer(n);
}

struct fixture {
  std::vector<link_event> events;
  peer_link link{[this](link_event ev) { events.push_back(std::move(ev)); }};
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(peer_link_tests, fixture)

CAF_TEST(only_active_peers_are_reported) {
  auto seven = interned(7);
  auto eight = interned(8);
  CAF_MESSAGE("changes and removals of peers nobody asked about: nothing");
  link.upserted(seven);
  link.removed(8);
  CAF_CHECK(events.empty());
  CAF_MESSAGE("a miss answers but activates nothing");
  link.answer(1, peer_ref{});
  CAF_REQUIRE_EQUAL(events.size(), 1u);
  CAF_CHECK(events[0].what == link_event::kind::answer && events[0].request == 1
            && !events[0].rec);
  CAF_CHECK_EQUAL(link.num_active(), 0u);
  CAF_MESSAGE("a hit activates: its changes and its removal follow, in order");
  link.answer(2, seven);
  CAF_CHECK_EQUAL(link.num_active(), 1u);
  auto seven_moved = interned(7, "198.51.100.7:41641");
  CAF_REQUIRE(!(seven_moved == seven));
  link.upserted(seven_moved);
  link.upserted(eight); // still inactive
  link.removed(7);
  link.upserted(seven_moved); // inactive again: a later re-add is news only if asked for
  CAF_REQUIRE_EQUAL(events.size(), 4u);
  CAF_CHECK(events[1].what == link_event::kind::answer && events[1].id == 7);
  CAF_CHECK(events[2].what == link_event::kind::changed && events[2].rec == seven_moved);
  CAF_CHECK(events[3].what == link_event::kind::removed && events[3].id == 7);
  CAF_CHECK_EQUAL(link.num_active(), 0u);
}

CAF_TEST(forget_and_close_stop_the_events) {
  auto nine = interned(9);
  link.answer(3, nine);
  link.forget(9);
  link.upserted(nine);
  link.removed(9);
  CAF_CHECK_EQUAL(events.size(), 1u); // the answer only
  link.answer(4, nine);
  link.close();
  link.upserted(nine);
  link.answer(5, nine);
  CAF_CHECK_EQUAL(events.size(), 2u);
}

CAF_TEST_FIXTURE_SCOPE_END()
