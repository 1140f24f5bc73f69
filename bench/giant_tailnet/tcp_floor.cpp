// SPDX-License-Identifier: Apache-2.0
// The TCP references: the ping-pong floor (two threads, blocking sockets,
// TCP_NODELAY) and the one-way crossing (a reader polling with epoll, a
// sender spinning on the reader's flag). Each call owns its threads.
#include "bench/giant_tailnet/tcp_floor.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <utility>

#include "runtime/tcp_listen.hpp"
#include "runtime/usable_cpus.hpp"

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

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/// connected_pair is a loopback TCP connection: {dialed end, accepted end},
/// both blocking, TCP_NODELAY.
std::pair<int, int> connected_pair() {
  auto listener = listen_tcp("127.0.0.1", 0);
  if (!listener)
    throw std::runtime_error(listener.error().message());
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(listener->port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int accepted = -1;
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0) {
    // The listener is non-blocking; the dial has completed, so the
    // connection is queued (or comes within the poll's second).
    pollfd ready{listener->fd, POLLIN, 0};
    if (::poll(&ready, 1, 1000) == 1)
      accepted = ::accept4(listener->fd, nullptr, nullptr, 0);
  }
  ::close(listener->fd);
  if (accepted < 0) {
    if (fd >= 0)
      ::close(fd);
    throw std::runtime_error("tcp reference: loopback connection failed");
  }
  set_nodelay(fd);
  set_nodelay(accepted);
  return {fd, accepted};
}

/// pin_this_thread confines the calling thread to `cpu` (-1: no change).
void pin_this_thread(int cpu) {
  if (cpu < 0)
    return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ::pthread_setaffinity_np(::pthread_self(), sizeof(set), &set);
}

/// timed_rounds runs `round(i)` for `warmup + rounds` rounds and returns
/// each round's time after the warm-up, in microseconds; it stops at the
/// first round that fails.
template <class Round>
std::vector<double> timed_rounds(size_t rounds, size_t warmup, Round round) {
  std::vector<double> out;
  out.reserve(rounds);
  for (size_t i = 0; i < rounds + warmup; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (!round(i))
      break;
    auto dt = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0);
    if (i >= warmup)
      out.push_back(dt.count());
  }
  return out;
}

} // namespace

std::vector<double> tcp_ping_pong(size_t frame_len, size_t rounds, size_t warmup,
                                  floor_placement where) {
  // The CPUs of a pinned placement: {pinger's, echo's}; -1 leaves it be.
  std::pair<int, int> cpus{-1, -1};
  if (where != floor_placement::unpinned) {
    auto usable = usable_cpus();
    size_t needed = where == floor_placement::one_cpu ? 1 : 2;
    if (usable.size() < needed)
      return {};
    cpus = {usable[0], usable[needed - 1]};
  }
  auto [fd, echo_fd] = connected_pair();
  std::thread echo{[fd = echo_fd, frame_len, total = rounds + warmup, cpu = cpus.second] {
    pin_this_thread(cpu);
    std::vector<char> buf(frame_len);
    for (size_t i = 0; i < total; ++i)
      if (!read_full(fd, buf.data(), frame_len) || !write_full(fd, buf.data(), frame_len))
        break;
  }};
  std::vector<double> out;
  auto ping = [&, fd = fd] {
    std::vector<char> buf(frame_len, 'x');
    out = timed_rounds(rounds, warmup, [&](size_t) {
      return write_full(fd, buf.data(), frame_len) && read_full(fd, buf.data(), frame_len);
    });
  };
  if (cpus.first < 0) {
    ping(); // unpinned: on the calling thread, wherever the kernel runs it
  } else {
    std::thread pinger{[&, cpu = cpus.first] {
      pin_this_thread(cpu);
      ping();
    }};
    pinger.join();
  }
  ::close(fd);
  echo.join();
  ::close(echo_fd);
  return out;
}

std::vector<double> tcp_one_way(size_t frame_len, size_t rounds, size_t warmup,
                                std::chrono::nanoseconds reader_spin) {
  auto [out, in] = connected_pair();
  auto total = rounds + warmup;
  std::atomic<size_t> frames_read{0};
  std::atomic<bool> reader_gone{false}; // it stopped early: the stream failed
  // The reader: the node's I/O thread without the node. It polls epoll with
  // a zero timeout, yielding after each empty poll, until `reader_spin` has
  // passed since its last frame, then sleeps in epoll_wait; it reads what
  // is there and counts whole frames.
  std::thread reader{[in, frame_len, total, reader_spin, &frames_read, &reader_gone] {
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev);
    std::vector<char> buf(4096);
    size_t bytes = 0;
    auto last_frame = std::chrono::steady_clock::now();
    while (bytes < total * frame_len) {
      bool spinning = std::chrono::steady_clock::now() - last_frame < reader_spin;
      epoll_event got{};
      if (::epoll_wait(ep, &got, 1, spinning ? 0 : -1) <= 0) {
        if (spinning)
          sched_yield();
        continue;
      }
      auto n = ::recv(in, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        break;
      if (n > 0) {
        bytes += static_cast<size_t>(n);
        frames_read.store(bytes / frame_len, std::memory_order_release);
        last_frame = std::chrono::steady_clock::now();
      }
    }
    ::close(ep);
    reader_gone.store(true, std::memory_order_release);
  }};
  // The sender: the benchmark's driver without an actor. It writes a frame
  // and spins (yielding every 64 looks, as an idle CAF worker of tailfleet's
  // scheduler does) until the reader has it.
  std::vector<char> frame(frame_len, 'x');
  auto arrived = [&](size_t i) {
    for (size_t looks = 1; frames_read.load(std::memory_order_acquire) <= i; ++looks) {
      if (reader_gone.load(std::memory_order_acquire))
        return frames_read.load(std::memory_order_acquire) > i;
      if (looks % 64 == 0)
        sched_yield();
    }
    return true;
  };
  auto samples = timed_rounds(rounds, warmup, [&](size_t i) {
    return write_full(out, frame.data(), frame_len) && arrived(i);
  });
  ::close(out);
  reader.join();
  ::close(in);
  if (samples.size() != rounds)
    throw std::runtime_error("tcp one-way: the stream failed");
  return samples;
}

} // namespace tf::bench
