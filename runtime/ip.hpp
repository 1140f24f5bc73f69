// SPDX-License-Identifier: Apache-2.0
// IP addresses, prefixes and ip:port endpoints as small values. Parsing and
// formatting go through inet_pton/inet_ntop. Pure values; any thread.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tf {

/// ip_addr is an IPv4 or IPv6 address (or invalid when default-constructed).
/// IPv4 is kept in the first 4 bytes, network order.
class ip_addr {
public:
  using bytes16 = std::array<uint8_t, 16>;

  ip_addr() = default;

  static ip_addr v4(uint32_t host_order);
  static ip_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return v4(uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d);
  }
  static ip_addr v6(const bytes16& bytes);

  /// parse reads "100.64.0.1" or "fd7a:115c:a1e0::1"; nothing on bad input.
  static std::optional<ip_addr> parse(std::string_view text);

  bool valid() const noexcept { return family_ != 0; }
  bool is_v4() const noexcept { return family_ == 4; }
  bool is_v6() const noexcept { return family_ == 6; }
  int bit_len() const noexcept { return is_v4() ? 32 : 128; }

  /// v4_value returns the IPv4 address in host order (0 unless is_v4()).
  uint32_t v4_value() const noexcept;
  const bytes16& bytes() const noexcept { return bytes_; }

  /// unmap turns an IPv4-mapped IPv6 address (::ffff:a.b.c.d) into IPv4.
  ip_addr unmap() const;

  std::string to_string() const;

  friend auto operator<=>(const ip_addr&, const ip_addr&) = default;

  template <class H>
  friend H AbslHashValue(H h, const ip_addr& a) {
    return H::combine(H::combine_contiguous(std::move(h), a.bytes_.data(), 16),
                      a.family_);
  }

private:
  bytes16 bytes_{};
  uint8_t family_ = 0;
};

/// ip_prefix is an address with a prefix length ("100.64.0.0/10").
struct ip_prefix {
  ip_addr addr;
  uint8_t bits = 0;

  /// parse reads "a/n"; a bare address is a full-length prefix.
  static std::optional<ip_prefix> parse(std::string_view text);
  static ip_prefix host(const ip_addr& a) {
    return {a, static_cast<uint8_t>(a.bit_len())};
  }

  bool contains(const ip_addr& a) const noexcept;
  std::string to_string() const;

  friend auto operator<=>(const ip_prefix&, const ip_prefix&) = default;

  template <class H>
  friend H AbslHashValue(H h, const ip_prefix& p) {
    return H::combine(std::move(h), p.addr, p.bits);
  }
};

/// ip_endpoint is an address and a port ("1.2.3.4:80", "[fd7a::1]:80").
struct ip_endpoint {
  ip_addr addr;
  uint16_t port = 0;

  static std::optional<ip_endpoint> parse(std::string_view text);
  std::string to_string() const;

  friend auto operator<=>(const ip_endpoint&, const ip_endpoint&) = default;

  template <class H>
  friend H AbslHashValue(H h, const ip_endpoint& e) {
    return H::combine(std::move(h), e.addr, e.port);
  }
};

} // namespace tf
