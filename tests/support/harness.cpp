// SPDX-License-Identifier: Apache-2.0
// The integration-test harness. Runs on the calling (non-actor) thread; the
// coordination server and nodes it starts are owned by the caller.
#include "tests/support/harness.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "nodes/actor_system_setup.hpp"
#include "nodes/local_client.hpp"
#include "runtime/control_url.hpp"
#include "runtime/state_store.hpp"
#include "tests/support/fake_control.hpp"

namespace tf::test {

using namespace std::chrono;

system_fixture::system_fixture() : sys((configure_actor_system(cfg), cfg)) {}

result<test_control> start_control(caf::actor_system& sys, const control_tweak& tweak) {
  control::coordination_server_options opts;
  opts.tailnet.domain = test_domain;
  opts.tailnet.ephemeral_timeout = test_ephemeral_timeout;
  opts.server.batch_window = milliseconds(5);
  opts.server.gc_interval = milliseconds(100);
  if (tweak) {
    tweak(opts);
  }
  auto started = control::coordination_server::start(sys, std::move(opts));
  if (!started) {
    // Say why: the callers only require ok().
    std::fprintf(stderr, "start_control: %s\n", started.error().message().c_str());
    return started.error();
  }
  test_control out;
  out.server = std::move(*started);
  // Control URLs are cached per process: a port reused by an earlier test's
  // server (with another key) must not be looked up from the cache.
  forget_control(out.server->url());
  control::auth_key_spec spec;
  spec.user = test_user;
  auto key = out.server->create_auth_key(spec);
  if (!key) {
    std::fprintf(stderr, "start_control: %s\n", key.error().message().c_str());
    return key.error();
  }
  out.auth_key = std::move(*key);
  return out;
}

namespace {

/// ephemeral_node is what every harness node shares: ephemeral, an
/// in-memory store, a quiet log.
server_options ephemeral_node(const std::string& name) {
  server_options o;
  o.hostname = name;
  o.ephemeral = true;
  o.store = make_memory_store();
  o.user_log = quiet_log();
  o.log = quiet_log();
  return o;
}

} // namespace

server_options node_options(const test_control& control, const std::string& name) {
  auto o = ephemeral_node(name);
  o.auth_key = control.auth_key;
  o.control_url = control->url();
  return o;
}

server_options node_options(const fake_control& control, const std::string& name,
                            size_t shards) {
  auto o = ephemeral_node(name);
  o.auth_key = "tskey-fake"; // the fake control accepts any key
  o.control_url = control.url();
  o.control_key = control.public_key().to_string();
  o.num_shards = shards;
  return o;
}

result<std::unique_ptr<server>> make_node(caf::actor_system& sys, const test_control& control,
                                          const std::string& name, const node_tweak& tweak) {
  auto opts = node_options(control, name);
  if (tweak) {
    tweak(opts);
  }
  auto node = std::make_unique<server>(sys, std::move(opts));
  if (auto ok = node->start(); !ok) {
    return ok.error();
  }
  return node;
}

result<std::unique_ptr<server>> start_node(caf::actor_system& sys, const test_control& control,
                                           const std::string& name, const node_tweak& tweak,
                                           milliseconds timeout) {
  auto node = make_node(sys, control, name, tweak);
  if (!node) {
    return node.error();
  }
  if (auto st = (*node)->up(timeout); !st) {
    return st.error();
  }
  return std::move(*node);
}

bool wait_until(const std::function<bool()>& pred, milliseconds limit) {
  auto deadline = steady_clock::now() + limit;
  for (;;) {
    if (pred()) {
      return true;
    }
    if (steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
}

wire::node_id node_id_of(server& node) {
  auto st = node.local_client().status();
  return st && st->self ? st->self->id : 0;
}

size_t num_peers_of(server& node) {
  auto st = node.local_client().status();
  return st ? st->num_peers : 0;
}

std::shared_ptr<spdlog::logger> quiet_log() {
  static auto log = [] {
    auto out = std::make_shared<spdlog::logger>(
      "tf-test", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    const char* level = std::getenv("TF_TEST_LOG");
    out->set_level(level ? spdlog::level::from_str(level) : spdlog::level::off);
    return out;
  }();
  return log;
}

temp_dir::temp_dir() {
  auto pattern = (std::filesystem::temp_directory_path() / "tailfleet-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    // No unique name: fall back to one per process and instance.
    static std::atomic<int> next{0};
    pattern.resize(pattern.size() - 6);
    pattern += std::to_string(::getpid()) + "-" + std::to_string(next++);
  }
  path_ = pattern;
  std::error_code ec;
  std::filesystem::create_directories(path_, ec);
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

} // namespace tf::test
