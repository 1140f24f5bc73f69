// SPDX-License-Identifier: Apache-2.0
// The fd bridge with real threads: 10 MB each way through a socketpair fd
// while the peer uses the blocking API; a slow reader (and a slow writer's
// peer) keep memory bounded; a reset shows up as EOF on the fd.
#define CAF_SUITE netstack_bridge
#include <caf/test/unit_test_impl.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "netstack/netstack.hpp"
#include "tests/netstack/stream_util.hpp"
#include "tests/netstack/switchboard.hpp"

using namespace tf;
using namespace tf::netstack;
using namespace tf::netstack::testing;
using namespace std::chrono_literals;

namespace {

constexpr size_t ten_mb = 10u << 20;

struct fixture {
  switchboard sb;
  node_id a = 0;
  node_id b = 0;
  ip_addr a4 = v4(0x5a01), b4 = v4(0x5a02);
  conn peer;   // a's end (blocking API)
  int fd = -1; // b's end, bridged

  fixture() {
    auto x = sb.add(a4);
    auto y = sb.add(b4);
    CAF_REQUIRE(x.ok() && y.ok());
    a = *x;
    b = *y;
    auto l = listen_tcp(b, {ip_addr{}, 80});
    CAF_REQUIRE(l.ok());
    auto c = dial_tcp(a, {b4, 80}, after(5s));
    CAF_REQUIRE(c.ok());
    peer = std::move(*c);
    auto s = l->accept(after(5s));
    CAF_REQUIRE(s.ok());
    auto f = bridge_fd(std::move(*s));
    CAF_REQUIRE(f.ok());
    fd = *f;
  }

  ~fixture() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

// fd_write_stream writes `total` bytes of stream(seed) to fd; returns the hash.
uint64_t fd_write_stream(int fd, uint64_t seed, size_t total) {
  stream s(seed);
  fnv h;
  std::vector<uint8_t> buf(65536);
  for (size_t sent = 0; sent < total;) {
    size_t n = std::min(buf.size(), total - sent);
    s.fill({buf.data(), n});
    h.add({buf.data(), n});
    for (size_t off = 0; off < n;) {
      ssize_t w = ::write(fd, buf.data() + off, n - off);
      if (w <= 0) {
        return 0;
      }
      off += static_cast<size_t>(w);
    }
    sent += n;
  }
  return h.h;
}

// fd_drain reads fd to EOF; returns {bytes, hash}.
std::pair<size_t, uint64_t> fd_drain(int fd) {
  fnv h;
  size_t total = 0;
  std::vector<uint8_t> buf(65536);
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 30000) <= 0) {
      break;
    }
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) {
      break;
    }
    h.add({buf.data(), static_cast<size_t>(n)});
    total += static_cast<size_t>(n);
  }
  return {total, h.h};
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(bridge, fixture)

CAF_TEST(ten_mb_both_ways) {
  auto fd_sender = std::async(std::launch::async, [&] {
    uint64_t h = fd_write_stream(fd, 1, ten_mb);
    ::shutdown(fd, SHUT_WR);
    return h;
  });
  auto fd_reader = std::async(std::launch::async, [&] { return fd_drain(fd); });
  auto peer_sender = std::async(std::launch::async, [&] {
    uint64_t h = send_stream(peer, 2, ten_mb);
    (void)peer.shutdown_write();
    return h;
  });
  auto from_fd = drain(peer);
  auto [fd_bytes, fd_hash] = fd_reader.get();
  CAF_CHECK_EQUAL(from_fd.end, errc::ok);
  CAF_CHECK_EQUAL(from_fd.bytes, ten_mb);
  CAF_CHECK_EQUAL(from_fd.hash, fd_sender.get());
  CAF_CHECK_EQUAL(fd_bytes, ten_mb);
  CAF_CHECK_EQUAL(fd_hash, peer_sender.get());
  // Both directions finished: the bridge lets go of the connection.
  for (int i = 0; i < 100 && fd_bridge_stats().connections > 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  CAF_CHECK_EQUAL(fd_bridge_stats().connections, 0u);
}

CAF_TEST(slow_reader_keeps_memory_bounded) {
  // Nobody reads the fd: the peer's writes must stall after a bounded amount.
  auto writer = std::async(std::launch::async, [&] {
    size_t accepted = 0;
    std::vector<uint8_t> chunk(65536);
    stream s(3);
    fnv h;
    size_t at_first_stall = 0;
    while (accepted < ten_mb) {
      size_t n = std::min(chunk.size(), ten_mb - accepted);
      s.fill({chunk.data(), n});
      h.add({chunk.data(), n});
      for (size_t off = 0; off < n;) {
        auto w = peer.write({chunk.data() + off, n - off}, after(300ms));
        if (!w) {
          if (at_first_stall == 0) {
            at_first_stall = accepted + off;
          }
          continue;
        }
        off += *w;
      }
      accepted += n;
    }
    (void)peer.shutdown_write();
    return std::make_pair(at_first_stall, h.h);
  });
  std::this_thread::sleep_for(1500ms);
  auto st = stats();
  auto bs = fd_bridge_stats();
  CAF_MESSAGE("while stalled: lwIP rx buffered " << st.rx_buffered << " B, bridge buffered "
                                                 << bs.buffered_bytes << " B");
  CAF_CHECK_LESS_OR_EQUAL(st.rx_buffered, 2u * 65536u);
  CAF_CHECK_LESS_OR_EQUAL(bs.buffered_bytes, 2u * 65536u);
  auto got = fd_drain(fd);
  auto [stalled_at, hash] = writer.get();
  CAF_MESSAGE("writer stalled after " << stalled_at << " bytes");
  CAF_CHECK_GREATER(stalled_at, 0u);
  CAF_CHECK_LESS(stalled_at, 2u << 20);
  CAF_CHECK_EQUAL(got.first, ten_mb);
  CAF_CHECK_EQUAL(got.second, hash);
}

CAF_TEST(slow_peer_stops_reading_the_fd) {
  // The peer never reads: writes into the fd stop after a bounded amount.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::vector<uint8_t> chunk(65536, 7);
  size_t accepted = 0;
  for (int idle = 0; idle < 20 && accepted < ten_mb;) {
    ssize_t w = ::write(fd, chunk.data(), chunk.size());
    if (w > 0) {
      accepted += static_cast<size_t>(w);
      idle = 0;
    } else {
      ++idle;
      std::this_thread::sleep_for(20ms);
    }
  }
  CAF_MESSAGE("fd accepted " << accepted << " bytes while the peer did not read");
  CAF_CHECK_LESS(accepted, 2u << 20);
  CAF_CHECK_LESS_OR_EQUAL(fd_bridge_stats().buffered_bytes, 2u * 65536u);
}

CAF_TEST(reset_shows_as_eof) {
  peer.abort();
  pollfd p{fd, POLLIN, 0};
  CAF_REQUIRE_EQUAL(::poll(&p, 1, 5000), 1);
  char c;
  CAF_CHECK_LESS_OR_EQUAL(::read(fd, &c, 1), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
