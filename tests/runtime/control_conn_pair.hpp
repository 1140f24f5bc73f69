// SPDX-License-Identifier: Apache-2.0
// Test-only: a control_conn client and server with their handshake done in
// memory (test::connect_in_memory), for the control_conn and wire codec
// suites; a failed handshake fails the test. Single-threaded.
#pragma once

#include <caf/test/unit_test.hpp>

#include <utility>

#include "tests/support/connected_conns.hpp"

namespace tf::test {

struct control_conn_pair : connected_conns {
  control_conn_pair() : connected_conns{established()} {}

private:
  static connected_conns established() {
    auto conns = connect_in_memory();
    CAF_REQUIRE(conns.ok());
    return std::move(*conns);
  }
};

} // namespace tf::test
