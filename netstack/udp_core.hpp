// SPDX-License-Identifier: Apache-2.0
// udp_core: a node's UDP socket (one lwIP pcb per node address) with a
// bounded datagram queue: when it is full, new datagrams are dropped and
// counted. _locked functions need the core lock; on_datagram runs with it
// held and must not block.
#pragma once

#include <array>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "netstack/socket_base.hpp"
#include "netstack/stack.hpp"
#include "runtime/ip.hpp"
#include "runtime/result.hpp"

struct udp_pcb;

namespace tf::netstack {

/// datagram is one received UDP payload and its sender.
struct datagram {
  ip_endpoint from;
  std::vector<uint8_t> payload;
};

/// udp_core is one UDP socket. Shared ownership; the last owner's release
/// closes it.
class udp_core : public detail::socket_base {
public:
  /// max_queued / max_queued_bytes bound the receive queue.
  static constexpr size_t max_queued = 512;
  static constexpr size_t max_queued_bytes = 1 << 20;

  /// open_locked binds `local` (unspecified = all node addresses; port 0 =
  /// a free port in 10002-19999).
  static result<std::shared_ptr<udp_core>> open_locked(node_id node, const ip_endpoint& local);
  ~udp_core() override;

  /// pop_locked takes the oldest queued datagram, if any.
  std::optional<datagram> pop_locked();
  /// send_to_locked sends one datagram (at most mtu minus headers: 1252
  /// bytes over IPv4, 1232 over IPv6; larger ones are refused, never
  /// fragmented).
  result<void> send_to_locked(std::span<const uint8_t> payload, const ip_endpoint& to);
  const failure* error_locked() const noexcept { return error_ ? &*error_ : nullptr; }
  uint16_t port() const noexcept { return port_; }

  /// set_on_datagram_locked hands every datagram (queued ones first) to
  /// `fn` instead of the queue; fn runs with the core lock held.
  void set_on_datagram_locked(std::function<void(datagram)> fn);

  void close_locked(failure why);
  std::condition_variable_any& cv() noexcept { return cv_; }
  void node_gone_locked() override;

private:
  udp_core() = default;
  friend struct udp_callbacks;

  std::array<udp_pcb*, 2> pcbs_{};
  std::vector<ip_addr> claims_; // (address, port_) pairs claimed in bind.cpp's table
  detail::node_state* node_ = nullptr;
  uint16_t port_ = 0;
  std::deque<datagram> queue_;
  size_t queued_bytes_ = 0;
  std::function<void(datagram)> on_datagram_;
  std::optional<failure> error_;
  std::condition_variable_any cv_;
};

} // namespace tf::netstack
