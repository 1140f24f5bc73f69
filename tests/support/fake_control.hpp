// SPDX-License-Identifier: Apache-2.0
// fake_control: Tailscale testcontrol's AltMapStream without the rest of a
// coordination server. It accepts one node and speaks the real control
// protocol with it over loopback TCP (preamble, Noise IK, frames, msgpack):
// registers it, answers its map request with a synthetic full netmap, then
// lets its owner write deltas straight into the socket -- from the thread
// the driver actor runs on, with no extra hand-off inside the benchmark
// (the node's I/O thread itself, which runs the driver next when the
// node's notify readies it; bench/giant_tailnet --driver-thread gives the
// driver a thread of its own, as a remote server's). Blocking sockets; one
// thread at a time uses it (setup, then the driver, then shutdown). Used
// by bench/giant_tailnet and tests/integration/control_backpressure_test.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "runtime/control_conn.hpp"
#include "runtime/result.hpp"
#include "runtime/wire.hpp"

namespace tf::test {

class fake_control {
public:
  /// self_id is the node id the fake gives its one node.
  static constexpr wire::node_id self_id = 1;

  static result<std::unique_ptr<fake_control>> listen();
  ~fake_control();

  /// url and public_key are what the node's server_options need.
  std::string url() const;
  const machine_public_key& public_key() const noexcept { return public_key_; }

  /// serve_node blocks until a node connected, registered and asked for its
  /// map stream, then sends `full` (its self node filled in here). Returns
  /// the time the first byte of the map was handed to the socket.
  result<std::chrono::steady_clock::time_point> serve_node(wire::map_response full);

  /// send writes messages back to back, 64 to a write.
  result<void> send(std::span<const wire::message> batch);

  /// send_encoded is send() for messages encoded ahead of time, as a
  /// server encodes a delta once for all its sessions and only frames and
  /// seals it per connection.
  result<void> send_encoded(std::span<const std::vector<uint8_t>> batch);

  /// answer_logout reads until the node's logout request and confirms it,
  /// for at most `limit` (call while the node closes).
  void answer_logout(std::chrono::milliseconds limit);

private:
  fake_control() = default;

  result<void> write_all(const std::vector<uint8_t>& bytes);
  result<wire::message> read_message();

  int listen_fd_ = -1;
  int fd_ = -1;
  uint16_t port_ = 0;
  machine_private_key key_;
  machine_public_key public_key_;
  std::optional<control_conn> conn_;
  control_conn::received rx_;
  size_t rx_next_ = 0;  // next message of rx_ to hand out
  std::vector<uint8_t> tx_;  // send()'s sealed records, reused
};

} // namespace tf::test
