// SPDX-License-Identifier: Apache-2.0
// coordination_server: the embeddable coordination server (what
// `tailfleet control` runs, and what tests and the demo start in-process).
// It opens the database, listens on a control port (nodes) and an HTTP port
// (GET /key and the admin API), and runs the control_server actor. Public
// methods block and may be called from any non-actor thread.
#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "nodes/control/control_server.hpp"
#include "nodes/control/tailnet.hpp"

namespace httplib {
class Server;
}

namespace tf::control {

struct coordination_server_options {
  /// listen_host is the numeric address both ports bind to.
  std::string listen_host = "127.0.0.1";
  /// control_port and http_port: 0 picks free ports.
  uint16_t control_port = 0;
  uint16_t http_port = 0;
  /// db_path is the SQLite file; ":memory:" keeps nothing across restarts.
  std::string db_path = ":memory:";
  tailnet_options tailnet;
  control_server_config server;
  /// admin_token guards /api/v1 (HTTP "Authorization: Bearer <token>");
  /// empty generates one.
  std::string admin_token;
};

/// auth_key_spec describes a pre-auth key to create (see admin_api.hpp).
struct auth_key_spec {
  std::string user = "default";
  bool reusable = true;
  bool ephemeral = false;
  bool preauthorized = true;
  std::vector<std::string> tags;
  int64_t expires_in = 0;  // seconds; 0 = never
};

class coordination_server {
public:
  /// start opens everything or fails with the cause (bad db, port in use).
  static result<std::unique_ptr<coordination_server>> start(caf::actor_system& sys,
                                                            coordination_server_options opts);
  ~coordination_server();

  coordination_server(const coordination_server&) = delete;
  coordination_server& operator=(const coordination_server&) = delete;

  /// stop closes both ports and waits until the actor is gone.
  void stop();

  /// url is the control URL nodes use: "http://host:http_port".
  std::string url() const;
  uint16_t control_port() const noexcept { return control_port_; }
  uint16_t http_port() const noexcept { return http_port_; }
  const machine_public_key& public_key() const noexcept { return public_key_; }
  const std::string& admin_token() const noexcept { return admin_token_; }
  caf::actor actor() const noexcept { return actor_; }

  /// admin calls the admin API directly (no HTTP).
  admin_response admin(std::string method, std::string path, std::string body = {});

  /// create_auth_key makes a key for spec.user (creating the user if
  /// needed) and returns its secret.
  result<std::string> create_auth_key(const auth_key_spec& spec);

private:
  explicit coordination_server(caf::actor_system& sys);

  caf::actor_system& sys_;
  caf::actor actor_;
  std::string host_;
  uint16_t control_port_ = 0;
  uint16_t http_port_ = 0;
  machine_public_key public_key_;
  std::string admin_token_;
  std::unique_ptr<httplib::Server> http_;
  std::thread http_thread_;
  bool stopped_ = false;
};

} // namespace tf::control
