// SPDX-License-Identifier: Apache-2.0
// Non-blocking connect. Pure system calls; any thread.
#include "runtime/tcp_dial.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tf {

result<int> dial_nonblocking(const ip_addr& addr, uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (addr.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, addr.bytes().data(), 4);
    len = sizeof(sockaddr_in);
  } else if (addr.is_v6()) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, addr.bytes().data(), 16);
    len = sizeof(sockaddr_in6);
  } else {
    return make_error(errc::invalid_argument, "dial: invalid address");
  }
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return make_error(errc::io_error, std::string{"socket: "} + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
    auto err = errno;
    ::close(fd);
    return make_error(errc::io_error, "connect " + addr.to_string() + ":"
                                        + std::to_string(port) + ": " + std::strerror(err));
  }
  return fd;
}

} // namespace tf
