// SPDX-License-Identifier: Apache-2.0
// echo_service: a TCP and UDP echo (or discard) server on one port of a node's tailnet
// addresses (`tailfleet up --echo PORT`, tests, benchmarks). Its own threads
// run the blocking netstack API; stop() (or the destructor) closes the
// sockets and joins them. Create and stop it from one thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "nodes/server.hpp"

namespace tf {

class echo_service {
public:
  /// mode: echo copies every byte back (RFC 862); discard reads and drops
  /// them, closing its side once the client finished (RFC 863).
  enum class mode : uint8_t { echo, discard };

  /// start listens on `port` (TCP and UDP) of `node`, which must be up.
  static result<std::unique_ptr<echo_service>> start(server& node, uint16_t port,
                                                     mode m = mode::echo);

  ~echo_service();
  echo_service(const echo_service&) = delete;
  echo_service& operator=(const echo_service&) = delete;

  /// stop closes the listener, the UDP socket and every connection.
  void stop();

  uint16_t port() const noexcept { return port_; }
  uint64_t connections() const noexcept { return connections_.load(); }

private:
  echo_service() = default;
  void accept_loop();
  void udp_loop();

  uint16_t port_ = 0;
  mode mode_ = mode::echo;
  netstack::listener listener_;
  netstack::packet_conn udp_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> connections_{0};
  std::thread acceptor_;
  std::thread udp_thread_;
  std::mutex mu_;
  std::vector<std::shared_ptr<netstack::conn>> open_;  // guarded by mu_
  std::vector<std::thread> workers_;                    // guarded by mu_
};

} // namespace tf
