// SPDX-License-Identifier: Apache-2.0
// Where a node finds its coordination server. A control URL is either
// "http://host:port" (the server's HTTP endpoint: GET /key tells its public
// key and control port, as Tailscale's /key does) or "tcp://host:port" (the
// control port itself; the server key must then be configured). Lookups
// block and are cached process-wide (mutex-guarded), so a fleet of nodes in
// one process asks once. Call from a thread that may block.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/keys.hpp"
#include "runtime/result.hpp"

namespace tf {

/// control_url is a parsed control URL.
struct control_url {
  enum class scheme { http, tcp };
  scheme kind = scheme::http;
  std::string host;
  uint16_t port = 0;

  static result<control_url> parse(std::string_view text);
};

/// control_endpoint is a resolved control port and the server's key.
struct control_endpoint {
  std::string host;  // numeric address
  uint16_t port = 0;
  machine_public_key key;
};

/// resolve_control finds the control endpoint of `url`. With `pinned`, the
/// server's key must equal it (errc::bad_key otherwise); a tcp:// URL needs
/// `pinned`. Results are cached per URL for the life of the process.
result<control_endpoint> resolve_control(std::string_view url,
                                         const std::optional<machine_public_key>& pinned,
                                         std::chrono::milliseconds timeout);

/// cached_control returns the cached endpoint of `url` without blocking.
std::optional<control_endpoint> cached_control(std::string_view url);

/// forget_control drops the cached endpoint of `url` (after a failure).
void forget_control(std::string_view url);

/// key_response_json renders the body of GET /key (the server side).
std::string key_response_json(const machine_public_key& key, uint16_t control_port);

} // namespace tf
