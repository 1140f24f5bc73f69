// SPDX-License-Identifier: Apache-2.0
// udp_socket: the non-blocking UDP socket of a tunnel (dual-stack IPv6 with
// IPv4-mapped addresses, IPv4-only where IPv6 is off), with batched receive
// and send (recvmmsg/sendmmsg) and UDP segmentation offload (GSO/GRO) where
// the kernel has it. Owned by one tunnel; only its I/O thread
// reads and writes it. No CAF, no lwIP.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/ip.hpp"
#include "runtime/result.hpp"

namespace tf::tunnel {

/// max_datagram is the largest datagram received (WireGuard's 1280-byte
/// MTU plus 32 bytes of overhead fits many times over).
inline constexpr size_t max_datagram = 2048;

/// datagram is one received datagram (bytes point into the batch buffer).
struct datagram {
  std::span<const uint8_t> bytes;
  ip_endpoint from;
  bool truncated = false;
};

/// outgoing is one datagram to send.
struct outgoing {
  ip_endpoint to;
  std::vector<uint8_t> bytes;
};

class udp_socket {
public:
  /// open binds port `port` (0: any) on every address.
  static result<udp_socket> open(uint16_t port);

  udp_socket() = default;
  udp_socket(udp_socket&& other) noexcept;
  udp_socket& operator=(udp_socket&& other) noexcept;
  ~udp_socket();

  int fd() const noexcept { return fd_; }
  uint16_t port() const noexcept { return port_; }

  /// local_endpoints lists where peers can reach this socket: every IPv4
  /// address of an interface that is up, loopback last.
  std::vector<ip_endpoint> local_endpoints() const;

  /// receive_batch reads up to `max_batch` messages without blocking (with
  /// GRO each may hold several datagrams: all are split into `out`; empty:
  /// nothing pending). The spans stay valid until the next call.
  size_t receive_batch(std::vector<datagram>& out, size_t max_batch);

  /// send_batch sends every datagram (dropped and counted if the kernel
  /// refuses one: tunnel_tx_send_errors).
  void send_batch(std::span<const outgoing> batch);

private:
  int fd_ = -1;
  bool v6_ = false;
  bool gro_ = false;  // receive: the kernel may coalesce datagrams (UDP_GRO)
  bool gso_ = false;  // send: runs of equal datagrams go as one (UDP_SEGMENT)
  uint16_t port_ = 0;
  // Scratch of the batch calls, kept between calls (headers are rebuilt
  // each time, so moving the socket never leaves a dangling pointer).
  std::vector<uint8_t> rx_buf_;
  std::vector<uint8_t> rx_control_;
  struct rx_headers {
    std::vector<mmsghdr> msgs;
    std::vector<iovec> iovs;
    std::vector<sockaddr_storage> addrs;
  } rx_;
  std::vector<iovec> tx_iovs_;
};

} // namespace tf::tunnel
