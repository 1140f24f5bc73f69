// SPDX-License-Identifier: Apache-2.0
// UDP between nodes of the shared stack over the in-memory switchboard:
// datagrams both ways over IPv4 and IPv6, port choice, size limit, the
// bounded receive queue, and timeouts.
#define CAF_SUITE netstack_udp
#include <caf/test/unit_test_impl.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "netstack/netstack.hpp"
#include "runtime/counters.hpp"
#include "tests/netstack/switchboard.hpp"
#include "tests/support/bytes_of.hpp"

using namespace tf;
using namespace tf::netstack;
using namespace tf::netstack::testing;
using namespace std::chrono_literals;
using tf::test::bytes_of;

namespace {

struct fixture : node_pair {
  fixture() : node_pair(0x5000) {}
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(udp, fixture)

CAF_TEST(datagrams_both_ways) {
  auto ua = listen_udp(a, {ip_addr{}, 0});
  auto ub = listen_udp(b, {ip_addr{}, 5353});
  CAF_REQUIRE(ua.ok() && ub.ok());
  CAF_CHECK(ua->port() >= 10002 && ua->port() <= 19999);
  for (bool six : {false, true}) {
    CAF_MESSAGE("case " << (six ? "ipv6" : "ipv4"));
    const ip_addr& to_b = six ? b6 : b4;
    for (int i = 0; i < 10; ++i) {
      CAF_REQUIRE(ua->send_to(bytes_of("ping " + std::to_string(i)), {to_b, 5353}).ok());
    }
    std::vector<uint8_t> buf(1500);
    for (int i = 0; i < 10; ++i) {
      auto r = ub->recv_from(buf, after(5s));
      CAF_REQUIRE(r.ok());
      std::string got(reinterpret_cast<const char*>(buf.data()), r->len);
      CAF_CHECK_EQUAL(got, "ping " + std::to_string(i));
      ip_endpoint want_from{six ? a6 : a4, ua->port()};
      CAF_CHECK_EQUAL(r->from.to_string(), want_from.to_string());
      CAF_CHECK(ub->send_to(bytes_of("pong " + got), r->from).ok());
    }
    for (int i = 0; i < 10; ++i) {
      auto r = ua->recv_from(buf, after(5s));
      CAF_REQUIRE(r.ok());
      std::string got(reinterpret_cast<const char*>(buf.data()), r->len);
      CAF_CHECK_EQUAL(got, "pong ping " + std::to_string(i));
      CAF_CHECK_EQUAL(r->from.port, 5353);
    }
  }
}

CAF_TEST(limits_and_timeouts) {
  auto ua = listen_udp(a, {a4, 7000});
  auto ub = listen_udp(b, {b4, 7000});
  CAF_REQUIRE(ua.ok() && ub.ok());
  CAF_CHECK_EQUAL(listen_udp(a, {a4, 7000}).code(), errc::invalid_argument); // in use
  CAF_CHECK_EQUAL(listen_udp(a, {b4, 7001}).code(), errc::invalid_argument); // not a's
  std::vector<uint8_t> big(1253, 1);
  CAF_CHECK_EQUAL(ua->send_to(big, {b4, 7000}).code(), errc::invalid_argument);
  big.resize(1252);
  CAF_CHECK(ua->send_to(big, {b4, 7000}).ok()); // exactly the IPv4 maximum
  CAF_CHECK_EQUAL(ua->send_to(big, {b6, 7000}).code(), errc::invalid_argument); // bound to v4 only
  std::vector<uint8_t> small(100);
  auto r = ub->recv_from(small, after(5s));
  CAF_REQUIRE(r.ok());
  CAF_CHECK_EQUAL(r->len, 100u);
  CAF_CHECK(r->truncated);
  auto t0 = std::chrono::steady_clock::now();
  CAF_CHECK_EQUAL(ub->recv_from(small, after(100ms)).code(), errc::timeout);
  CAF_CHECK(std::chrono::steady_clock::now() - t0 >= 100ms);
  // Nobody reads: the queue keeps 512 datagrams and drops the rest.
  auto full = counter_value("netstack_udp_rx_queue_full");
  for (int i = 0; i < 600; ++i) {
    CAF_REQUIRE(ua->send_to(small, {b4, 7000}).ok());
  }
  std::this_thread::sleep_for(200ms);
  CAF_CHECK_EQUAL(counter_value("netstack_udp_rx_queue_full"), full + 88);
  size_t queued = 0;
  while (ub->recv_from(small, after(50ms)).ok()) {
    ++queued;
  }
  CAF_CHECK_EQUAL(queued, udp_core::max_queued);
  ub->close();
  CAF_CHECK_EQUAL(ub->recv_from(small, after(1s)).code(), errc::closed);
  CAF_CHECK_EQUAL(num_pcbs_at(b4), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
