// SPDX-License-Identifier: Apache-2.0
// tf::server: resolving options (defaults, environment) and the blocking
// lifecycle calls. Runs on caller threads; the node actor owns the node.
#include "nodes/server.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "actors/errors.hpp"
#include "nodes/local_client.hpp"

namespace tf {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string{v} : std::string{};
}

std::string program_name() {
  std::string name = program_invocation_short_name;
  return name.empty() ? std::string{"tailfleet"} : name;
}

std::filesystem::path default_dir(const std::string& hostname) {
  std::filesystem::path base;
  if (auto xdg = env("XDG_CONFIG_HOME"); !xdg.empty())
    base = xdg;
  else if (auto home = env("HOME"); !home.empty())
    base = std::filesystem::path{home} / ".config";
  else
    base = std::filesystem::temp_directory_path();
  return base / ("tailfleet-" + hostname);
}

std::shared_ptr<spdlog::logger> default_user_log(const std::string& hostname) {
  static auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  return std::make_shared<spdlog::logger>("tailfleet/" + hostname, sink);
}

std::shared_ptr<spdlog::logger> discard_log(const std::string& hostname) {
  static auto sink = std::make_shared<spdlog::sinks::null_sink_mt>();
  auto log = std::make_shared<spdlog::logger>("tailfleet/" + hostname, sink);
  log->set_level(spdlog::level::off);
  return log;
}

} // namespace

server::server(caf::actor_system& sys, server_options opts) : sys_(sys), opts_(std::move(opts)) {
}

server::~server() {
  if (node_ && !closed_)
    static_cast<void>(close());
}

result<actors::node_config> server::resolve() {
  actors::node_config cfg;
  cfg.hostname = opts_.hostname.empty() ? program_name() : opts_.hostname;
  cfg.ephemeral = opts_.ephemeral;
  cfg.auth_key = opts_.auth_key;
  if (cfg.auth_key.empty())
    cfg.auth_key = env("TS_AUTHKEY");
  if (cfg.auth_key.empty())
    cfg.auth_key = env("TS_AUTH_KEY");
  auto force = env("TSNET_FORCE_LOGIN");
  cfg.force_login = force == "1" || force == "true";
  cfg.control_url = opts_.control_url.empty() ? env("TS_CONTROL_URL") : opts_.control_url;
  if (cfg.control_url.empty())
    return make_error(errc::invalid_argument,
                      "no control URL: set server_options.control_url or TS_CONTROL_URL");
  if (auto u = control_url::parse(cfg.control_url); !u)
    return u.error();
  if (!opts_.control_key.empty()) {
    auto key = machine_public_key::parse(opts_.control_key);
    if (!key)
      return make_error(errc::bad_key, "control_key: " + key.error().message());
    cfg.control_key = *key;
  }
  cfg.advertise_tags = opts_.advertise_tags;
  for (auto& t : cfg.advertise_tags)
    if (!t.starts_with("tag:") || t.size() < 5)
      return make_error(errc::invalid_argument, "advertise_tags: tags look like tag:name, not "
                                                  + t);
  if (opts_.store) {
    if (opts_.store->in_memory() && !opts_.ephemeral)
      return make_error(errc::memory_store_not_ephemeral,
                        "in-memory store is only supported for ephemeral nodes");
    cfg.store = opts_.store;
  } else {
    auto dir = opts_.dir.empty() ? default_dir(cfg.hostname) : std::filesystem::path{opts_.dir};
    auto store = open_state_dir(dir);
    if (!store)
      return store.error();
    cfg.store = std::move(*store);
  }
  cfg.user_log = opts_.user_log ? opts_.user_log : default_user_log(cfg.hostname);
  cfg.log = opts_.log ? opts_.log : discard_log(cfg.hostname);
  cfg.num_shards = std::max<size_t>(1, opts_.num_shards);
  if (opts_.data_plane) {
    auto t = opts_.port == 0 ? tunnel::shared_tunnel() : tunnel::udp_tunnel::open(opts_.port);
    if (!t)
      return t.error();
    cfg.tunnel = std::move(*t);
    cfg.in_memory_peers = opts_.in_memory_peers;
  }
  return cfg;
}

result<void> server::start() {
  if (started_)
    return *started_;
  auto cfg = resolve();
  if (!cfg) {
    started_ = result<void>{cfg.error()};
    return *started_;
  }
  cfg_ = *cfg;
  node_ = actors::spawn_node(sys_, std::move(*cfg));
  started_ = result<void>{};
  return *started_;
}

result<bus::status> server::up(std::chrono::milliseconds timeout) {
  if (auto ok = start(); !ok)
    return ok.error();
  if (closed_)
    return make_error(errc::closed, "server closed");
  caf::scoped_actor self{sys_};
  std::optional<result<bus::status>> out;
  self->request(node_, timeout, actors::up_atom::value)
    .receive([&](bus::status& s) { out.emplace(std::move(s)); },
             [&](caf::error& err) { out.emplace(actors::from_caf(err)); });
  if (out->ok() && out->value().tailnet_ips.empty())
    return make_error(errc::internal, "node is running without an address");
  return std::move(*out);
}

result<void> server::close() {
  if (closed_)
    return make_error(errc::closed, "server already closed");
  closed_ = true;
  if (!node_)
    return {};
  caf::scoped_actor self{sys_};
  self->monitor(node_);
  result<void> out;
  self->request(node_, cfg_.logout_timeout + std::chrono::seconds(2), actors::close_atom::value)
    .receive([](bool) {}, [&](caf::error& err) { out = actors::from_caf(err); });
  // Wait for the node actor to end, so nothing of it outlives close().
  self->receive([](const caf::down_msg&) {},
                caf::after(std::chrono::seconds(5)) >> [] {});
  return out;
}

local_client server::local_client() {
  static_cast<void>(start());
  return tf::local_client{sys_, node_};
}

} // namespace tf
