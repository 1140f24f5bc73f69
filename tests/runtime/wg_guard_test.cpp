// SPDX-License-Identifier: Apache-2.0
// runtime/wg/handshake_guard: when handshakes need cookies (load), and how
// many a source may start while they do (token buckets per address, IPv6
// by /64). The clock is a plain value; nothing sleeps.
#define CAF_SUITE wg_guard
#include <caf/test/unit_test_impl.hpp>

#include "runtime/ip.hpp"
#include "runtime/wg/device.hpp"
#include "runtime/wg/handshake_guard.hpp"

using namespace tf;
using namespace tf::wg;
using namespace std::chrono_literals;

namespace {

const time_point t0 = time_point{} + std::chrono::hours{1};

source_address from(const char* endpoint) {
  return source_address::from(*ip_endpoint::parse(endpoint));
}

} // namespace

CAF_TEST(load_comes_past_the_threshold_and_holds_a_while) {
  handshake_load load{4, 100ms, 1s};
  for (int i = 0; i < 4; ++i)
    CAF_CHECK(!load.note(t0 + std::chrono::milliseconds{i}));
  CAF_CHECK(load.note(t0 + 5ms)); // the fifth within 100 ms
  CAF_CHECK(load.under_load(t0 + 900ms));
  CAF_CHECK(!load.under_load(t0 + 1006ms));
  CAF_MESSAGE("the same number spread over windows is no load");
  handshake_load calm{4, 100ms, 1s};
  for (int i = 0; i < 20; ++i)
    CAF_CHECK(!calm.note(t0 + std::chrono::milliseconds{30 * i}));
}

CAF_TEST(a_source_gets_its_burst_then_its_rate) {
  handshake_rate_limiter limit{20, 5};
  auto a = from("192.0.2.1:51820");
  for (int i = 0; i < 5; ++i)
    CAF_CHECK(limit.allow(a.span(), t0));
  CAF_CHECK(!limit.allow(a.span(), t0));
  CAF_CHECK(!limit.allow(a.span(), t0 + 40ms));  // 1/20 s is 50 ms
  CAF_CHECK(limit.allow(a.span(), t0 + 51ms));
  CAF_CHECK(!limit.allow(a.span(), t0 + 52ms));
  CAF_MESSAGE("another port of the same address shares its bucket");
  CAF_CHECK(!limit.allow(from("192.0.2.1:40000").span(), t0 + 53ms));
  CAF_MESSAGE("another address has a bucket of its own");
  CAF_CHECK(limit.allow(from("192.0.2.2:51820").span(), t0 + 53ms));
  CAF_MESSAGE("a quiet second fills the bucket again");
  for (int i = 0; i < 5; ++i)
    CAF_CHECK(limit.allow(a.span(), t0 + 2s));
  CAF_CHECK(!limit.allow(a.span(), t0 + 2s));
}

CAF_TEST(ipv6_sources_are_limited_by_their_64) {
  handshake_rate_limiter limit{20, 1};
  CAF_CHECK(limit.allow(from("[2001:db8:1:2::1]:51820").span(), t0));
  CAF_CHECK(!limit.allow(from("[2001:db8:1:2::99]:51820").span(), t0));
  CAF_CHECK(limit.allow(from("[2001:db8:1:3::1]:51820").span(), t0));
}

CAF_TEST(idle_sources_are_swept_and_the_table_is_bounded) {
  handshake_rate_limiter limit{20, 5, 3};
  CAF_CHECK(limit.allow(from("192.0.2.1:1").span(), t0));
  CAF_CHECK(limit.allow(from("192.0.2.2:1").span(), t0));
  CAF_CHECK(limit.allow(from("192.0.2.3:1").span(), t0));
  CAF_CHECK(!limit.allow(from("192.0.2.4:1").span(), t0)); // table full
  CAF_CHECK_EQUAL(limit.num_sources(), 3u);
  CAF_CHECK(limit.allow(from("192.0.2.4:1").span(), t0 + 2s)); // the idle ones went
  CAF_CHECK_EQUAL(limit.num_sources(), 1u);
}
