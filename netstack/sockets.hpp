// SPDX-License-Identifier: Apache-2.0
// The blocking socket API of a node: TCP connections, listeners, UDP
// sockets, with deadlines and errors as tf::result values. Thread rule: any
// thread except the tcpip thread may call these, but never from inside an
// output sink or an event callback (such calls fail with invalid_argument
// instead of deadlocking). One object may be used by two threads at once
// (e.g. one reading, one writing); close() may come from a third.
#pragma once

#include <chrono>
#include <memory>
#include <span>

#include "netstack/stack.hpp"
#include "netstack/tcp_core.hpp"
#include "netstack/tcp_listener_core.hpp"
#include "netstack/udp_core.hpp"

namespace tf::netstack {

using clock = std::chrono::steady_clock;
/// deadline is an absolute point in time; no_deadline waits forever.
using deadline = clock::time_point;
inline constexpr deadline no_deadline = deadline::max();

/// after returns the deadline `d` from now.
inline deadline after(clock::duration d) {
  return clock::now() + d;
}

/// conn is a TCP connection. Errors: errc::timeout (deadline passed,
/// nothing done), errc::closed (closed locally, node removed),
/// errc::connection_lost (reset or refused by the peer, retransmission
/// timeout; the detail says which). Destroying it closes it.
class conn {
public:
  /// receive_buffer bounds the bytes a connection holds for its reader
  /// once it reads through conn. Beyond the TCP window the peer's data is
  /// acked on arrival, so a sender streams on while the reader wakes up
  /// (a kernel socket's SO_RCVBUF; gVisor's netstack in Tailscale defaults
  /// to 1 MiB as well), and the window doubles to 128 KiB (see
  /// tcp_core::set_receive_buffer_locked). Writing through conn doubles
  /// the send buffer likewise.
  static constexpr size_t receive_buffer = 1024 * 1024;

  conn() = default;
  explicit conn(std::shared_ptr<tcp_core> core) : core_(std::move(core)) {}

  bool valid() const noexcept { return core_ != nullptr; }

  /// read waits for data and copies at most buf.size() bytes; 0 means EOF
  /// (the peer finished sending and every byte was read).
  result<size_t> read(std::span<uint8_t> buf, deadline d = no_deadline);
  /// write queues all of `data` (waiting for send-buffer space); when the
  /// deadline or an error stops it midway it returns the bytes queued so
  /// far, and the error only when nothing was queued.
  result<size_t> write(std::span<const uint8_t> data, deadline d = no_deadline);
  /// shutdown_write sends FIN after queued data; reading goes on.
  result<void> shutdown_write();
  /// close closes both directions (an RST instead of FIN if unread data
  /// remains). Idempotent.
  void close();
  /// abort resets the connection (RST).
  void abort();

  ip_endpoint local_endpoint() const { return core_ ? core_->local() : ip_endpoint{}; }
  ip_endpoint remote_endpoint() const { return core_ ? core_->remote() : ip_endpoint{}; }

  /// release hands the core over (to fd_bridge or an actor) with its
  /// receive buffer back at one window (they bring their own; a window
  /// already widened by reads stays wide); *this is empty.
  std::shared_ptr<tcp_core> release() &&;

private:
  std::shared_ptr<tcp_core> core_;
};

/// listener accepts TCP connections for one node and port.
class listener {
public:
  listener() = default;
  explicit listener(std::shared_ptr<tcp_listener_core> core) : core_(std::move(core)) {}

  /// accept waits for the next connection; errc::closed once closed.
  result<conn> accept(deadline d = no_deadline);
  /// close stops listening; pending connections are reset, waiters fail.
  void close();
  uint16_t port() const noexcept { return core_ ? core_->port() : 0; }

  /// release hands the core over (to an actor); *this is empty.
  std::shared_ptr<tcp_listener_core> release() && { return std::move(core_); }

private:
  std::shared_ptr<tcp_listener_core> core_;
};

/// received says what recv_from got.
struct received {
  size_t len = 0;          // bytes copied
  ip_endpoint from;
  bool truncated = false;  // the datagram was longer than the buffer
};

/// packet_conn is a UDP socket of one node.
class packet_conn {
public:
  packet_conn() = default;
  explicit packet_conn(std::shared_ptr<udp_core> core) : core_(std::move(core)) {}

  /// recv_from waits for one datagram and copies it into `buf`.
  result<received> recv_from(std::span<uint8_t> buf, deadline d = no_deadline);
  /// send_to sends one datagram (see udp_core::send_to_locked for limits).
  result<void> send_to(std::span<const uint8_t> payload, const ip_endpoint& to);
  void close();
  uint16_t port() const noexcept { return core_ ? core_->port() : 0; }

private:
  std::shared_ptr<udp_core> core_;
};

/// listen_tcp listens on `local`: an unspecified address means the node's
/// own addresses (IPv4 and IPv6), never anyone else's; port 0 picks a free
/// port in 10002-19999.
result<listener> listen_tcp(node_id node, const ip_endpoint& local);

/// dial_tcp connects from the node to `remote`, waiting until `d`.
result<conn> dial_tcp(node_id node, const ip_endpoint& remote, deadline d = no_deadline);

/// listen_udp opens a UDP socket (address and port rules as listen_tcp).
result<packet_conn> listen_udp(node_id node, const ip_endpoint& local);

} // namespace tf::netstack
