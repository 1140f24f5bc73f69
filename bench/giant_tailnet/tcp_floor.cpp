// SPDX-License-Identifier: Apache-2.0
// The TCP ping-pong floor. Two threads, blocking sockets, TCP_NODELAY.
#include "bench/giant_tailnet/tcp_floor.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "runtime/tcp_listen.hpp"

namespace tf::bench {

namespace {

bool read_full(int fd, char* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    auto n = ::read(fd, buf + got, len - got);
    if (n <= 0)
      return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

bool write_full(int fd, const char* buf, size_t len) {
  size_t put = 0;
  while (put < len) {
    auto n = ::write(fd, buf + put, len - put);
    if (n <= 0)
      return false;
    put += static_cast<size_t>(n);
  }
  return true;
}

void set_blocking_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

} // namespace

std::vector<double> tcp_ping_pong(size_t frame_len, size_t rounds, size_t warmup) {
  auto listener = listen_tcp("127.0.0.1", 0);
  if (!listener)
    throw std::runtime_error(listener.error().message());
  int lfd = listener->fd;
  // The listener is non-blocking; accept in the echo thread with a poll loop.
  std::thread echo{[lfd, frame_len, total = rounds + warmup] {
    int fd = -1;
    while (fd < 0)
      fd = ::accept4(lfd, nullptr, nullptr, 0);
    set_blocking_nodelay(fd);
    std::vector<char> buf(frame_len);
    for (size_t i = 0; i < total; ++i)
      if (!read_full(fd, buf.data(), frame_len) || !write_full(fd, buf.data(), frame_len))
        break;
    ::close(fd);
  }};
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(listener->port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0)
    throw std::runtime_error("tcp floor: connect failed");
  set_blocking_nodelay(fd);
  std::vector<char> buf(frame_len, 'x');
  std::vector<double> out;
  out.reserve(rounds);
  for (size_t i = 0; i < rounds + warmup; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (!write_full(fd, buf.data(), frame_len) || !read_full(fd, buf.data(), frame_len))
      break;
    auto dt = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0);
    if (i >= warmup)
      out.push_back(dt.count());
  }
  ::close(fd);
  echo.join();
  ::close(lfd);
  return out;
}

} // namespace tf::bench
