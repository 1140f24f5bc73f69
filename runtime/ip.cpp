// SPDX-License-Identifier: Apache-2.0
// Parsing and formatting of addresses, prefixes and endpoints. Pure
// functions, any thread.
#include "runtime/ip.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace tf {

ip_addr ip_addr::v4(uint32_t host_order) {
  ip_addr out;
  out.family_ = 4;
  out.bytes_[0] = static_cast<uint8_t>(host_order >> 24);
  out.bytes_[1] = static_cast<uint8_t>(host_order >> 16);
  out.bytes_[2] = static_cast<uint8_t>(host_order >> 8);
  out.bytes_[3] = static_cast<uint8_t>(host_order);
  return out;
}

ip_addr ip_addr::v6(const bytes16& bytes) {
  ip_addr out;
  out.family_ = 6;
  out.bytes_ = bytes;
  return out;
}

std::optional<ip_addr> ip_addr::parse(std::string_view text) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf))
    return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  ip_addr out;
  if (inet_pton(AF_INET, buf, out.bytes_.data()) == 1) {
    out.family_ = 4;
    return out;
  }
  if (inet_pton(AF_INET6, buf, out.bytes_.data()) == 1) {
    out.family_ = 6;
    return out;
  }
  return std::nullopt;
}

uint32_t ip_addr::v4_value() const noexcept {
  if (!is_v4())
    return 0;
  return uint32_t{bytes_[0]} << 24 | uint32_t{bytes_[1]} << 16
         | uint32_t{bytes_[2]} << 8 | bytes_[3];
}

ip_addr ip_addr::unmap() const {
  if (!is_v6())
    return *this;
  static constexpr uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(bytes_.data(), prefix, sizeof(prefix)) != 0)
    return *this;
  return v4(bytes_[12], bytes_[13], bytes_[14], bytes_[15]);
}

std::string ip_addr::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4())
    inet_ntop(AF_INET, bytes_.data(), buf, sizeof(buf));
  else if (is_v6())
    inet_ntop(AF_INET6, bytes_.data(), buf, sizeof(buf));
  else
    return "invalid";
  return buf;
}

std::optional<ip_prefix> ip_prefix::parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr = ip_addr::parse(text.substr(0, slash));
  if (!addr)
    return std::nullopt;
  if (slash == std::string_view::npos)
    return ip_prefix::host(*addr);
  auto digits = text.substr(slash + 1);
  unsigned bits = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || digits.empty()
      || bits > static_cast<unsigned>(addr->bit_len()))
    return std::nullopt;
  return ip_prefix{*addr, static_cast<uint8_t>(bits)};
}

bool ip_prefix::contains(const ip_addr& a) const noexcept {
  if (a.is_v4() != addr.is_v4() || !a.valid())
    return false;
  const auto& x = a.bytes();
  const auto& y = addr.bytes();
  unsigned full = bits / 8;
  if (std::memcmp(x.data(), y.data(), full) != 0)
    return false;
  unsigned rest = bits % 8;
  if (rest == 0)
    return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (x[full] & mask) == (y[full] & mask);
}

std::string ip_prefix::to_string() const {
  return addr.to_string() + "/" + std::to_string(bits);
}

std::optional<ip_endpoint> ip_endpoint::parse(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find("]:");
    if (close == std::string_view::npos)
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos
        || text.find(':') != colon) // bare IPv6 needs brackets
      return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto addr = ip_addr::parse(host);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (!addr || port.empty() || ec != std::errc{} || ptr != port.data() + port.size()
      || value > 65535)
    return std::nullopt;
  return ip_endpoint{*addr, static_cast<uint16_t>(value)};
}

std::string ip_endpoint::to_string() const {
  if (addr.is_v6())
    return "[" + addr.to_string() + "]:" + std::to_string(port);
  return addr.to_string() + ":" + std::to_string(port);
}

} // namespace tf
