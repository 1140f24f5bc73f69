// SPDX-License-Identifier: Apache-2.0
// Test and benchmark support: a control_conn client and server with their Noise
// handshake done in memory, no sockets. Single-threaded, like the conns.
#pragma once

#include "runtime/control_conn.hpp"
#include "runtime/result.hpp"

namespace tf::test {

struct connected_conns {
  control_conn client;
  control_conn server;
};

/// connect_in_memory makes a client and a server with fresh machine keys
/// and runs the handshake between them.
result<connected_conns> connect_in_memory();

} // namespace tf::test
