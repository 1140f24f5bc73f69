// SPDX-License-Identifier: Apache-2.0
// Deterministic byte streams and checksums for netstack tests: a sender
// and a receiver regenerate the same bytes from a seed and compare FNV-1a
// hashes. Pure helpers plus blocking echo/drain loops over conn.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "netstack/sockets.hpp"
#include "tests/support/bytes_of.hpp"

namespace tf::netstack::testing {

/// stream produces a reproducible pseudo-random byte stream.
class stream {
public:
  explicit stream(uint64_t seed) : s_(seed * 0x9e3779b97f4a7c15ull + 1) {}
  void fill(std::span<uint8_t> out) {
    for (auto& b : out) {
      s_ ^= s_ << 13;
      s_ ^= s_ >> 7;
      s_ ^= s_ << 17;
      b = static_cast<uint8_t>(s_);
    }
  }

private:
  uint64_t s_;
};

/// fnv is a running FNV-1a 64 hash.
struct fnv {
  uint64_t h = 0xcbf29ce484222325ull;
  void add(std::span<const uint8_t> data) {
    for (uint8_t b : data) {
      h = (h ^ b) * 0x100000001b3ull;
    }
  }
};

/// send_stream writes `total` bytes of stream(seed) and returns their hash
/// (or 0 when a write failed).
inline uint64_t send_stream(conn& c, uint64_t seed, size_t total, size_t chunk = 65536) {
  stream s(seed);
  fnv h;
  std::vector<uint8_t> buf(chunk);
  for (size_t sent = 0; sent < total;) {
    size_t n = std::min(chunk, total - sent);
    s.fill({buf.data(), n});
    h.add({buf.data(), n});
    auto w = c.write({buf.data(), n}, after(std::chrono::seconds(60)));
    if (!w || *w != n) {
      return 0;
    }
    sent += n;
  }
  return h.h;
}

/// drain_result is what drain read before EOF or an error.
struct drain_result {
  size_t bytes = 0;
  uint64_t hash = 0;
  errc end = errc::ok; // ok: clean EOF
};

/// drain reads until EOF (or an error) and hashes everything, continuing
/// `h` (the hash of what was read before).
inline drain_result drain(conn& c, deadline d = after(std::chrono::seconds(60)), fnv h = {}) {
  drain_result r;
  std::vector<uint8_t> buf(65536);
  for (;;) {
    auto n = c.read(buf, d);
    if (!n) {
      r.end = n.code();
      break;
    }
    if (*n == 0) {
      break;
    }
    h.add({buf.data(), *n});
    r.bytes += *n;
  }
  r.hash = h.h;
  return r;
}

/// echo copies everything back until EOF, then shuts down writing.
inline size_t echo(conn& c) {
  std::vector<uint8_t> buf(65536);
  size_t total = 0;
  for (;;) {
    auto n = c.read(buf, after(std::chrono::seconds(60)));
    if (!n || *n == 0) {
      break;
    }
    auto w = c.write({buf.data(), *n}, after(std::chrono::seconds(60)));
    if (!w || *w != *n) {
      break;
    }
    total += *n;
  }
  (void)c.shutdown_write();
  return total;
}

/// echo_on_each writes "conn <i>" on every connection of an echo service,
/// then reads each one back; returns how many came back whole.
inline size_t echo_on_each(std::vector<conn>& conns, deadline d) {
  auto message = [](size_t i) { return "conn " + std::to_string(i); };
  for (size_t i = 0; i < conns.size(); ++i) {
    auto msg = message(i);
    if (!conns[i].write(test::bytes_of(msg), d).ok())
      return 0;
  }
  size_t echoed = 0;
  std::vector<uint8_t> buf(64);
  for (size_t i = 0; i < conns.size(); ++i) {
    auto msg = message(i);
    std::string got;
    while (got.size() < msg.size()) {
      auto n = conns[i].read(buf, d);
      if (!n || *n == 0)
        break;
      got.append(reinterpret_cast<char*>(buf.data()), *n);
    }
    echoed += got == msg ? 1 : 0;
  }
  return echoed;
}

} // namespace tf::netstack::testing
