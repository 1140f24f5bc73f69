// SPDX-License-Identifier: Apache-2.0
// A fleet of real nodes in one process against a real coordination server
// over loopback: everyone sees everyone, WhoIs (plain and tagged nodes),
// duplicate hostnames, and an ephemeral node's close() reaching all peers
// within 1 s. The test thread drives everything through blocking calls.
#define CAF_SUITE fleet
#include <caf/test/unit_test_impl.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nodes/control/tailnet.hpp"
#include "nodes/local_client.hpp"
#include "tests/support/harness.hpp"

using namespace tf;
using namespace tf::test;
using namespace std::chrono;

namespace {

constexpr size_t fleet_size = 50;

std::string fqdn(const std::string& host) { return host + "." + test_domain; }

/// ips_of returns a running node's tailnet addresses (v4 first).
std::vector<ip_addr> ips_of(server& node) {
  auto st = node.local_client().status();
  return st ? st->tailnet_ips : std::vector<ip_addr>{};
}

/// join_all makes every node first, then waits for each to be Running, so
/// the fleet joins concurrently.
std::vector<std::unique_ptr<server>> join_all(caf::actor_system& sys, const test_control& control,
                                              size_t n) {
  std::vector<std::unique_ptr<server>> out;
  for (size_t i = 0; i < n; ++i) {
    auto node = make_node(sys, control, "node-" + std::to_string(i));
    CAF_REQUIRE(node.ok());
    out.push_back(std::move(*node));
  }
  for (auto& node : out) {
    auto st = node->up(seconds(20));
    if (!st) {
      CAF_FAIL(node->hostname() << ": " << st.error().message());
    }
  }
  return out;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(fleet_tests, system_fixture)

CAF_TEST(fifty_nodes_see_each_other_and_an_ephemeral_close_reaches_all_within_1s) {
  auto control = start_control(sys);
  CAF_REQUIRE(control.ok());
  auto started = steady_clock::now();
  auto nodes = join_all(sys, *control, fleet_size);
  CAF_MESSAGE(fleet_size << " nodes Running after "
                         << duration_cast<milliseconds>(steady_clock::now() - started).count()
                         << " ms");
  auto everyone_sees = [&](size_t want) {
    return std::all_of(nodes.begin(), nodes.end(),
                       [&](auto& n) { return !n || num_peers_of(*n) == want; });
  };
  CAF_CHECK(wait_until([&] { return everyone_sees(fleet_size - 1); }, seconds(20)));
  CAF_MESSAGE("every node saw all others after "
                         << duration_cast<milliseconds>(steady_clock::now() - started).count()
                         << " ms");
  std::vector<wire::node_id> ids;
  for (auto& n : nodes) {
    ids.push_back(node_id_of(*n));
  }
  CAF_CHECK_EQUAL(std::set<wire::node_id>(ids.begin(), ids.end()).size(), fleet_size);
  CAF_CHECK(std::find(ids.begin(), ids.end(), wire::node_id{0}) == ids.end());

  CAF_MESSAGE("peer_by_name finds short names and FQDNs from several nodes");
  struct {
    size_t viewer;
    std::string name;
    size_t want;
  } lookups[] = {
    {0, "node-7", 7}, {0, fqdn("node-7"), 7}, {49, "node-0", 0},
    {25, fqdn("node-49"), 49}, {13, "NODE-31", 31},
  };
  for (auto& c : lookups) {
    CAF_MESSAGE("case " << c.viewer << " looks up " << c.name);
    auto got = nodes[c.viewer]->local_client().peer_by_name(c.name);
    CAF_REQUIRE(got.ok());
    auto id = (*got)->id();
    CAF_CHECK_EQUAL(id, ids[c.want]);
  }
  auto self_lookup = nodes[3]->local_client().peer_by_name("node-3");
  CAF_CHECK_EQUAL(std::string{to_string(self_lookup.code())}, "not_found");

  CAF_MESSAGE("WhoIs of a peer's IP and IP:port names the node and its user");
  auto ips = ips_of(*nodes[1]);
  CAF_REQUIRE_EQUAL(ips.size(), 2u);
  std::string queries[] = {ips[0].to_string(), ips[0].to_string() + ":443",
                           "[::ffff:" + ips[0].to_string() + "]:443", ips[1].to_string(),
                           "[" + ips[1].to_string() + "]:80"};
  for (auto& q : queries) {
    CAF_MESSAGE("case whois " << q);
    auto who = nodes[0]->local_client().whois(q);
    CAF_REQUIRE(who.ok());
    auto id = who->node->id();
    CAF_CHECK_EQUAL(id, ids[1]);
    CAF_CHECK_EQUAL(std::string{who->node->name()}, fqdn("node-1"));
    CAF_CHECK_EQUAL(who->user.login_name, test_user);
    CAF_CHECK(who->user.id != 0);
  }
  auto nobody = nodes[0]->local_client().whois("100.127.255.254");
  CAF_CHECK_EQUAL(std::string{to_string(nobody.code())}, "not_found");

  CAF_MESSAGE("an ephemeral node's close() removes it from all 49 others within 1 s");
  size_t leaving = fleet_size / 2;
  auto gone_id = ids[leaving];
  CAF_REQUIRE(nodes[leaving]->close().ok());
  auto closed_at = steady_clock::now();
  auto gone_everywhere = [&] {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (i != leaving && nodes[i]->local_client().peer_by_id(gone_id).ok()) {
        return false;
      }
    }
    return true;
  };
  CAF_CHECK(wait_until(gone_everywhere, seconds(5)));
  auto took = duration_cast<milliseconds>(steady_clock::now() - closed_at);
  CAF_MESSAGE("removed everywhere " << took.count() << " ms after close() returned");
  CAF_CHECK_LESS(took.count(), 1000);
  nodes[leaving].reset();
  CAF_CHECK(wait_until([&] { return everyone_sees(fleet_size - 2); }, seconds(5)));
  auto listed = (*control)->admin("GET", "/api/v1/nodes");
  CAF_CHECK_EQUAL(listed.status, 200);
  auto rows = nlohmann::json::parse(listed.body, nullptr, false);
  CAF_REQUIRE(rows.is_array());
  CAF_CHECK_EQUAL(rows.size(), fleet_size - 1);
  for (auto& row : rows) {
    CAF_CHECK(row.value("id", wire::node_id{0}) != gone_id);
  }
}

CAF_TEST(whois_reports_a_tagged_node_as_tagged_devices_with_its_tags) {
  auto control = start_control(sys);
  CAF_REQUIRE(control.ok());
  control::auth_key_spec spec;
  spec.user = "bob@example.com";
  spec.tags = {"tag:ci", "tag:web"};
  auto tag_key = (*control)->create_auth_key(spec);
  CAF_REQUIRE(tag_key.ok());
  auto viewer = start_node(sys, *control, "viewer");
  CAF_REQUIRE(viewer.ok());
  auto tagged = start_node(sys, *control, "builder", [&](server_options& o) {
    o.auth_key = *tag_key;
    o.advertise_tags = {"tag:ci"};
  });
  CAF_REQUIRE(tagged.ok());
  auto ip = ips_of(**tagged).front().to_string();
  auto lc = (*viewer)->local_client();
  CAF_REQUIRE(wait_until([&] { return lc.whois(ip).ok(); }, seconds(5)));
  auto who = lc.whois(ip + ":22");
  CAF_REQUIRE(who.ok());
  auto id = who->node->id();
  CAF_CHECK_EQUAL(id, node_id_of(**tagged));
  CAF_CHECK_EQUAL(who->user.login_name, "tagged-devices");
  CAF_CHECK_EQUAL(who->user.id, control::tagged_devices_user_id); // sent by control
  CAF_REQUIRE(who->node->is_tagged());
  // The node advertised tag:ci only: it carries that tag, not all the key's.
  CAF_CHECK_EQUAL(who->node->tags()->tags, std::vector<std::string>{"tag:ci"});
  // The untagged viewer, seen from the tagged node, is still its user's.
  auto back = (*tagged)->local_client().whois(ips_of(**viewer).front().to_string());
  CAF_REQUIRE(back.ok());
  CAF_CHECK_EQUAL(back->user.login_name, test_user);
  CAF_CHECK(!back->node->is_tagged());
}

CAF_TEST(duplicate_hostnames_get_distinct_magicdns_names) {
  auto control = start_control(sys);
  CAF_REQUIRE(control.ok());
  auto a = make_node(sys, *control, "web");
  auto b = make_node(sys, *control, "web");
  CAF_REQUIRE(a.ok() && b.ok());
  auto sa = (*a)->up(seconds(20));
  auto sb = (*b)->up(seconds(20));
  CAF_REQUIRE(sa.ok() && sb.ok());
  std::set<std::string> names{sa->self->name, sb->self->name};
  CAF_CHECK_EQUAL(names, (std::set<std::string>{fqdn("web"), fqdn("web-1")}));
  // Each sees the other under its own name.
  auto other = (*a)->local_client();
  CAF_REQUIRE(wait_until([&] { return other.peer_by_name(sb->self->name).ok(); }, seconds(5)));
  auto seen = other.peer_by_name(sb->self->name);
  CAF_REQUIRE(seen.ok());
  auto id = (*seen)->id();
  CAF_CHECK_EQUAL(id, sb->self->id);
  CAF_CHECK_EQUAL(std::string{(*seen)->hostname()}, "web");
}

CAF_TEST_FIXTURE_SCOPE_END()
