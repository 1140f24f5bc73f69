// SPDX-License-Identifier: Apache-2.0
// Helpers for the wireguard-go interop tests: shell commands (run_command,
// from tests/support), a blocking UDP socket with a receive timeout, base64
// keys as `wg` prints them, hand-built IPv4/ICMP echo packets, and the
// namespace rig (peer_netns) around scripts/wg-peer-netns.sh. Test-only;
// single-threaded use.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <caf/test/unit_test.hpp>

#include "runtime/ip.hpp"
#include "runtime/keys.hpp"
#include "tests/support/run_command.hpp"
#include "tests/support/test_argument.hpp"

namespace tf::wg::interop {

using test::run_command; // {exit status, stdout} of a shell command

/// value_of finds "KEY=value" in `text` (one per line).
inline std::string value_of(const std::string& text, const std::string& key) {
  auto pos = text.find(key + "=");
  if (pos == std::string::npos) {
    return {};
  }
  auto start = pos + key.size() + 1;
  return text.substr(start, text.find('\n', start) - start);
}

inline std::string to_base64(const key_bytes& key) {
  char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(out, sizeof(out), key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  return out;
}

inline std::optional<key_bytes> from_base64(const std::string& text) {
  key_bytes key{};
  size_t len = 0;
  if (sodium_base642bin(key.data(), key.size(), text.data(), text.size(), nullptr, &len,
                        nullptr, sodium_base64_VARIANT_ORIGINAL)
        != 0
      || len != key.size()) {
    return std::nullopt;
  }
  return key;
}

/// udp_socket is an IPv4 UDP socket bound to `ip`:0.
class udp_socket {
public:
  explicit udp_socket(const std::string& ip) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~udp_socket() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  udp_socket(const udp_socket&) = delete;
  udp_socket& operator=(const udp_socket&) = delete;

  bool ok() const { return ok_; }

  uint16_t port() const {
    sockaddr_in a{};
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }

  void send_to(const ip_endpoint& to, std::span<const uint8_t> data) const {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(to.addr.v4_value());
    a.sin_port = htons(to.port);
    ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  }

  /// receive waits up to `timeout` for one datagram.
  std::optional<std::pair<std::vector<uint8_t>, ip_endpoint>>
  receive(std::chrono::milliseconds timeout) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
      return std::nullopt;
    }
    std::vector<uint8_t> buf(65536);
    sockaddr_in a{};
    socklen_t len = sizeof(a);
    auto n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&a), &len);
    if (n < 0) {
      return std::nullopt;
    }
    buf.resize(static_cast<size_t>(n));
    return std::pair{std::move(buf), ip_endpoint{ip_addr::v4(ntohl(a.sin_addr.s_addr)),
                                                 ntohs(a.sin_port)}};
  }

private:
  int fd_ = -1;
  bool ok_ = false;
};

// -- IPv4 / ICMP ------------------------------------------------------------------

inline uint16_t inet_checksum(std::span<const uint8_t> b) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < b.size(); i += 2) {
    sum += uint32_t{b[i]} << 8 | b[i + 1];
  }
  if (b.size() % 2 != 0) {
    sum += uint32_t{b.back()} << 8;
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum);
}

inline void put16(std::vector<uint8_t>& p, size_t at, uint16_t v) {
  p[at] = static_cast<uint8_t>(v >> 8);
  p[at + 1] = static_cast<uint8_t>(v);
}

/// fix_checksums recomputes the IPv4 header and ICMP checksums of `p`.
inline void fix_checksums(std::vector<uint8_t>& p) {
  size_t ihl = (p[0] & 0x0f) * 4u;
  put16(p, 10, 0);
  put16(p, 10, inet_checksum(std::span<const uint8_t>{p}.first(ihl)));
  put16(p, ihl + 2, 0);
  put16(p, ihl + 2, inet_checksum(std::span<const uint8_t>{p}.subspan(ihl)));
}

/// icmp_echo_request builds an IPv4 ICMP echo request from `src` to `dst`.
inline std::vector<uint8_t> icmp_echo_request(const ip_addr& src, const ip_addr& dst,
                                              uint16_t id, uint16_t seq,
                                              const std::string& payload) {
  std::vector<uint8_t> p(28 + payload.size(), 0);
  p[0] = 0x45;
  put16(p, 2, static_cast<uint16_t>(p.size()));
  put16(p, 4, id);
  put16(p, 6, 0x4000); // don't fragment
  p[8] = 64;
  p[9] = 1; // ICMP
  std::copy_n(src.bytes().begin(), 4, p.begin() + 12);
  std::copy_n(dst.bytes().begin(), 4, p.begin() + 16);
  p[20] = 8; // echo request
  put16(p, 24, id);
  put16(p, 26, seq);
  std::copy(payload.begin(), payload.end(), p.begin() + 28);
  fix_checksums(p);
  return p;
}

