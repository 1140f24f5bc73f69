// SPDX-License-Identifier: Apache-2.0
// The admin API's POST /api/v1/nodes/wireguard-only over a real tailnet
// model and a file database: accepted and refused bodies (a table, with the
// counter each refusal bumps), name de-duplication, deltas and full maps,
// persistence across reopen, deletion, and a client claiming the key.
#define CAF_SUITE admin_wireguard_only
#include <caf/test/unit_test_impl.hpp>

#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "nodes/control/admin_api.hpp"
#include "nodes/control/tailnet.hpp"
#include "runtime/counters.hpp"
#include "runtime/tailnet_addr.hpp"
#include "tests/integration/wg_interop_util.hpp"

using namespace tf;
using namespace tf::control;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int64_t now = 1'700'000'000'000;
constexpr const char* route = "/api/v1/nodes/wireguard-only";

struct fixture {
  fs::path dir;
  std::unique_ptr<control_db> db;
  std::unique_ptr<tailnet> net;
  std::vector<wire::node_id> deleted;

  fixture() {
    char name[] = "/tmp/tf_admin_wg_only_test_XXXXXX";
    CAF_REQUIRE(::mkdtemp(name) != nullptr);
    dir = name;
    reopen();
    CAF_REQUIRE(net->create_user("alice@example.com", "Alice").ok());
  }

