// SPDX-License-Identifier: Apache-2.0
// Data-plane interop (issue 4): wireguard-go in a network namespace
// (scripts/wg-peer-netns.sh), registered in control as a WireGuard-only node;
// a tailfleet node fetches a page behind it, serves one to curl through it,
// and answers pings. Test thread only; skips only when not root or no netns.
#define CAF_SUITE dataplane_interop
#include <caf/test/unit_test_impl.hpp>

#include <unistd.h>

#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <string>

#include "nodes/local_client.hpp"
#include "runtime/counters.hpp"
#include "tests/integration/wg_interop_util.hpp"
#include "tests/support/bytes_of.hpp"
#include "tests/support/harness.hpp"

using namespace tf;
using namespace tf::test;
using namespace tf::wg::interop;
using namespace std::chrono;
using json = nlohmann::json;

namespace {

/// wg_tunnel_ip is wireguard-go's tunnel address, also its tailnet address.
constexpr const char* wg_tunnel_ip = "100.127.200.1";
constexpr const char* wg_hostname = "wgpeer";
constexpr uint16_t wg_http_port = 8000;
constexpr uint16_t node_http_port = 8080;
const std::string page_from_wg = "served by python inside the namespace\n";
const std::string page_from_node = "served by tailfleet through wireguard-go\n";

/// free_udp_port finds a port nobody uses now (for the node's own socket).
uint16_t free_udp_port() {
  udp_socket probe{"0.0.0.0"};
  return probe.ok() ? probe.port() : 0;
}

/// read_all reads until EOF, an error or the deadline.
std::string read_all(netstack::conn& c, netstack::deadline d) {
  std::string out;
  std::vector<uint8_t> buf(4096);
  for (;;) {
    auto n = c.read(buf, d);
    if (!n || *n == 0) {
      return out;
    }
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

/// body_of splits an HTTP response: the body if the status is 200, else "".
std::string body_of(const std::string& response) {
  auto end = response.find("\r\n\r\n");
  if (!response.starts_with("HTTP/1.") || end == std::string::npos
      || response.find(" 200 ") > response.find("\r\n")) {
    return {};
  }
  return response.substr(end + 4);
}

/// serve_one answers one HTTP/1.0 request on `l` with `page`; returns the
/// request line it got ("" when none came).
std::string serve_one(netstack::listener& l, const std::string& page) {
  auto c = l.accept(netstack::after(seconds(30)));
  if (!c) {
    CAF_MESSAGE("accept: " << c.error().message());
    return {};
  }
  std::string request;
  std::vector<uint8_t> buf(2048);
  while (request.find("\r\n\r\n") == std::string::npos) {
    auto n = c->read(buf, netstack::after(seconds(10)));
    if (!n || *n == 0) {
      return {};
    }
    request.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  auto reply = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
               + std::to_string(page.size()) + "\r\nConnection: close\r\n\r\n" + page;
  if (!c->write(bytes_of(reply), netstack::after(seconds(10)))) {
    return {};
  }
  (void)c->shutdown_write();
  read_all(*c, netstack::after(seconds(5))); // until curl closes
  return request.substr(0, request.find("\r\n"));
}

void log_counters() {
  for (auto& [name, value] : snapshot_counters()) {
    if (name.starts_with("tunnel_") || name.starts_with("wg_")) {
      CAF_MESSAGE("counter " << name << " = " << value);
    }
  }
}

/// CHECK_OR_RETURN checks `cond` and leaves the function when it fails (not
/// CAF_REQUIRE, which aborts: the namespace must be cleaned up on failure).
#define CHECK_OR_RETURN(cond)                                                  \
  do {                                                                         \
    bool ok_ = static_cast<bool>(cond);                                        \
    CAF_CHECK(ok_ && #cond);                                                   \
    if (!ok_) {                                                                \
      return;                                                                  \
    }                                                                          \
  } while (false)

struct interop_fixture : system_fixture {
  /// run_interop is the test body once wireguard-go is up.
  void run_interop(const std::string& script, peer_netns& ns) {
    auto wg_key = from_base64(value_of(ns.env, "WG_PUBKEY"));
    auto wg_endpoint = value_of(ns.env, "WG_ENDPOINT");
    auto local_ip = value_of(ns.env, "WG_LOCAL_IP");
    CHECK_OR_RETURN(wg_key.has_value() && !wg_endpoint.empty() && !local_ip.empty());
    CAF_MESSAGE("wireguard-go " << to_base64(*wg_key) << " at " << wg_endpoint);

    auto control = start_control(sys);
    CHECK_OR_RETURN(control.ok());
    CAF_MESSAGE("register wireguard-go as a WireGuard-only node");
    json body{{"user", test_user},
              {"hostname", wg_hostname},
              {"node_key", value_of(ns.env, "WG_PUBKEY")},
              {"endpoints", {wg_endpoint}},
              {"ipv4", wg_tunnel_ip}};
    auto added = (*control)->admin("POST", "/api/v1/nodes/wireguard-only", body.dump());
    CAF_MESSAGE("admin: " << added.status << " " << added.body);
    CHECK_OR_RETURN(added.status == 201);

    auto port = free_udp_port();
    CHECK_OR_RETURN(port != 0);
    auto node = start_node(sys, *control, "tfnode", [port](server_options& o) {
      o.port = port;
      o.in_memory_peers = false;
    });
    CHECK_OR_RETURN(node.ok());
    auto st = (*node)->local_client().status();
    CHECK_OR_RETURN(st.ok() && st->self != nullptr && !st->tailnet_ips.empty());
    auto node_ip = st->tailnet_ips.front().to_string();
    CAF_MESSAGE("tailfleet node " << node_ip << " on UDP " << port);
    auto lc = (*node)->local_client();
    CHECK_OR_RETURN(wait_until([&] { return lc.peer_by_name(wg_hostname).ok(); }, seconds(10)));

    auto node_key = to_base64(st->self->key.bytes());
    auto peer = run_command(script + " peer " + ns.name + " " + node_key + " " + node_ip
                            + "/32 " + local_ip + ":" + std::to_string(port));
    CHECK_OR_RETURN(peer.first == 0);

    fetch_from_namespace(script, ns, **node);
    serve_to_namespace(script, ns, **node, node_ip);
    ping_from_namespace(ns, node_ip);
    auto show = run_command(script + " show " + ns.name).second;
    CAF_MESSAGE("wireguard-go says:\n" << show);
    CAF_CHECK(show.find("latest handshake:") != std::string::npos);
    CAF_CHECK(show.find("endpoint: " + local_ip + ":" + std::to_string(port))
              != std::string::npos);
    log_counters();
    (void)(*node)->close();
  }

  /// fetch_from_namespace: the node GETs a page from http.server behind
  /// wireguard-go, by the WireGuard-only node's MagicDNS short name.
  void fetch_from_namespace(const std::string& script, peer_netns& ns, server& node) {
    CAF_MESSAGE("a. the node fetches a page from inside the namespace");
    temp_dir dir;
    std::ofstream{dir.str("hello.txt")} << page_from_wg;
    auto serve = run_command(script + " http-serve " + ns.name + " "
                             + std::to_string(wg_http_port) + " " + dir.str());
    CHECK_OR_RETURN(serve.first == 0);
    CAF_MESSAGE("http.server at " << value_of(serve.second, "WG_HTTP_URL"));
    auto c = node.dial("tcp", std::string{wg_hostname} + ":" + std::to_string(wg_http_port),
                       seconds(20));
    if (!c) {
      CAF_MESSAGE("dial: " << c.error().message());
      log_counters();
    }
    CHECK_OR_RETURN(c.ok());
    std::string req = "GET /hello.txt HTTP/1.0\r\nHost: wgpeer\r\n\r\n";
    CHECK_OR_RETURN(c->write(bytes_of(req), netstack::after(seconds(10))).ok());
    auto response = read_all(*c, netstack::after(seconds(20)));
    CAF_MESSAGE("response: " << response.substr(0, response.find("\r\n")));
    auto got = body_of(response);
    CAF_CHECK_EQUAL(got, page_from_wg);
  }

  /// serve_to_namespace: curl inside the namespace fetches the node's page
  /// through wireguard-go.
  void serve_to_namespace(const std::string& script, peer_netns& ns, server& node,
                          const std::string& node_ip) {
    CAF_MESSAGE("b. curl inside the namespace fetches the node's page");
    auto l = node.listen("tcp", ":" + std::to_string(node_http_port));
    CHECK_OR_RETURN(l.ok());
    auto url = "http://" + node_ip + ":" + std::to_string(node_http_port) + "/index.txt";
    auto curl = std::async(std::launch::async,
                           [&] { return run_command(script + " curl " + ns.name + " " + url); });
    auto request_line = serve_one(*l, page_from_node);
    auto [rc, out] = curl.get();
    l->close();
    CAF_CHECK_EQUAL(request_line, "GET /index.txt HTTP/1.1");
    CAF_CHECK_EQUAL(rc, 0);
    CAF_CHECK_EQUAL(out, page_from_node);
  }

  /// ping_from_namespace: the node's netstack answers ICMP echo.
  void ping_from_namespace(peer_netns& ns, const std::string& node_ip) {
    CAF_MESSAGE("c. the namespace pings the node");
    auto [rc, out] = run_command("ip netns exec " + value_of(ns.env, "WG_NETNS")
                                 + " ping -c 3 -W 2 " + node_ip + " 2>&1");
    CAF_MESSAGE("ping: " << out);
    CAF_CHECK_EQUAL(rc, 0);
    CAF_CHECK(out.find("3 received") != std::string::npos);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(dataplane_interop_tests, interop_fixture)

CAF_TEST(http_both_ways_and_ping_with_wireguard_go) {
  with_peer("tfdp", 16, wg_tunnel_ip,
            [this](const std::string& script, peer_netns& ns) { run_interop(script, ns); });
}

CAF_TEST_FIXTURE_SCOPE_END()
