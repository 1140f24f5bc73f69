// SPDX-License-Identifier: Apache-2.0
// Ephemeral expiry against a real coordination server: a `tailfleet up
// --ephemeral` child process that is SIGKILLed vanishes from its peers only
// after control's (test-shortened) inactivity timeout; a non-ephemeral node
// that closes stays, offline. Run as `ephemeral_test -- <path of tailfleet>`.
#define CAF_SUITE ephemeral
#include <caf/test/unit_test_impl.hpp>

#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "nodes/local_client.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/test_argument.hpp"

using namespace tf;
using namespace tf::test;
using namespace std::chrono;

namespace {

/// listed_online finds node `id` in the admin API's node list: -1 absent,
/// 0 offline, 1 online.
int listed_online(const test_control& control, wire::node_id id) {
  auto res = control->admin("GET", "/api/v1/nodes");
  auto rows = nlohmann::json::parse(res.body, nullptr, false);
  if (res.status != 200 || !rows.is_array()) {
    return -2;
  }
  for (auto& row : rows) {
    if (row.value("id", wire::node_id{0}) == id) {
      return row.value("online", false) ? 1 : 0;
    }
  }
  return -1;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(ephemeral_tests, system_fixture)

CAF_TEST(a_vanished_ephemeral_process_is_removed_after_the_timeout_not_before) {
  auto binary = test_argument();
  if (binary.empty()) {
    CAF_FAIL("run as: ephemeral_test -- <path of the tailfleet binary>");
  }
  auto control = start_control(sys);
  CAF_REQUIRE(control.ok());
  auto observer = start_node(sys, *control, "observer");
  CAF_REQUIRE(observer.ok());
  auto lc = (*observer)->local_client();
  temp_dir dir;
  auto log = dir.str("child.log");
  child_process child{{binary, "up", "--ephemeral", "--mem", "--hostname", "vanisher",
                       "--control-url", (*control)->url(), "--auth-key", (*control).auth_key},
                      log};
  CAF_REQUIRE(child.running());
  if (!wait_until([&] { return lc.peer_by_name("vanisher").ok(); }, seconds(20))) {
    CAF_FAIL("the child never joined; its output:\n" << read_file(log));
  }
  auto peer = lc.peer_by_name("vanisher");
  CAF_REQUIRE(peer.ok());
  auto id = (*peer)->id();
  CAF_CHECK((*peer)->online());
  CAF_CHECK_EQUAL(listed_online(*control, id), 1);

  child.kill(); // SIGKILL: no logout, the connection just drops
  auto killed_at = steady_clock::now();
  auto timeout = test_ephemeral_timeout;
  CAF_MESSAGE("half the timeout after the kill it is still there");
  std::this_thread::sleep_until(killed_at + timeout / 2);
  CAF_CHECK(lc.peer_by_id(id).ok());
  CAF_MESSAGE("control noticed the drop: the peer is offline until it expires");
  CAF_CHECK(wait_until(
    [&] {
      auto p = lc.peer_by_id(id);
      return p.ok() && (*p)->online_known() && !(*p)->online();
    },
    seconds(5)));
  CAF_CHECK_EQUAL(listed_online(*control, id), 0);

  CAF_MESSAGE("after the inactivity timeout control removes it from everyone");
  CAF_CHECK(wait_until([&] { return !lc.peer_by_id(id).ok(); }, timeout + seconds(5)));
  auto took = duration_cast<milliseconds>(steady_clock::now() - killed_at);
  CAF_MESSAGE("removed " << took.count() << " ms after SIGKILL (timeout " << timeout.count()
                         << " ms)");
  CAF_CHECK_GREATER_OR_EQUAL(took.count(), timeout.count());
  CAF_CHECK_EQUAL(listed_online(*control, id), -1);
  CAF_CHECK_EQUAL(num_peers_of(**observer), 0u);
}

CAF_TEST(a_closed_non_ephemeral_node_stays_in_the_tailnet_offline) {
  auto control = start_control(sys);
  CAF_REQUIRE(control.ok());
  auto observer = start_node(sys, *control, "observer");
  CAF_REQUIRE(observer.ok());
  temp_dir dir;
  auto keeper = start_node(sys, *control, "keeper", [&](server_options& o) {
    o.ephemeral = false;
    o.store = nullptr;
    o.dir = dir.str("keeper");
  });
  CAF_REQUIRE(keeper.ok());
  auto id = node_id_of(**keeper);
  auto lc = (*observer)->local_client();
  CAF_REQUIRE(wait_until([&] { return lc.peer_by_id(id).ok(); }, seconds(5)));
  CAF_REQUIRE((*keeper)->close().ok());
  auto closed_at = steady_clock::now();
  CAF_CHECK(wait_until(
    [&] {
      auto p = lc.peer_by_id(id);
      return p.ok() && (*p)->online_known() && !(*p)->online();
    },
    seconds(5)));
  // Longer than the ephemeral timeout plus an expiry tick: still there.
  std::this_thread::sleep_until(closed_at + test_ephemeral_timeout + milliseconds(500));
  auto still = lc.peer_by_id(id);
  CAF_REQUIRE(still.ok());
  CAF_CHECK(!(*still)->online());
  CAF_CHECK_EQUAL(std::string{(*still)->hostname()}, "keeper");
  CAF_CHECK_EQUAL(num_peers_of(**observer), 1u);
  CAF_CHECK_EQUAL(listed_online(*control, id), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
