// SPDX-License-Identifier: Apache-2.0
// udp_socket (see udp_socket.hpp): sockaddr conversions, recvmmsg/sendmmsg.
#include "actors/tunnel/udp_socket.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "runtime/counters.hpp"

namespace tf::tunnel {

namespace {

socklen_t to_sockaddr(const ip_endpoint& ep, bool v6_socket, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof(ss));
  ip_addr a = ep.addr.unmap();
  if (!v6_socket) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(ep.port);
    std::memcpy(&sin->sin_addr, a.bytes().data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(ep.port);
  if (a.is_v4()) {
    uint8_t* b = sin6->sin6_addr.s6_addr;
    b[10] = 0xff;
    b[11] = 0xff;
    std::memcpy(b + 12, a.bytes().data(), 4);
  } else {
    std::memcpy(sin6->sin6_addr.s6_addr, a.bytes().data(), 16);
  }
  return sizeof(sockaddr_in6);
}

ip_endpoint from_sockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    return {ip_addr::v4(ntohl(sin->sin_addr.s_addr)), ntohs(sin->sin_port)};
  }
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  ip_addr::bytes16 b;
  std::memcpy(b.data(), sin6->sin6_addr.s6_addr, 16);
  return {ip_addr::v6(b).unmap(), ntohs(sin6->sin6_port)};
}

void grow_buffers(int fd) {
  int size = 4 << 20;
  // The forced variants need CAP_NET_ADMIN; the plain ones are capped by
  // net.core.[rw]mem_max. Either is fine.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  }
}

} // namespace

result<udp_socket> udp_socket::open(uint16_t port) {
  udp_socket s;
  s.fd_ = ::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  s.v6_ = s.fd_ >= 0;
  if (s.v6_) {
    int off = 0;
    setsockopt(s.fd_, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  } else {
    s.fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  }
  if (s.fd_ < 0) {
    return make_error(errc::io_error, std::string("udp socket: ") + std::strerror(errno));
  }
  sockaddr_storage ss;
  ip_endpoint any{s.v6_ ? ip_addr::v6({}) : ip_addr::v4(0), port};
  socklen_t len = to_sockaddr(any, s.v6_, ss);
  if (s.v6_) {
    std::memset(&reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, 0, 16); // in6addr_any
  }
  if (::bind(s.fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return make_error(errc::io_error, "udp bind to port " + std::to_string(port) + ": "
                                        + std::strerror(errno));
  }
  socklen_t slen = sizeof(ss);
  ::getsockname(s.fd_, reinterpret_cast<sockaddr*>(&ss), &slen);
  s.port_ = from_sockaddr(ss).port;
  grow_buffers(s.fd_);
  return s;
}

udp_socket::udp_socket(udp_socket&& other) noexcept
  : fd_(std::exchange(other.fd_, -1)), v6_(other.v6_), port_(other.port_),
    rx_buf_(std::move(other.rx_buf_)) {}

udp_socket& udp_socket::operator=(udp_socket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = std::exchange(other.fd_, -1);
    v6_ = other.v6_;
    port_ = other.port_;
    rx_buf_ = std::move(other.rx_buf_);
  }
  return *this;
}

udp_socket::~udp_socket() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

std::vector<ip_endpoint> udp_socket::local_endpoints() const {
  std::vector<ip_endpoint> out;
  std::vector<ip_endpoint> loopback;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) == 0) {
    for (auto* i = list; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET
          || (i->ifa_flags & IFF_UP) == 0) {
        continue;
      }
      sockaddr_storage ss{};
      std::memcpy(&ss, i->ifa_addr, sizeof(sockaddr_in));
      ip_endpoint ep{from_sockaddr(ss).addr, port_};
      ((i->ifa_flags & IFF_LOOPBACK) ? loopback : out).push_back(ep);
    }
    ::freeifaddrs(list);
  }
  out.insert(out.end(), loopback.begin(), loopback.end());
  if (out.empty()) {
    out.push_back({ip_addr::v4(127, 0, 0, 1), port_});
  }
  return out;
}

size_t udp_socket::receive_batch(std::vector<datagram>& out, size_t max_batch) {
  out.clear();
  rx_buf_.resize(max_batch * max_datagram);
  std::vector<mmsghdr> msgs(max_batch);
  std::vector<iovec> iovs(max_batch);
  std::vector<sockaddr_storage> addrs(max_batch);
  for (size_t i = 0; i < max_batch; ++i) {
    iovs[i] = {rx_buf_.data() + i * max_datagram, max_datagram};
    msgs[i].msg_hdr = {};
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &addrs[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
  }
  int n = ::recvmmsg(fd_, msgs.data(), static_cast<unsigned>(max_batch), MSG_DONTWAIT, nullptr);
  if (n <= 0) {
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      TF_COUNTER("tunnel_rx_socket_errors").add();
    }
    return 0;
  }
  for (int i = 0; i < n; ++i) {
    datagram d;
    d.bytes = {rx_buf_.data() + i * max_datagram, msgs[i].msg_len};
    d.from = from_sockaddr(addrs[i]);
    d.truncated = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    out.push_back(d);
  }
  return out.size();
}

void udp_socket::send_batch(std::span<const outgoing> batch) {
  constexpr size_t chunk = 64;
  mmsghdr msgs[chunk];
  iovec iovs[chunk];
  sockaddr_storage addrs[chunk];
  for (size_t base = 0; base < batch.size(); base += chunk) {
    size_t n = std::min(chunk, batch.size() - base);
    for (size_t i = 0; i < n; ++i) {
      const auto& o = batch[base + i];
      iovs[i] = {const_cast<uint8_t*>(o.bytes.data()), o.bytes.size()};
      msgs[i].msg_hdr = {};
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = to_sockaddr(o.to, v6_, addrs[i]);
    }
    size_t sent = 0;
    while (sent < n) {
      int r = ::sendmmsg(fd_, msgs + sent, static_cast<unsigned>(n - sent), 0);
      if (r < 0) {
        if (errno == EINTR) {
          continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          // The kernel's send buffer is full: wait for room (this is the
          // tunnel's own thread) rather than drop what TCP would resend.
          pollfd p{fd_, POLLOUT, 0};
          if (::poll(&p, 1, 100) > 0) {
            continue;
          }
        }
        TF_COUNTER("tunnel_tx_send_errors").add(); // skip the failing datagram
        ++sent;
        continue;
      }
      sent += static_cast<size_t>(r);
    }
  }
}

} // namespace tf::tunnel
