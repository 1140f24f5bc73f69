// SPDX-License-Identifier: Apache-2.0
// udp_socket (see udp_socket.hpp): sockaddr conversions, recvmmsg/sendmmsg.
#include "actors/tunnel/udp_socket.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
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
  // Segmentation offload both ways (Linux >= 5.0): the kernel moves a run of
  // equal-sized datagrams as one buffer, which on loopback and veth is never
  // split at all. Without it, every datagram is one trip through the stack.
  int on = 1;
  s.gro_ = ::setsockopt(s.fd_, SOL_UDP, UDP_GRO, &on, sizeof(on)) == 0;
  s.gso_ = true; // dropped at the first send the kernel refuses
  return s;
}

udp_socket::udp_socket(udp_socket&& other) noexcept
  : fd_(std::exchange(other.fd_, -1)), v6_(other.v6_), gro_(other.gro_), gso_(other.gso_),
    port_(other.port_), rx_buf_(std::move(other.rx_buf_)),
    rx_control_(std::move(other.rx_control_)), rx_(std::move(other.rx_)),
    tx_iovs_(std::move(other.tx_iovs_)) {}

udp_socket& udp_socket::operator=(udp_socket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = std::exchange(other.fd_, -1);
    v6_ = other.v6_;
    gro_ = other.gro_;
    gso_ = other.gso_;
    port_ = other.port_;
    rx_buf_ = std::move(other.rx_buf_);
    rx_control_ = std::move(other.rx_control_);
    rx_ = std::move(other.rx_);
    tx_iovs_ = std::move(other.tx_iovs_);
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
  // With GRO one message may carry many datagrams of one size: room for 64 KiB.
  const size_t slot = gro_ ? size_t{65536} : max_datagram;
  constexpr size_t control_len = CMSG_SPACE(sizeof(int));
  // The scratch keeps its size between calls: no allocation per batch.
  rx_buf_.resize(max_batch * slot);
  rx_control_.resize(max_batch * control_len);
  auto& msgs = rx_.msgs;
  auto& iovs = rx_.iovs;
  auto& addrs = rx_.addrs;
  msgs.resize(max_batch);
  iovs.resize(max_batch);
  addrs.resize(max_batch);
  for (size_t i = 0; i < max_batch; ++i) {
    iovs[i] = {rx_buf_.data() + i * slot, slot};
    msgs[i].msg_hdr = {};
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &addrs[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    if (gro_) {
      msgs[i].msg_hdr.msg_control = rx_control_.data() + i * control_len;
      msgs[i].msg_hdr.msg_controllen = control_len;
    }
  }
  int n = ::recvmmsg(fd_, msgs.data(), static_cast<unsigned>(max_batch), MSG_DONTWAIT, nullptr);
  if (n <= 0) {
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      TF_COUNTER("tunnel_rx_socket_errors").add();
    }
    return 0;
  }
  for (int i = 0; i < n; ++i) {
    auto& h = msgs[i].msg_hdr;
    size_t len = msgs[i].msg_len;
    size_t segment = len;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); gro_ && c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int size = 0;
        std::memcpy(&size, CMSG_DATA(c), sizeof(size));
        segment = size > 0 ? static_cast<size_t>(size) : len;
      }
    }
    const uint8_t* base = rx_buf_.data() + i * slot;
    auto from = from_sockaddr(addrs[i]);
    bool cut = (h.msg_flags & MSG_TRUNC) != 0;
    for (size_t at = 0; at < len; at += segment) {
      datagram d;
      d.bytes = {base + at, std::min(segment, len - at)};
      d.from = from;
      d.truncated = cut || d.bytes.size() > max_datagram;
      out.push_back(d);
    }
  }
  return out.size();
}

namespace {

/// max_gso_segments bounds one offloaded send (the kernel takes up to 64
/// segments and 64 KiB).
constexpr size_t max_gso_segments = 40;

/// send_run_length counts the datagrams from `at` that can go as one GSO
/// send: same destination, same size (the last may be shorter).
size_t send_run_length(std::span<const outgoing> batch, size_t at) {
  const auto& first = batch[at];
  size_t size = first.bytes.size();
  size_t n = 1;
  size_t total = size;
  while (at + n < batch.size() && n < max_gso_segments) {
    const auto& next = batch[at + n];
    if (next.to != first.to || next.bytes.size() > size || total + next.bytes.size() > 65000) {
      break;
    }
    total += next.bytes.size();
    ++n;
    if (next.bytes.size() < size) {
      break; // a shorter one ends the run
    }
  }
  return n;
}

} // namespace

void udp_socket::send_batch(std::span<const outgoing> batch) {
  constexpr size_t chunk = 64;
  constexpr size_t control_len = CMSG_SPACE(sizeof(uint16_t));
  mmsghdr msgs[chunk];
  sockaddr_storage addrs[chunk];
  alignas(cmsghdr) uint8_t control[chunk][control_len];
  auto& iovs = tx_iovs_;
  iovs.resize(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    iovs[i] = {const_cast<uint8_t*>(batch[i].bytes.data()), batch[i].bytes.size()};
  }
  size_t at = 0;
  while (at < batch.size()) {
    // Build up to `chunk` messages, each one datagram or one GSO run.
    size_t num = 0;
    size_t first_at = at;
    std::array<size_t, chunk> runs{};
    while (num < chunk && at < batch.size()) {
      size_t run = gso_ ? send_run_length(batch, at) : 1;
      auto& h = msgs[num].msg_hdr;
      h = {};
      h.msg_iov = &iovs[at];
      h.msg_iovlen = run;
      h.msg_name = &addrs[num];
      h.msg_namelen = to_sockaddr(batch[at].to, v6_, addrs[num]);
      if (run > 1) {
        h.msg_control = control[num];
        h.msg_controllen = control_len;
        cmsghdr* c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        auto size = static_cast<uint16_t>(batch[at].bytes.size());
        std::memcpy(CMSG_DATA(c), &size, sizeof(size));
      }
      runs[num] = run;
      at += run;
      ++num;
    }
    size_t sent = 0;
    while (sent < num) {
      int r = ::sendmmsg(fd_, msgs + sent, static_cast<unsigned>(num - sent), 0);
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
        if (gso_ && runs[sent] > 1 && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT)) {
          // No segmentation offload here: resend the rest one by one.
          TF_COUNTER("tunnel_tx_gso_disabled").add();
          gso_ = false;
          size_t resend_from = first_at;
          for (size_t k = 0; k < sent; ++k) {
            resend_from += runs[k];
          }
          send_batch(batch.subspan(resend_from));
          return;
        }
        TF_COUNTER("tunnel_tx_send_errors").add(); // skip the failing message
        ++sent;
        continue;
      }
      sent += static_cast<size_t>(r);
    }
  }
}

} // namespace tf::tunnel
