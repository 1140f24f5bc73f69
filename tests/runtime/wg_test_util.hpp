// SPDX-License-Identifier: Apache-2.0
// Test helpers for tf::wg: IP packets, and wg_pair, two devices A and B that
// know each other, with datagrams delivered by hand. Single-threaded.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

#include <caf/test/unit_test.hpp>

#include "runtime/ip.hpp"
#include "runtime/wg/device.hpp"

namespace tf::wg::test {

/// ipv4_packet is a `len`-byte IPv4 packet (valid total length) of `fill`.
inline std::vector<uint8_t> ipv4_packet(size_t len, uint8_t fill) {
  std::vector<uint8_t> p(len, fill);
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>(len >> 8);
  p[3] = static_cast<uint8_t>(len);
  return p;
}

inline bool has_event(const actions& a, event e) {
  return std::find(a.events.begin(), a.events.end(), e) != a.events.end();
}

inline size_t count_len(const actions& a, size_t len) {
  return static_cast<size_t>(std::count_if(a.datagrams.begin(), a.datagrams.end(),
                                           [len](auto& d) { return d.size() == len; }));
}

/// wg_pair is the fixture: device a (key ka) with session sa for b, and
/// device b (key kb) with session sb for a.
struct wg_pair {
  node_private_key ka = node_private_key::generate();
  node_private_key kb = node_private_key::generate();
  device a{ka};
  device b{kb};
  session* sa = nullptr;
  session* sb = nullptr;
  source_address src_a = source_address::from(*ip_endpoint::parse("198.51.100.1:40000"));
  source_address src_b = source_address::from(*ip_endpoint::parse("198.51.100.2:51820"));
  source_address src_other = source_address::from(*ip_endpoint::parse("203.0.113.9:40000"));
  time_point t0 = time_point{} + std::chrono::hours{1};

  wg_pair() {
    sa = *a.add_peer({kb.public_key()});
    sb = *b.add_peer({ka.public_key()});
  }

  /// to_b delivers every datagram of `from_a` to device b, merging the actions.
  actions to_b(const actions& from_a, time_point now) {
    actions all;
    for (auto& d : from_a.datagrams) {
      all.append(b.receive(d, src_a.span(), now).out);
    }
    return all;
  }

  actions to_a(const actions& from_b, time_point now) {
    actions all;
    for (auto& d : from_b.datagrams) {
      all.append(a.receive(d, src_b.span(), now).out);
    }
    return all;
  }

  /// handshake runs A->B initiation, response and confirming data at `now`.
  void handshake(time_point now) {
    auto confirm = to_a(to_b(sa->send(ipv4_packet(40, 0), now), now), now);
    to_b(confirm, now);
    CAF_REQUIRE(sa->current() != nullptr);
    CAF_REQUIRE(sb->current() != nullptr);
  }
};

} // namespace tf::wg::test
