// SPDX-License-Identifier: Apache-2.0
// Start-up, HTTP front end and shutdown of the embeddable coordination
// server. The HTTP server runs its own threads and reaches the actor only
// through blocking requests; the actor owns all tailnet state.
#include "nodes/control/coordination_server.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "actors/atoms.hpp"
#include "runtime/control_url.hpp"
#include "runtime/counters.hpp"
#include "runtime/hex.hpp"

namespace tf::control {

namespace {

using namespace std::chrono;

constexpr auto admin_timeout = seconds(10);

int64_t now_ms() {
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string random_token() {
  uint8_t raw[24];
  random_bytes(raw, sizeof(raw));
  return to_hex(raw);
}

bool bearer_ok(const httplib::Request& req, const std::string& token) {
  auto got = req.get_header_value("Authorization");
  auto want = "Bearer " + token;
  if (got.size() != want.size())
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < got.size(); ++i)
    diff |= static_cast<unsigned char>(got[i] ^ want[i]);
  return diff == 0;
}

} // namespace

result<std::unique_ptr<coordination_server>>
coordination_server::start(caf::actor_system& sys, coordination_server_options opts) {
  if (!opts.server.log) {
    opts.server.log = std::make_shared<spdlog::logger>("tailfleet-control",
                                                       std::make_shared<spdlog::sinks::null_sink_mt>());
  }
  auto db = control_db::open(opts.db_path);
  if (!db)
    return db.error();
  auto net = tailnet::open(**db, opts.tailnet, now_ms());
  if (!net)
    return net.error();
  auto control = listen_tcp(opts.listen_host, opts.control_port);
  if (!control)
    return control.error();
  std::unique_ptr<coordination_server> out{new coordination_server(sys)};
  out->host_ = opts.listen_host;
  out->control_port_ = control->port;
  out->public_key_ = (*net)->server_key().public_key();
  out->admin_token_ = opts.admin_token.empty() ? random_token() : opts.admin_token;
  out->http_ = std::make_unique<httplib::Server>();
  // cpp-httplib listens with a backlog of 5 (compiled into Debian's shared
  // library, so CPPHTTPLIB_LISTEN_BACKLOG cannot raise it): a fleet fetching
  // GET /key at once overflowed it, and each dropped SYN cost a node a 1 s
  // retransmit. Catch the socket and listen again with a larger backlog.
  auto http_fd = std::make_shared<int>(-1);
  out->http_->set_socket_options([http_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    *http_fd = static_cast<int>(sock);
  });
  int bound = opts.http_port == 0 ? out->http_->bind_to_any_port(opts.listen_host)
                                  : (out->http_->bind_to_port(opts.listen_host, opts.http_port)
                                       ? opts.http_port
                                       : -1);
  if (bound > 0 && *http_fd >= 0) {
    ::listen(*http_fd, 1024);
  }
  if (bound <= 0) {
    ::close(control->fd);
    return make_error(errc::io_error, "cannot listen on http port " + opts.listen_host + ":"
                                        + std::to_string(opts.http_port));
  }
  out->http_port_ = static_cast<uint16_t>(bound);
  out->actor_ = spawn_control_server(sys, *control, std::move(*db), std::move(*net),
                                     std::move(opts.server));
  auto* self = out.get();
  self->http_->Get("/key", [self](const httplib::Request&, httplib::Response& res) {
    res.set_content(key_response_json(self->public_key_, self->control_port_),
                    "application/json");
  });
  auto api = [self](const httplib::Request& req, httplib::Response& res) {
    if (!bearer_ok(req, self->admin_token_)) {
      TF_COUNTER("control_admin_unauthorized").add();
      res.status = 401;
      res.set_content(R"({"error":"missing or wrong bearer token","code":"not_authorized"})",
                      "application/json");
      return;
    }
    auto out = self->admin(req.method, req.path, req.body);
    res.status = out.status;
    res.set_content(out.body, "application/json");
  };
  self->http_->Get(R"(/api/v1/.*)", api);
  self->http_->Post(R"(/api/v1/.*)", api);
  self->http_->Delete(R"(/api/v1/.*)", api);
  self->http_thread_ = std::thread{[self] { self->http_->listen_after_bind(); }};
  return out;
}

coordination_server::coordination_server(caf::actor_system& sys) : sys_(sys) {
}

coordination_server::~coordination_server() {
  stop();
}

void coordination_server::stop() {
  if (stopped_)
    return;
  stopped_ = true;
  http_->stop();
  if (http_thread_.joinable())
    http_thread_.join();
  caf::scoped_actor self{sys_};
  self->monitor(actor_);
  self->send_exit(actor_, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {});
  actor_ = nullptr;
}

std::string coordination_server::url() const {
  return "http://" + host_ + ":" + std::to_string(http_port_);
}

admin_response coordination_server::admin(std::string method, std::string path,
                                          std::string body) {
  caf::scoped_actor self{sys_};
  admin_response out{500, R"({"error":"coordination server did not answer","code":"timeout"})"};
  self
    ->request(actor_, admin_timeout, actors::admin_atom::value,
              admin_request{std::move(method), std::move(path), std::move(body)})
    .receive([&](admin_response& r) { out = std::move(r); },
             [&](caf::error& e) {
               nlohmann::json j{{"error", "admin request failed: " + sys_.render(e)},
                                {"code", "unavailable"}};
               out.body = j.dump();
             });
  return out;
}

result<std::string> coordination_server::create_auth_key(const auth_key_spec& spec) {
  using json = nlohmann::json;
  admin("POST", "/api/v1/users", json{{"name", spec.user}}.dump()); // exists: fine
  json body{{"user", spec.user},           {"reusable", spec.reusable},
            {"ephemeral", spec.ephemeral}, {"preauthorized", spec.preauthorized},
            {"tags", spec.tags},           {"expires_in", spec.expires_in}};
  auto res = admin("POST", "/api/v1/preauthkeys", body.dump());
  auto j = json::parse(res.body, nullptr, false);
  if (res.status != 201 || j.is_discarded() || !j.contains("key"))
    return make_error(errc::internal, "create auth key: " + res.body);
  return j["key"].get<std::string>();
}

} // namespace tf::control
