// SPDX-License-Identifier: Apache-2.0
// The integration-test harness (style rule 13): an in-process coordination
// server on loopback (start_control) and embedded nodes joined to it
// (start_node), plus a polling helper and temp directories. Tests and bench/
// call it from their main thread, never from an actor; it never asserts
// anything itself: failures come back as tf::result values.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "nodes/control/coordination_server.hpp"
#include "nodes/server.hpp"
#include "runtime/result.hpp"

namespace tf::test {

/// test_domain is the MagicDNS suffix of every test tailnet.
inline constexpr const char* test_domain = "test.tailnet.internal";

/// test_user owns the harness's default auth key.
inline constexpr const char* test_user = "alice@example.com";

/// test_ephemeral_timeout is control's (shortened) ephemeral-node timeout.
inline constexpr std::chrono::milliseconds test_ephemeral_timeout{1000};

/// system_fixture is an actor system set up like tailfleet's programs
/// (tf::configure_actor_system). Declare it before anything that uses it.
struct system_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  system_fixture();
};

/// test_control is a running coordination server and a reusable,
/// preauthorized, non-ephemeral auth key of test_user.
struct test_control {
  std::unique_ptr<control::coordination_server> server;
  std::string auth_key;

  control::coordination_server* operator->() const noexcept { return server.get(); }
};

using control_tweak = std::function<void(control::coordination_server_options&)>;
using node_tweak = std::function<void(server_options&)>;

/// start_control starts a coordination server on 127.0.0.1 (free ports,
/// in-memory db, 5 ms batch window, 100 ms expiry tick, ephemeral timeout
/// test_ephemeral_timeout, domain test_domain); `tweak` may change any of
/// it (db_path for a file db, fixed ports, the alt hook, ...).
result<test_control> start_control(caf::actor_system& sys, const control_tweak& tweak = {});

/// node_options are the harness defaults for node `name`: ephemeral, an
/// in-memory store, the control's URL and auth key, a quiet log.
server_options node_options(const test_control& control, const std::string& name);

class fake_control;

/// node_options for a node of a fake control (tests/support/fake_control):
/// its URL and key, any auth key (it accepts all), `shards` peer shards.
server_options node_options(const fake_control& control, const std::string& name,
                            size_t shards);

/// make_node builds node `name` (node_options, then `tweak`) and calls
/// start(), but does not wait: call up() yourself (to join many at once).
result<std::unique_ptr<server>> make_node(caf::actor_system& sys, const test_control& control,
                                          const std::string& name,
                                          const node_tweak& tweak = {});

/// start_node is make_node plus up(timeout): the node is Running.
result<std::unique_ptr<server>> start_node(caf::actor_system& sys, const test_control& control,
                                           const std::string& name,
                                           const node_tweak& tweak = {},
                                           std::chrono::milliseconds timeout
                                           = std::chrono::seconds(20));

/// wait_until polls `pred` every 10 ms until it holds (true) or `limit`
/// passed (false). The predicate runs on the calling thread.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit);

/// node_id_of is a running node's id (0 if it has none yet).
wire::node_id node_id_of(server& node);

/// num_peers_of counts the peers a node holds now (0 on error).
size_t num_peers_of(server& node);

/// quiet_log is a logger for nodes under test: silent unless $TF_TEST_LOG
/// names a spdlog level ("debug", "info", ...).
std::shared_ptr<spdlog::logger> quiet_log();

/// temp_dir is a fresh directory under the system temp dir, removed with
/// everything in it when the object is destroyed.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  std::string str(const std::string& child = {}) const { return (path_ / child).string(); }

private:
  std::filesystem::path path_;
};

} // namespace tf::test
