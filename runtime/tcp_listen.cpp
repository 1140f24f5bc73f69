// SPDX-License-Identifier: Apache-2.0
// Listening sockets. System calls only; any thread.
#include "runtime/tcp_listen.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/ip.hpp"

namespace tf {

result<listener_socket> listen_tcp(const std::string& host, uint16_t port) {
  auto addr = ip_addr::parse(host.empty() ? "127.0.0.1" : host);
  if (!addr)
    return make_error(errc::invalid_argument, "listen: not a numeric address: " + host);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (addr->is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, addr->bytes().data(), 4);
    len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, addr->bytes().data(), 16);
    len = sizeof(sockaddr_in6);
  }
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return make_error(errc::io_error, std::string{"socket: "} + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  auto fail = [&](const char* what) -> failure {
    auto err = errno;
    ::close(fd);
    return make_error(errc::io_error, std::string{what} + " " + addr->to_string() + ":"
                                        + std::to_string(port) + ": " + std::strerror(err));
  };
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0)
    return fail("bind");
  if (::listen(fd, 1024) != 0)
    return fail("listen");
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return fail("getsockname");
  uint16_t bound = ss.ss_family == AF_INET
                     ? ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port)
                     : ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return listener_socket{fd, bound};
}

} // namespace tf
