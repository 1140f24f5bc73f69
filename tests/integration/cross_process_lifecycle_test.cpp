// SPDX-License-Identifier: Apache-2.0
// Connection lifecycles between two processes: this test's node and a
// tests/support/lifecycle_peer child, joined to a real coordination server,
// talking WireGuard over loopback UDP. The child resets a connection,
// closes a listener with connections waiting in its queue, and answers
// after the test's half-close; each ends here as a clean error or EOF.
#define CAF_SUITE cross_process_lifecycle
#include <caf/test/unit_test_impl.hpp>

#include <string>
#include <vector>

#include "tests/support/bytes_of.hpp"
#include "tests/support/test_argument.hpp"
#include "tests/support/two_process.hpp"

using namespace tf;
using namespace tf::test;
using namespace std::chrono;

namespace {

struct lifecycle_fixture : two_process_fixture {
  lifecycle_fixture() {
    start([](const server_options& opts) {
      return std::vector<std::string>{test_argument(), "--control-url", opts.control_url,
                                      "--auth-key", opts.auth_key, "--hostname", "remote"};
    }, "ready");
  }

  ~lifecycle_fixture() {
    if (child)
      child->terminate();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(cross_process_lifecycle_tests, lifecycle_fixture)

CAF_TEST(reset_listener_close_and_half_close_across_processes) {
  std::vector<uint8_t> buf(64);
  CAF_MESSAGE("the child resets: our read and write fail with connection_lost");
  {
    auto c = local->dial("tcp", "remote:7101", seconds(20));
    CAF_REQUIRE(c.ok());
    CAF_REQUIRE(c->write(bytes_of("x")).ok());
    CAF_CHECK_EQUAL(c->read(buf, netstack::after(seconds(10))).code(), errc::connection_lost);
    CAF_CHECK_EQUAL(c->write(bytes_of("y")).code(), errc::connection_lost);
  }
  CAF_MESSAGE("the child closes a listener: what waited in its queue is reset");
  {
    std::vector<netstack::conn> waiting;
    for (int i = 0; i < 3; ++i) {
      auto c = local->dial("tcp", "remote:7102", seconds(20));
      CAF_REQUIRE(c.ok());
      waiting.push_back(std::move(*c));
    }
    auto trigger = local->dial("tcp", "remote:7103", seconds(20));
    CAF_REQUIRE(trigger.ok());
    for (auto& c : waiting)
      CAF_CHECK_EQUAL(c.read(buf, netstack::after(seconds(10))).code(), errc::connection_lost);
    CAF_CHECK(!local->dial("tcp", "remote:7102", seconds(5)).ok()); // refused now
  }
  CAF_MESSAGE("half-close: after our FIN the child still answers, then ends");
  {
    auto c = local->dial("tcp", "remote:7104", seconds(20));
    CAF_REQUIRE(c.ok());
    std::string data(10000, 'h');
    CAF_REQUIRE(c->write(bytes_of(data)).ok());
    CAF_REQUIRE(c->shutdown_write().ok());
    std::string got;
    for (;;) {
      auto n = c->read(buf, netstack::after(seconds(10)));
      if (!n || *n == 0) {
        CAF_CHECK(n.ok()); // EOF, not an error
        break;
      }
      got.append(reinterpret_cast<char*>(buf.data()), *n);
    }
    CAF_CHECK_EQUAL(got, "got 10000 bytes");
  }
}

CAF_TEST_FIXTURE_SCOPE_END()
