// SPDX-License-Identifier: Apache-2.0
// Test-only: a control_conn client and server with their handshake done in
// memory, for the control_conn and wire codec suites. Single-threaded.
#pragma once

#include <caf/test/unit_test.hpp>

#include "runtime/control_conn.hpp"
#include "runtime/keys.hpp"

namespace tf::test {

struct control_conn_pair {
  machine_private_key server_key = machine_private_key::generate();
  control_conn client =
    control_conn::client(machine_private_key::generate(), server_key.public_key());
  control_conn server = control_conn::server(server_key);

  control_conn_pair() {
    control_conn::received rx;
    auto hello = client.start();
    CAF_REQUIRE(hello.ok());
    CAF_REQUIRE(server.feed(*hello, rx).ok());
    auto reply = rx.to_send;
    rx.clear();
    CAF_REQUIRE(client.feed(reply, rx).ok());
    CAF_REQUIRE(rx.established);
  }
};

} // namespace tf::test
