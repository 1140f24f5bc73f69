// SPDX-License-Identifier: Apache-2.0
// Restarts against a real coordination server: control restarting on the
// same database and ports (nodes reconnect on their own and keep their ids
// and addresses), and a node restarting on the same state directory (no
// auth key needed; TSNET_FORCE_LOGIN=1 with a key re-registers it).
#define CAF_SUITE restart
#include <caf/test/unit_test_impl.hpp>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nodes/local_client.hpp"
#include "runtime/counters.hpp"
#include "tests/support/harness.hpp"

using namespace tf;
using namespace tf::test;
using namespace std::chrono;

namespace {

constexpr size_t num_nodes = 5;

/// online_ids lists the nodes the admin API reports online.
std::vector<wire::node_id> online_ids(const test_control& control) {
  std::vector<wire::node_id> out;
  auto res = control->admin("GET", "/api/v1/nodes");
  auto rows = nlohmann::json::parse(res.body, nullptr, false);
  if (res.status != 200 || !rows.is_array()) {
    return out;
  }
  for (auto& row : rows) {
    if (row.value("online", false)) {
      out.push_back(row.value("id", wire::node_id{0}));
    }
  }
  return out;
}

/// identity is what a node must keep across a control restart.
struct identity {
  wire::node_id id = 0;
  std::vector<ip_addr> ips;
  node_public_key key;
  friend bool operator==(const identity&, const identity&) = default;
};

identity identity_of(server& node) {
  identity out;
  auto st = node.local_client().status();
  if (st && st->self) {
    out.id = st->self->id;
    out.ips = st->tailnet_ips;
    out.key = st->self->key;
  }
  return out;
}

/// durable_node is the tweak for a non-ephemeral node with a file store.
node_tweak durable_node(const std::string& dir) {
  return [dir](server_options& o) {
    o.ephemeral = false;
    o.store = nullptr;
    o.dir = dir;
  };
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(restart_tests, system_fixture)

CAF_TEST(nodes_reconnect_to_a_restarted_control_and_keep_their_identity) {
  temp_dir dir;
  auto db = dir.str("control.db");
  auto first = start_control(sys, [&](auto& o) { o.db_path = db; });
  CAF_REQUIRE(first.ok());
  auto control_port = (*first)->control_port();
  auto http_port = (*first)->http_port();
  std::vector<std::unique_ptr<server>> nodes;
  for (size_t i = 0; i < num_nodes; ++i) {
    auto name = "durable-" + std::to_string(i);
    auto node = make_node(sys, *first, name, durable_node(dir.str(name)));
    CAF_REQUIRE(node.ok());
    nodes.push_back(std::move(*node));
  }
  for (auto& n : nodes) {
    CAF_REQUIRE(n->up(seconds(20)).ok());
  }
  auto all_see_all = [&] {
    for (auto& n : nodes) {
      if (num_peers_of(*n) != num_nodes - 1) {
        return false;
      }
    }
    return true;
  };
  CAF_REQUIRE(wait_until(all_see_all, seconds(10)));
  std::vector<identity> before;
  for (auto& n : nodes) {
    before.push_back(identity_of(*n));
  }
  CAF_REQUIRE(wait_until([&] { return online_ids(*first).size() == num_nodes; }, seconds(5)));

  CAF_MESSAGE("stop control; start a new one on the same db and ports");
  auto full_maps = counter_value("map_response_full_rebuild");
  (*first)->stop();
  first->server.reset();
  auto second = start_control(sys, [&](auto& o) {
    o.db_path = db;
    o.control_port = control_port;
    o.http_port = http_port;
  });
  CAF_REQUIRE(second.ok());
  CAF_CHECK_EQUAL((*second)->control_port(), control_port);
  CAF_CHECK_EQUAL((*second)->http_port(), http_port);

  CAF_MESSAGE("every node reconnects by itself and gets a fresh full map");
  CAF_CHECK(wait_until([&] { return online_ids(*second).size() == num_nodes; }, seconds(15)));
  CAF_CHECK(wait_until(
    [&] { return counter_value("map_response_full_rebuild") >= full_maps + num_nodes; },
    seconds(5)));
  CAF_CHECK(wait_until(all_see_all, seconds(5)));
  for (size_t i = 0; i < num_nodes; ++i) {
    CAF_MESSAGE("case durable-" << i);
    auto now = identity_of(*nodes[i]);
    CAF_CHECK(now == before[i]);
    auto ids = online_ids(*second);
    CAF_CHECK(std::find(ids.begin(), ids.end(), before[i].id) != ids.end());
    // It sees each other node under its name, online (the new server's map).
    auto lc = nodes[i]->local_client();
    for (size_t j = 0; j < num_nodes; ++j) {
      if (j == i) {
        continue;
      }
      CAF_CHECK(wait_until(
        [&] {
          auto p = lc.peer_by_name("durable-" + std::to_string(j));
          return p.ok() && (*p)->id() == before[j].id && (*p)->online();
        },
        seconds(5)));
    }
  }
}

CAF_TEST(a_restarted_node_keeps_its_id_and_force_login_re_registers) {
  ::unsetenv("TS_AUTHKEY");
  ::unsetenv("TS_AUTH_KEY");
  ::unsetenv("TSNET_FORCE_LOGIN");
  auto control = start_control(sys);
  CAF_REQUIRE(control.ok());
  auto observer = start_node(sys, *control, "observer");
  CAF_REQUIRE(observer.ok());
  auto lc = (*observer)->local_client();
  temp_dir dir;
  auto state = dir.str("phoenix");
  auto first = start_node(sys, *control, "phoenix", durable_node(state));
  CAF_REQUIRE(first.ok());
  auto enrolled = identity_of(**first);
  CAF_REQUIRE(enrolled.id != 0);
  CAF_REQUIRE((*first)->close().ok());
  first->reset();

  struct {
    const char* name;
    const char* auth_key;
  } restarts[] = {{"no auth key", ""}, {"an unknown auth key is ignored", "tskey-bogus"}};
  for (auto& c : restarts) {
    CAF_MESSAGE("case " << c.name);
    auto registrations = counter_value("control_registrations");
    auto again = start_node(sys, *control, "phoenix", [&](server_options& o) {
      durable_node(state)(o);
      o.auth_key = c.auth_key;
    });
    CAF_REQUIRE(again.ok());
    CAF_CHECK(identity_of(**again) == enrolled);
    CAF_CHECK_EQUAL(counter_value("control_registrations"), registrations);
    CAF_CHECK(wait_until(
      [&] {
        auto p = lc.peer_by_id(enrolled.id);
        return p.ok() && (*p)->online();
      },
      seconds(5)));
    CAF_REQUIRE((*again)->close().ok());
  }

  CAF_MESSAGE("TSNET_FORCE_LOGIN=1 with an auth key re-registers (same id, new key)");
  ::setenv("TSNET_FORCE_LOGIN", "1", 1);
  auto registrations = counter_value("control_registrations");
  auto forced = start_node(sys, *control, "phoenix", durable_node(state));
  ::unsetenv("TSNET_FORCE_LOGIN");
  CAF_REQUIRE(forced.ok());
  auto relogged = identity_of(**forced);
  CAF_CHECK_EQUAL(relogged.id, enrolled.id);
  CAF_CHECK(relogged.ips == enrolled.ips);
  CAF_CHECK(relogged.key != enrolled.key);
  CAF_CHECK_EQUAL(counter_value("control_registrations"), registrations + 1);
  CAF_CHECK(wait_until([&] { return lc.peer_by_key(relogged.key).ok(); }, seconds(5)));
  CAF_CHECK(!lc.peer_by_key(enrolled.key).ok());

  CAF_MESSAGE("the new key was persisted: a plain restart keeps it");
  CAF_REQUIRE((*forced)->close().ok());
  forced->reset();
  auto plain = start_node(sys, *control, "phoenix", [&](server_options& o) {
    durable_node(state)(o);
    o.auth_key.clear();
  });
  CAF_REQUIRE(plain.ok());
  CAF_CHECK(identity_of(**plain) == relogged);
}

CAF_TEST(nodes_look_the_server_key_up_again_when_it_changes) {
  temp_dir dir;
  auto db = dir.str("control.db");
  auto first = start_control(sys, [&](auto& o) { o.db_path = db; });
  CAF_REQUIRE(first.ok());
  auto control_port = (*first)->control_port();
  auto http_port = (*first)->http_port();
  auto old_key = (*first)->public_key();
  auto node = start_node(sys, *first, "rekeyed", durable_node(dir.str("rekeyed")));
  CAF_REQUIRE(node.ok());
  auto id = identity_of(**node).id;
  CAF_REQUIRE(id != 0);
  (*first)->stop();
  first->server.reset();

  CAF_MESSAGE("the operator rotates the server key while control is down");
  {
    auto store = control::control_db::open(db);
    CAF_REQUIRE(store.ok());
    CAF_REQUIRE((*store)->set_setting("server_machine_key",
                                      machine_private_key::generate().to_string())
                  .ok());
  }
  // Not start_control(): it would clear the node's cached key, which is
  // exactly what the node must find out on its own.
  control::coordination_server_options opts;
  opts.db_path = db;
  opts.control_port = control_port;
  opts.http_port = http_port;
  auto started = control::coordination_server::start(sys, opts);
  CAF_REQUIRE(started.ok());
  test_control second{std::move(*started), ""};
  CAF_REQUIRE(second->public_key() != old_key);
  CAF_MESSAGE("handshakes fail, the node fetches the new key and comes back");
  auto failures = counter_value("control_channel_handshake_failed");
  CAF_CHECK(wait_until(
    [&] {
      auto ids = online_ids(second);
      return std::find(ids.begin(), ids.end(), id) != ids.end();
    },
    seconds(20)));
  CAF_CHECK_GREATER(counter_value("control_channel_handshake_failed"), failures);
  CAF_CHECK_EQUAL(identity_of(**node).id, id);
}

CAF_TEST_FIXTURE_SCOPE_END()