  ~fixture() {
    net.reset();
    db.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  /// reopen closes and reopens the database and the model (a restart).
  void reopen() {
    net.reset();
    db.reset();
    auto d = control_db::open((dir / "control.db").string());
    CAF_REQUIRE(d.ok());
    db = std::move(*d);
    auto t = tailnet::open(*db, tailnet_options{"test.tailnet.internal", {}}, now);
    CAF_REQUIRE(t.ok());
    net = std::move(*t);
  }

  admin_response call(const std::string& method, const std::string& path,
                      const std::string& body = {}) {
    return handle_admin(*net, admin_request{method, path, body}, now, deleted);
  }

  /// add posts a WireGuard-only node and returns the response's JSON.
  std::pair<int, json> add(const json& body) {
    auto res = call("POST", route, body.dump());
    return {res.status, json::parse(res.body, nullptr, false)};
  }
};

std::string hex_key(const node_public_key& k) {
  return k.to_string();
}

std::string b64_key(const node_public_key& k) {
  return wg::interop::to_base64(k.bytes());
}

json body_for(const std::string& key, const std::string& hostname = "mullvad-se1") {
  return json{{"user", "alice@example.com"},
              {"hostname", hostname},
              {"node_key", key},
              {"endpoints", {"198.51.100.2:51820"}}};
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(admin_wireguard_only_tests, fixture)

CAF_TEST(accepted_nodes_are_authorized_online_and_announced) {
  auto key = node_private_key::generate().public_key();
  auto body = body_for(hex_key(key));
  body["ipv4"] = "100.127.200.1";
  body["endpoints"] = {"198.51.100.2:51820", "[2001:db8::2]:51820"};
  auto [status, out] = add(body);
  CAF_REQUIRE_EQUAL(status, 201);
  CAF_REQUIRE(out.is_object());
  CAF_CHECK_EQUAL(out.value("wireguard_only", false), true);
  CAF_CHECK_EQUAL(out.value("online", false), true);
  CAF_CHECK_EQUAL(out.value("authorized", false), true);
  CAF_CHECK_EQUAL(out.value("ephemeral", true), false);
  CAF_CHECK_EQUAL(out.value("name", ""), "mullvad-se1.test.tailnet.internal");
  CAF_CHECK_EQUAL(out.value("node_key", ""), hex_key(key));
  CAF_CHECK_EQUAL(out["addresses"], (json{"100.127.200.1", "fd7a:115c:a1e0::647f:c801"}));
  CAF_CHECK_EQUAL(out["endpoints"], (json{"198.51.100.2:51820", "[2001:db8::2]:51820"}));
  wire::node_id id = out.value("id", wire::node_id{0});
  CAF_REQUIRE(id != 0);
  CAF_CHECK(net->pending().upserted.contains(id));

  CAF_MESSAGE("every viewer's next delta carries it as an online peer");
  auto d = net->shared_delta(1, now);
  CAF_REQUIRE_EQUAL(d.peers_changed.size(), 1u);
  auto& peer = d.peers_changed.front();
  CAF_CHECK_EQUAL(peer.id, id);
  CAF_CHECK_EQUAL(peer.key, key);
  CAF_CHECK(peer.online == std::optional<bool>{true});
  CAF_CHECK(peer.machine.is_zero());
  CAF_REQUIRE_EQUAL(peer.endpoints.size(), 2u);
  CAF_CHECK_EQUAL(peer.endpoints[0].to_string(), "198.51.100.2:51820");
  net->clear_pending();

  CAF_MESSAGE("a base64 key and no ipv4: an address is allocated, the name de-duplicated");
  auto key2 = node_private_key::generate().public_key();
  auto [status2, out2] = add(body_for(b64_key(key2)));
  CAF_REQUIRE_EQUAL(status2, 201);
  CAF_CHECK_EQUAL(out2.value("node_key", ""), hex_key(key2));
  CAF_CHECK_EQUAL(out2.value("name", ""), "mullvad-se1-1.test.tailnet.internal");
  auto v4 = ip_addr::parse(out2["addresses"][0].get<std::string>());
  CAF_REQUIRE(v4.has_value());
  CAF_CHECK(is_tailnet_ipv4(*v4));
  CAF_CHECK_NOT_EQUAL(v4->to_string(), "100.127.200.1");

  CAF_MESSAGE("the node list reports both, online");
  auto listed = json::parse(call("GET", "/api/v1/nodes").body);
  CAF_REQUIRE_EQUAL(listed.size(), 2u);
  for (auto& n : listed) {
    CAF_CHECK_EQUAL(n.value("online", false), true);
    CAF_CHECK_EQUAL(n.value("wireguard_only", false), true);
  }
}

CAF_TEST(endpoint_changes_reach_peers_as_narrow_patches) {
  auto [status, out] = add(body_for(hex_key(node_private_key::generate().public_key())));
  CAF_REQUIRE_EQUAL(status, 201);
  wire::node_id id = out.value("id", wire::node_id{0});
  net->clear_pending();
  auto moved = *ip_endpoint::parse("198.51.100.9:41641");
  CAF_REQUIRE(net->update_endpoints(id, {moved}).ok());
  auto d = net->shared_delta(2, now);
  CAF_CHECK(d.peers_changed.empty());
  CAF_REQUIRE_EQUAL(d.peers_changed_patch.size(), 1u);
  auto& patch = d.peers_changed_patch.front();
  CAF_CHECK_EQUAL(patch.id, id);
  CAF_REQUIRE(patch.endpoints.has_value());
  CAF_CHECK(*patch.endpoints == std::vector<ip_endpoint>{moved});
  CAF_CHECK(!patch.online.has_value());
  net->clear_pending();
  CAF_MESSAGE("the same endpoints again change nothing");
  CAF_REQUIRE(net->update_endpoints(id, {moved}).ok());
  CAF_CHECK(net->pending().empty());
}

CAF_TEST(the_admin_moves_a_wireguard_only_node) {
  auto [status, out] = add(body_for(hex_key(node_private_key::generate().public_key())));
  CAF_REQUIRE_EQUAL(status, 201);
  wire::node_id id = out.value("id", wire::node_id{0});
  net->clear_pending();
  auto path = "/api/v1/nodes/" + std::to_string(id) + "/endpoints";
  auto moved = call("POST", path, json{{"endpoints", {"198.51.100.77:51820"}}}.dump());
  CAF_CHECK_EQUAL(moved.status, 200);
  auto d = net->shared_delta(2, now);
  CAF_REQUIRE_EQUAL(d.peers_changed_patch.size(), 1u);
  CAF_REQUIRE(d.peers_changed_patch.front().endpoints.has_value());
  CAF_CHECK(*d.peers_changed_patch.front().endpoints
            == std::vector<ip_endpoint>{*ip_endpoint::parse("198.51.100.77:51820")});
  net->clear_pending();
  CAF_CHECK_EQUAL(call("POST", path, json{{"endpoints", {"not an endpoint"}}}.dump()).status, 400);
  CAF_CHECK_EQUAL(call("POST", "/api/v1/nodes/999999/endpoints",
                       json{{"endpoints", {"198.51.100.1:1"}}}.dump()).status, 404);
  CAF_CHECK(net->pending().empty());
}

CAF_TEST(refused_bodies_answer_400_and_are_counted) {
  auto taken_key = node_private_key::generate().public_key();
  auto first = body_for(hex_key(taken_key));
  first["ipv4"] = "100.100.0.7";
  CAF_REQUIRE_EQUAL(add(first).first, 201);
  auto fresh = [] { return hex_key(node_private_key::generate().public_key()); };
  auto with = [&](const char* field, json value) {
    auto b = body_for(fresh());
    b[field] = std::move(value);
    return b;
  };
  auto without = [&](const char* field) {
    auto b = body_for(fresh());
    b.erase(field);
    return b;
  };
  std::string zero_hex = "nodekey:" + std::string(64, '0');
  struct {
    const char* name;
    json body;
    const char* counter;
  } cases[] = {
    {"garbage key", with("node_key", "hello"), "control_wg_only_rejected_bad_key"},
    {"short hex key", with("node_key", "nodekey:abcd"), "control_wg_only_rejected_bad_key"},
    {"base64 of 31 bytes", with("node_key", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="),
     "control_wg_only_rejected_bad_key"},
    {"zero key", with("node_key", zero_hex), "control_wg_only_rejected_bad_key"},
    {"missing key", without("node_key"), "control_wg_only_rejected_bad_key"},
    {"duplicate key", body_for(hex_key(taken_key), "other"),
     "control_wg_only_rejected_duplicate_key"},
    {"endpoint without port", with("endpoints", {"198.51.100.2"}),
     "control_wg_only_rejected_bad_endpoint"},
    {"endpoint port 0", with("endpoints", {"198.51.100.2:0"}),
     "control_wg_only_rejected_bad_endpoint"},
    {"unspecified endpoint", with("endpoints", {"0.0.0.0:51820"}),
     "control_wg_only_rejected_bad_endpoint"},
    {"bare IPv6 endpoint", with("endpoints", {"2001:db8::1:51820"}),
     "control_wg_only_rejected_bad_endpoint"},
    {"no endpoints", with("endpoints", json::array()), "control_wg_only_rejected_bad_endpoint"},
    {"missing endpoints", without("endpoints"), "control_wg_only_rejected_bad_endpoint"},
    {"address not IPv4", with("ipv4", "fd7a:115c:a1e0::1"), "control_wg_only_rejected_bad_address"},
    {"address garbage", with("ipv4", "100.64.0"), "control_wg_only_rejected_bad_address"},
    {"address outside 100.64/10", with("ipv4", "10.0.0.1"), "control_wg_only_rejected_bad_address"},
    {"address 100.100.100.100", with("ipv4", "100.100.100.100"),
     "control_wg_only_rejected_bad_address"},
    {"address taken", with("ipv4", "100.100.0.7"), "control_wg_only_rejected_address_taken"},
    {"unknown user", with("user", "mallory@example.com"), "control_wg_only_rejected_unknown_user"},
    {"missing user", without("user"), "control_wg_only_rejected_unknown_user"},
    {"missing hostname", without("hostname"), "control_wg_only_rejected_bad_hostname"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto before = counter_value(c.counter);
    auto [status, out] = add(c.body);
    CAF_CHECK_EQUAL(status, 400);
    CAF_CHECK(out.is_object() && out.contains("error"));
    auto after = counter_value(c.counter);
    CAF_CHECK_EQUAL(after, before + 1);
  }
  CAF_MESSAGE("case endpoints of the wrong JSON type");
  CAF_CHECK_EQUAL(add(with("endpoints", "198.51.100.2:51820")).first, 400);
  CAF_MESSAGE("nothing was added by the refused bodies");
  CAF_CHECK_EQUAL(net->nodes().size(), 1u);
}

CAF_TEST(nodes_survive_a_restart_and_delete_as_usual) {
  auto key = node_private_key::generate().public_key();
  auto body = body_for(b64_key(key));
  body["ipv4"] = "100.127.200.1";
  auto [status, out] = add(body);
  CAF_REQUIRE_EQUAL(status, 201);
  wire::node_id id = out.value("id", wire::node_id{0});
  reopen();
  auto* row = net->find(id);
  CAF_REQUIRE(row != nullptr);
  CAF_CHECK(is_wireguard_only(*row));
  CAF_CHECK(net->is_online(id));
  CAF_CHECK_EQUAL(net->node_for_key(key), id);
  CAF_CHECK_EQUAL(row->ipv4.to_string(), "100.127.200.1");
  auto map = net->full_map(0, now);
  CAF_REQUIRE(map.peers.has_value());
  CAF_REQUIRE_EQUAL(map.peers->size(), 1u);
  auto& peer = map.peers->front();
  CAF_CHECK(peer.online == std::optional<bool>{true});

  CAF_MESSAGE("a client cannot register with the WireGuard-only node's key");
  wire::register_request req;
  req.node_key = key;
  req.host.hostname = "thief";
  auto reg = net->register_node(machine_private_key::generate().public_key(), req, now);
  CAF_CHECK_NOT_EQUAL(reg.response.error_code, errc::ok);
  CAF_CHECK_EQUAL(reg.node, 0u);

  CAF_MESSAGE("DELETE removes it, frees its address, and the next delta says so");
  auto del = call("DELETE", "/api/v1/nodes/" + std::to_string(id));
  CAF_CHECK_EQUAL(del.status, 200);
  CAF_CHECK(net->find(id) == nullptr);
  CAF_CHECK(net->pending().removed.contains(id));
  CAF_CHECK_EQUAL(deleted, std::vector<wire::node_id>{id});
  auto again = body_for(hex_key(key));
  again["ipv4"] = "100.127.200.1";
  CAF_CHECK_EQUAL(add(again).first, 201);
  reopen();
  CAF_CHECK_EQUAL(net->nodes().size(), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()
