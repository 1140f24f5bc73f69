// SPDX-License-Identifier: Apache-2.0
// tcp_listener_core: a node's TCP listener (one lwIP listening pcb per node
// address, one accept queue). The callback face under the blocking
// listener API. _locked functions need the core lock; on_accept runs with
// it held. Never accepts for an address that is not the node's own.
#pragma once

#include <array>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "netstack/tcp_core.hpp"

namespace tf::netstack {

/// tcp_listener_core accepts connections for one node and port. Shared
/// ownership; the last owner's release closes it.
class tcp_listener_core : public detail::socket_base {
public:
  /// max_pending bounds the accept queue. While it is full, SYNs for the
  /// listener are dropped and counted (netstack_tcp_syn_dropped_queue_full)
  /// and the dialer retries after its SYN timeout, as on Linux; a handshake
  /// already under way when the queue filled is reset and counted
  /// (netstack_tcp_accept_queue_full). Linux's somaxconn is 4096; 128 reset
  /// connections of a burst of 1,000 dials whose accepting thread (a thread
  /// per connection) fell behind under load (cross_process_test in CI).
  /// Each queued connection may hold up to its receive window of data
  /// until accepted.
  static constexpr size_t max_pending = 1024;

  /// open_locked listens on `local` (unspecified address = all of the node's
  /// addresses; port 0 = a free port in 10002-19999).
  static result<std::shared_ptr<tcp_listener_core>> open_locked(node_id node,
                                                                const ip_endpoint& local);
  ~tcp_listener_core() override;

  /// pop_locked takes the oldest accepted connection (nullptr when none).
  std::shared_ptr<tcp_core> pop_locked();
  /// error_locked is set once the listener closed (errc::closed).
  const failure* error_locked() const noexcept { return error_ ? &*error_ : nullptr; }
  uint16_t port() const noexcept { return port_; }

  /// set_on_accept_locked hands every accepted connection (queued ones
  /// first) to `fn` instead of the queue; fn runs with the core lock held.
  void set_on_accept_locked(std::function<void(std::shared_ptr<tcp_core>)> fn);

  /// set_on_ready_locked installs `fn` (empty to stop): it runs with the
  /// core lock held each time a connection joins the accept queue and when
  /// the listener closes, and once at installation if either already
  /// happened. Connections stay queued (bounded by max_pending) until
  /// pop_locked takes them: the pull-based hook of the actor face
  /// (actors/net_listener.hpp). fn must not block or call
  /// set_on_ready_locked.
  void set_on_ready_locked(std::function<void()> fn);
  /// num_pending_locked is the number of queued, unaccepted connections.
  size_t num_pending_locked() const noexcept { return pending_.size(); }

  /// close_locked stops listening; queued connections are reset.
  void close_locked(failure why);

  std::condition_variable_any& cv() noexcept { return cv_; }
  void node_gone_locked() override;
  bool refuses_connections_locked() const override {
    return !on_accept_ && pending_.size() >= max_pending;
  }

private:
  tcp_listener_core() = default;
  friend struct tcp_listener_callbacks;

  std::array<tcp_pcb*, 2> pcbs_{};
  std::vector<ip_addr> claims_; // (address, port_) pairs claimed in bind.cpp's table
  detail::node_state* node_ = nullptr;
  uint16_t port_ = 0;
  std::deque<std::shared_ptr<tcp_core>> pending_;
  std::function<void(std::shared_ptr<tcp_core>)> on_accept_;
  std::function<void()> on_ready_;
  std::optional<failure> error_;
  std::condition_variable_any cv_;
};

} // namespace tf::netstack
