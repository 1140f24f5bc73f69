// SPDX-License-Identifier: Apache-2.0
// The coordination server's actor: a CAF broker that owns the tailnet model
// (and its database) and every node connection. Registration and map
// requests are answered on the middleman's I/O thread; changes are batched
// over a short window and sent as one delta per live map stream, encoded
// once and encrypted per session. Only the broker touches its state; the
// admin API reaches it through (admin_atom, admin_request) messages.
#pragma once

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "actors/messages.hpp"
#include "nodes/control/tailnet.hpp"
#include "runtime/tcp_listen.hpp"

namespace tf::control {

/// alt_map_stream lets a test or benchmark take over a node's map stream
/// (Tailscale testcontrol's AltMapStream): given the node and its request it
/// returns the first map response, or nothing for the normal stream. Later
/// messages of a taken-over stream come from (alt_atom, node id,
/// map_response) messages sent to the server actor, or (alt_atom, node id,
/// std::vector<map_response>) for several back to back in one write.
using alt_map_stream
  = std::function<std::optional<wire::map_response>(const wire::node&, const wire::map_request&)>;

struct control_server_config {
  std::chrono::milliseconds batch_window{20};
  std::chrono::milliseconds keep_alive{50'000};
  std::chrono::milliseconds gc_interval{1'000};
  std::shared_ptr<spdlog::logger> log;
  alt_map_stream alt;
};

/// admin_request is one admin API call (method, path, JSON body).
struct admin_request {
  std::string method;
  std::string path;
  std::string body;
};

/// admin_response is its answer (HTTP status and JSON body).
struct admin_response {
  int status = 200;
  std::string body;
};

/// spawn_control_server starts the broker on an already listening socket.
caf::actor spawn_control_server(caf::actor_system& sys, listener_socket control,
                                std::unique_ptr<control_db> db, std::unique_ptr<tailnet> net,
                                control_server_config cfg);

} // namespace tf::control

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::control::admin_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tf::control::admin_response)
