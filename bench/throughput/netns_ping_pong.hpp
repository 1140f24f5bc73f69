// SPDX-License-Identifier: Apache-2.0
// Request/response latency over the kernel's TCP between two network
// namespaces, measured from this process: sockets are created inside the
// namespaces (setns on a short-lived thread), then used from here. One call
// owns its sockets and its echo thread and joins it before returning; never
// changes the namespace of the calling thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/result.hpp"

namespace tf::bench {

/// socket_in_netns returns a new IPv4 socket of `type` (SOCK_STREAM, ...)
/// that lives in the network namespace `netns` (/var/run/netns/<netns>).
/// Needs CAP_SYS_ADMIN. The caller owns (closes) the descriptor. Fails with
/// io_error.
result<int> socket_in_netns(const std::string& netns, int type);

/// ping_pong_options says where the echo server listens and what to send.
struct ping_pong_options {
  /// client_netns and server_netns are namespace names (ip netns).
  std::string client_netns;
  std::string server_netns;
  /// server_ip:port is where the echo server listens (inside server_netns)
  /// and what the client connects to (from client_netns).
  std::string server_ip;
  uint16_t port = 9000;
  /// round_trips are timed; warmup_round_trips before them are not.
  size_t round_trips = 2000;
  size_t warmup_round_trips = 100;
  /// message_len is the size of each request and response.
  size_t message_len = 64;
  /// io_timeout bounds connect, accept and every read and write.
  std::chrono::milliseconds io_timeout{5000};
};

/// tcp_ping_pong runs an echo server and a client with TCP_NODELAY and
/// returns one round-trip time in microseconds per timed exchange. Fails
/// (io_error, timeout) when a socket cannot be made, the connection fails,
/// or a reply is short or late.
result<std::vector<double>> tcp_ping_pong(const ping_pong_options& opt);

} // namespace tf::bench
