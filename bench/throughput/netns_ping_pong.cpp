// SPDX-License-Identifier: Apache-2.0
// TCP ping-pong between two network namespaces. The echo thread is started
// and joined inside tcp_ping_pong; sockets are closed on every path. Never
// blocks longer than io_timeout per step.
#include "bench/throughput/netns_ping_pong.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "runtime/counters.hpp"

namespace tf::bench {

namespace {

/// fd_guard closes one descriptor when it goes out of scope.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

failure io_failure(const std::string& what) {
  return make_error(errc::io_error, what + ": " + std::strerror(errno));
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/// transfer reads (or writes) exactly `len` bytes; false on EOF, error or
/// timeout.
bool transfer(int fd, char* buf, size_t len, bool write) {
  size_t done = 0;
  while (done < len) {
    auto n = write ? ::send(fd, buf + done, len - done, MSG_NOSIGNAL)
                   : ::recv(fd, buf + done, len - done, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

/// echo_one accepts a single connection on `listener` and echoes messages
/// of `len` bytes until the client closes it.
void echo_one(int listener, size_t len, std::chrono::milliseconds timeout) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
    return;
  }
  fd_guard conn{::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC)};
  if (conn.fd < 0) {
    return;
  }
  set_timeouts(conn.fd, timeout);
  std::vector<char> buf(len);
  while (transfer(conn.fd, buf.data(), len, false) && transfer(conn.fd, buf.data(), len, true)) {
  }
}

} // namespace

result<int> socket_in_netns(const std::string& netns, int type) {
  if (netns.empty() || netns.find('/') != std::string::npos) {
    TF_COUNTER("bench_netns_names_rejected").add();
    return make_error(errc::invalid_argument, "bad namespace name '" + netns + "'");
  }
  int fd = -1;
  std::string err;
  // setns() moves only the calling thread, so a throwaway thread joins the
  // namespace; the socket stays in the namespace it was made in.
  std::thread worker{[&] {
    fd_guard ns{::open(("/var/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC)};
    if (ns.fd < 0) {
      err = "open /var/run/netns/" + netns + ": " + std::strerror(errno);
      return;
    }
    if (::setns(ns.fd, CLONE_NEWNET) != 0) {
      err = "setns " + netns + ": " + std::strerror(errno);
      return;
    }
    fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      err = std::string{"socket: "} + std::strerror(errno);
    }
  }};
  worker.join();
  if (fd < 0) {
    return make_error(errc::io_error, err);
  }
  return fd;
}

result<std::vector<double>> tcp_ping_pong(const ping_pong_options& opt) {
  using clock = std::chrono::steady_clock;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(opt.port);
  if (opt.message_len == 0 || ::inet_pton(AF_INET, opt.server_ip.c_str(), &addr.sin_addr) != 1) {
    TF_COUNTER("bench_ping_pong_options_rejected").add();
    return make_error(errc::invalid_argument, "bad server address '" + opt.server_ip
                                                + "' or empty message");
  }
  auto listener_fd = socket_in_netns(opt.server_netns, SOCK_STREAM);
  if (!listener_fd) {
    return listener_fd.error();
  }
  fd_guard listener{*listener_fd};
  int one = 1;
  ::setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(listener.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::listen(listener.fd, 1) != 0) {
    return io_failure("echo server on " + opt.server_ip + ":" + std::to_string(opt.port));
  }
  auto client_fd = socket_in_netns(opt.client_netns, SOCK_STREAM);
  if (!client_fd) {
    return client_fd.error();
  }
  std::vector<double> samples;
  std::string failed;
  {
    fd_guard client{*client_fd};
    std::thread echo{echo_one, listener.fd, opt.message_len, opt.io_timeout};
    set_timeouts(client.fd, opt.io_timeout);
    if (::connect(client.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      failed = "connect " + opt.server_ip + ": " + std::strerror(errno);
    }
    std::vector<char> request(opt.message_len, 'q');
    std::vector<char> reply(opt.message_len);
    samples.reserve(opt.round_trips);
    size_t total = opt.warmup_round_trips + opt.round_trips;
    for (size_t i = 0; failed.empty() && i < total; ++i) {
      auto start = clock::now();
      if (!transfer(client.fd, request.data(), request.size(), true)
          || !transfer(client.fd, reply.data(), reply.size(), false)) {
        TF_COUNTER("bench_ping_pong_replies_rejected").add();
        failed = "round trip " + std::to_string(i) + " failed: " + std::strerror(errno);
        break;
      }
      if (i >= opt.warmup_round_trips) {
        std::chrono::duration<double, std::micro> rtt = clock::now() - start;
        samples.push_back(rtt.count());
      }
    }
    ::shutdown(client.fd, SHUT_RDWR);
    if (samples.empty()) {
      ::shutdown(listener.fd, SHUT_RDWR); // wakes an echo thread still in poll()
    }
    echo.join();
  }
  if (!failed.empty()) {
    return make_error(errc::io_error, "TCP ping-pong: " + failed);
  }
  return samples;
}

} // namespace tf::bench
