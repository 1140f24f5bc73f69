// SPDX-License-Identifier: Apache-2.0
// Two nodes in two processes: this test's node and a `tailfleet up --echo`
// child, joined to a real coordination server, talking WireGuard over
// loopback UDP. TCP echo of 100 MB with a checksum, 1,000 concurrent
// connections, UDP datagrams, then the child leaves: the test's connections
// to it fail cleanly and its session is torn down.
#define CAF_SUITE cross_process
#include <caf/test/unit_test_impl.hpp>

#include <future>
#include <string>
#include <thread>
#include <vector>

#include "nodes/local_client.hpp"
#include "runtime/counters.hpp"
#include "tests/netstack/stream_util.hpp"
#include "tests/support/bytes_of.hpp"
#include "tests/support/test_argument.hpp"
#include "tests/support/two_process.hpp"

using namespace tf;
using namespace tf::test;
using namespace tf::netstack::testing;
using namespace std::chrono;

namespace {

constexpr size_t echo_bytes = 100u << 20;
constexpr int echo_port = 7000;

struct echo_child_fixture : two_process_fixture {
  echo_child_fixture() {
    start([](const server_options& opts) {
      return std::vector<std::string>{test_argument(), "up", "--ephemeral", "--mem", "--hostname",
                                      "remote", "--control-url", opts.control_url, "--auth-key",
                                      opts.auth_key, "--echo", std::to_string(echo_port)};
    }, "echo: TCP");
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(cross_process_tests, echo_child_fixture)

CAF_TEST(tcp_echo_100_mb_udp_and_a_leaving_peer) {
  auto datagrams = get_counter("tunnel_tx_datagrams").value();
  auto target = "remote:" + std::to_string(echo_port);
  {
    auto c = local->dial("tcp", target, seconds(20));
    CAF_REQUIRE(c.ok());
    auto sent = std::async(std::launch::async, [&] {
      auto h = send_stream(*c, 11, echo_bytes);
      (void)c->shutdown_write();
      return h;
    });
    auto got = drain(*c, netstack::after(seconds(120)));
    auto sent_hash = sent.get();
    CAF_CHECK_NOT_EQUAL(sent_hash, 0u);
    CAF_CHECK_EQUAL(got.end, errc::ok);
    CAF_CHECK_EQUAL(got.bytes, echo_bytes);
    CAF_CHECK_EQUAL(got.hash, sent_hash);
  }
  // It crossed the process boundary as WireGuard datagrams.
  CAF_CHECK_GREATER(get_counter("tunnel_tx_datagrams").value(), datagrams + echo_bytes / 1240);

  CAF_MESSAGE("UDP datagrams to the child's echo port come back");
  auto pc = local->listen_packet("udp", ":0");
  CAF_REQUIRE(pc.ok());
  auto remote_ip = (*local->local_client().peer_by_name("remote"))->v4();
  std::vector<uint8_t> buf(2048);
  size_t answered = 0;
  for (int i = 0; i < 100 && answered < 10; ++i) {
    std::string msg = "datagram " + std::to_string(i);
    CAF_REQUIRE(pc->send_to(bytes_of(msg), {remote_ip, echo_port}).ok());
    auto got = pc->recv_from(buf, netstack::after(milliseconds(500)));
    if (got && std::string(reinterpret_cast<char*>(buf.data()), got->len) == msg)
      ++answered;
  }
  CAF_CHECK_EQUAL(answered, 10u);

  CAF_MESSAGE("1,000 concurrent connections, each echoing its own message");
  constexpr size_t num_conns = 1000;
  std::vector<netstack::conn> conns;
  for (size_t i = 0; i < num_conns; ++i) {
    auto c = local->dial("tcp", target, seconds(30));
    if (!c) {
      CAF_FAIL("dial " << i << ": " << c.error().message());
    }
    conns.push_back(std::move(*c));
  }
  auto echoed = echo_on_each(conns, netstack::after(seconds(60)));
  CAF_CHECK_EQUAL(echoed, num_conns);

  CAF_MESSAGE("the child leaves (SIGTERM: logout); its connections fail cleanly");
  auto removed = get_counter("tunnel_peers_removed").value();
  CAF_CHECK_EQUAL(child->terminate(), 0);
  CAF_CHECK(wait_until([&] { return !local->local_client().peer_by_name("remote").ok(); },
                       seconds(10)));
  CAF_CHECK(wait_until([&] { return get_counter("tunnel_peers_removed").value() > removed; },
                       seconds(10)));
  // The peer is gone from the netmap: new dials are refused at once.
  auto again = local->dial("tcp", target, seconds(5));
  CAF_CHECK(!again.ok());
  // Open connections end (the child's RST, or the peer's removal), never
  // hang: a read returns an error or EOF well before the shared deadline.
  auto deadline = netstack::after(seconds(20));
  size_t ended = 0;
  for (auto& c : conns) {
    auto n = c.read(buf, deadline);
    ended += (!n.ok() && n.code() != errc::timeout) || (n.ok() && *n == 0) ? 1 : 0;
  }
  CAF_CHECK_EQUAL(ended, num_conns);
  for (auto& c : conns)
    c.close();
}

CAF_TEST_FIXTURE_SCOPE_END()