inline bool is_icmp(const std::vector<uint8_t>& p, uint8_t type) {
  return p.size() >= 28 && (p[0] >> 4) == 4 && p[9] == 1 && p[(p[0] & 0x0f) * 4u] == type;
}

/// is_echo_reply says whether `p` is an IPv4 echo reply with sequence `seq`.
inline bool is_echo_reply(const std::vector<uint8_t>& p, uint16_t seq) {
  if (!is_icmp(p, 0))
    return false;
  size_t icmp = (p[0] & 0x0f) * 4u;
  return p.size() >= icmp + 8 && (p[icmp + 6] << 8 | p[icmp + 7]) == seq;
}

/// echo_reply_to turns an echo request into its reply (addresses swapped).
inline std::vector<uint8_t> echo_reply_to(std::vector<uint8_t> p) {
  for (int i = 0; i < 4; ++i) {
    std::swap(p[12 + i], p[16 + i]);
  }
  p[8] = 64;
  p[(p[0] & 0x0f) * 4u] = 0; // echo reply
  fix_checksums(p);
  return p;
}

inline ip_addr source_of(const std::vector<uint8_t>& p) {
  return ip_addr::v4(p[12], p[13], p[14], p[15]);
}

inline ip_addr destination_of(const std::vector<uint8_t>& p) {
  return ip_addr::v4(p[16], p[17], p[18], p[19]);
}

/// skip_reason says why this machine cannot run the test (empty: it can).
inline std::string skip_reason(const std::string& script) {
  if (geteuid() != 0) {
    return "not root";
  }
  if (run_command(script + " probe").first != 0) {
    return "cannot create a network namespace (ip netns add failed)";
  }
  return {};
}

/// peer_netns brings wireguard-go up in a namespace of its own and always
/// takes it down again; the script's watchdog does so too should this
/// process abort (CAF_REQUIRE) or crash.
struct peer_netns {
  std::string script;
  std::string name;       // unique per test binary and pid (<= 12 chars)
  int first_index = 16;   // the /30s tried start here (tests use disjoint ranges)
  std::string env;        // the WG_* lines of `up`
  bool is_up = false;

  ~peer_netns() {
    if (is_up) {
      run_command(script + " down " + name);
    }
  }

  /// up tries 24 free /30s from a pid-dependent start (exit 3: in use).
  bool up(const std::string& tunnel_ip) {
    for (int i = 0; i < 24 && !is_up; ++i) {
      int index = first_index + (getpid() + i) % 24;
      is_up = true; // `up` cleans up after itself, but be safe
      auto [rc, out] = run_command(script + " up " + name + " " + std::to_string(index)
                                   + " " + tunnel_ip + " " + std::to_string(getpid()));
      if (rc == 0) {
        env = out;
        return true;
      }
      run_command(script + " down " + name);
      is_up = false;
      if (rc != 3) {
        return false;
      }
    }
    return false;
  }
};

/// with_peer runs `body(script, ns)` against a wireguard-go peer with
/// tunnel address `tunnel_ip`, named `prefix` + pid, its /30s tried from
/// `first_index`. The script path is the test's argument after "--". Where
/// namespaces are impossible (not root, no netns) the test says SKIPPED and
/// returns; as root it must really run.
template <class Body>
void with_peer(const std::string& prefix, int first_index, const std::string& tunnel_ip,
               Body&& body) {
  auto script = tf::test::test_argument();
  CAF_REQUIRE(!script.empty());
  if (auto why = skip_reason(script); !why.empty()) {
    std::cout << "SKIPPED: no netns/root (" << why << ")" << std::endl;
    CAF_MESSAGE("SKIPPED: no netns/root (" << why << ")");
    return;
  }
  peer_netns ns;
  ns.script = script;
  ns.name = prefix + std::to_string(getpid() % 100000);
  ns.first_index = first_index;
  auto is_up = ns.up(tunnel_ip);
  CAF_CHECK(is_up);
  if (is_up) {
    body(script, ns);
  }
}

} // namespace tf::wg::interop
