// SPDX-License-Identifier: Apache-2.0
// The control session of one node: a CAF broker (it runs on the middleman's
// I/O thread, so a received frame is handled without a thread hand-off). It
// connects to the coordination server, runs the Noise handshake, registers,
// opens the map stream, and turns each map response into one message per
// touched peer-map shard; node-level facts go to the node actor. It
// reconnects with backoff until stopped. Only the broker touches its state.
#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "actors/peer_shard.hpp"
#include "runtime/keys.hpp"
#include "runtime/wire.hpp"

namespace tf::actors {

/// control_session_config is everything a session needs; fixed at spawn.
struct control_session_config {
  caf::actor node;                      // receives control_event messages
  std::vector<peer_shard_actor> shards;
  std::vector<std::shared_ptr<credit_window>> credits;  // one per shard
  std::string host;                     // numeric IPv4 or IPv6 address
  uint16_t port = 0;
  machine_private_key machine_key;
  machine_public_key server_key;
  wire::register_request registration;  // node key, auth key, hostinfo, ...
  std::vector<ip_endpoint> endpoints;   // the node's WireGuard UDP endpoints
  std::shared_ptr<spdlog::logger> log;
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{10'000};
  /// idle_timeout: reconnect when the server (which sends keep-alives) has
  /// been silent this long.
  std::chrono::milliseconds idle_timeout{120'000};
};

/// spawn_control_session starts the session broker; it connects at once.
/// Messages it accepts besides I/O: (logout_atom) -> bool, replied once the
/// server confirmed the logout.
caf::actor spawn_control_session(caf::actor_system& sys, control_session_config cfg);

} // namespace tf::actors
