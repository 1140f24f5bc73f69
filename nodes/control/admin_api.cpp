// SPDX-License-Identifier: Apache-2.0
// Admin API routes. Runs on the control_server broker only.
#include "nodes/control/admin_api.hpp"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <charconv>
#include <optional>
#include <string_view>

#include "runtime/counters.hpp"

namespace tf::control {

namespace {

using json = nlohmann::json;

admin_response reply(const json& body, int status = 200) {
  return admin_response{status, body.dump()};
}

admin_response fail(errc code, const std::string& why) {
  int status = 400;
  if (code == errc::not_found || code == errc::node_not_found)
    status = 404;
  else if (code == errc::io_error || code == errc::internal)
    status = 500;
  TF_COUNTER("control_admin_errors").add();
  return reply(json{{"error", why}, {"code", std::string{to_string(code)}}}, status);
}

admin_response fail(const failure& f) {
  return fail(f.code, f.message());
}

json user_json(const db_user& u) {
  return {{"id", u.id}, {"name", u.login_name}, {"display_name", u.display_name},
          {"created", u.created}};
}

json key_json(const db_preauth_key& k) {
  return {{"id", k.id},           {"prefix", k.prefix},         {"user_id", k.user_id},
          {"reusable", k.reusable}, {"ephemeral", k.ephemeral}, {"preauthorized", k.preauthorized},
          {"tags", k.tags},       {"expiration", k.expiration}, {"used", k.used},
          {"created", k.created}};
}

json endpoints_json(const db_node& n) {
  json out = json::array();
  for (auto& ep : n.endpoints)
    out.push_back(ep.to_string());
  return out;
}

json node_json(const tailnet& net, const db_node& n) {
  auto w = net.to_wire(n);
  json addrs = json::array();
  for (auto& a : w.addresses)
    addrs.push_back(a.addr.to_string());
  return {{"id", n.id},           {"stable_id", n.stable_id},   {"name", w.name},
          {"hostname", n.hostname}, {"addresses", addrs},       {"user_id", n.user_id},
          {"tags", n.tags},       {"ephemeral", n.ephemeral},   {"online", net.is_online(n.id)},
          {"last_seen", n.last_seen}, {"authorized", n.authorized},
          {"logged_out", n.logged_out}, {"node_key", n.node_key.to_string()},
          {"endpoints", endpoints_json(n)}, {"wireguard_only", is_wireguard_only(n)}};
}

// id_in parses "<prefix><id><suffix>" paths such as /api/v1/nodes/7/authorize.
bool id_in(std::string_view path, std::string_view prefix, std::string_view suffix,
           uint64_t& id) {
  if (!path.starts_with(prefix) || !path.ends_with(suffix)
      || path.size() <= prefix.size() + suffix.size())
    return false;
  auto digits = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  return ec == std::errc{} && ptr == digits.data() + digits.size();
}

template <class T>
T field_or(const json& body, const char* name, T fallback) {
  auto i = body.find(name);
  if (i == body.end() || i->is_null())
    return fallback;
  return i->get<T>();
}

admin_response create_key(tailnet& net, const json& body, int64_t now_ms) {
  auto user_name = field_or<std::string>(body, "user", "");
  if (user_name.empty())
    return fail(errc::invalid_argument, "\"user\" is required");
  auto user = net.user_by_login(user_name);
  if (!user)
    return fail(user.error());
  auto tags = field_or<std::vector<std::string>>(body, "tags", {});
  for (auto& t : tags)
    if (!t.starts_with("tag:") || t.size() < 5)
      return fail(errc::invalid_argument, "tags look like tag:name, not " + t);
  int64_t expiration = field_or<int64_t>(body, "expiration", 0);
  if (auto in = field_or<int64_t>(body, "expires_in", 0); in > 0)
    expiration = now_ms / 1000 + in;
  auto made = net.db().create_preauth_key(
    user->id, field_or<bool>(body, "reusable", false), field_or<bool>(body, "ephemeral", false),
    field_or<bool>(body, "preauthorized", true), std::move(tags), expiration);
  if (!made)
    return fail(made.error());
  auto out = key_json(made->first);
  out["key"] = made->second;
  return reply(out, 201);
}

/// parse_node_key reads "nodekey:<64 hex>" or the 44-character base64 form
/// `wg` prints.
std::optional<node_public_key> parse_node_key(const std::string& text) {
  if (text.starts_with("nodekey:")) {
    auto key = node_public_key::parse(text);
    return key ? std::optional{*key} : std::nullopt;
  }
  key_bytes raw{};
  size_t len = 0;
  const char* end = nullptr;
  if (text.size() != 44
      || sodium_base642bin(raw.data(), raw.size(), text.data(), text.size(), nullptr, &len,
                           &end, sodium_base64_VARIANT_ORIGINAL)
           != 0
      || len != raw.size() || end != text.data() + text.size())
    return std::nullopt;
  return node_public_key{raw};
}

/// rejected counts one refused WireGuard-only registration and answers 400.
admin_response rejected(counter& c, errc code, const std::string& why) {
  c.add();
  return fail(code, why);
}

/// parse_endpoints reads "endpoints" (["ip:port", ...]) into `out`; the
/// refusal if one is not an endpoint.
std::optional<admin_response> parse_endpoints(const json& body, std::vector<ip_endpoint>& out) {
  for (auto& text : field_or<std::vector<std::string>>(body, "endpoints", {})) {
    auto ep = ip_endpoint::parse(text);
    if (!ep)
      return rejected(TF_COUNTER("control_wg_only_rejected_bad_endpoint"),
                      errc::invalid_argument, "bad endpoint \"" + text + "\" (want ip:port)");
    out.push_back(*ep);
  }
  return std::nullopt;
}

/// set_endpoints moves a WireGuard-only node (a node that reports its own
/// endpoints would overwrite them with its next map request). Peers get the
/// change as an endpoint patch.
admin_response set_endpoints(tailnet& net, uint64_t id, const json& body) {
  auto* n = net.find(id);
  if (n == nullptr)
    return fail(errc::node_not_found, "no node " + std::to_string(id));
  if (!is_wireguard_only(*n))
    return fail(errc::invalid_argument, "node " + std::to_string(id)
                                          + " reports its own endpoints; only WireGuard-only"
                                            " nodes are moved by the admin");
  std::vector<ip_endpoint> eps;
  if (auto bad = parse_endpoints(body, eps))
    return *bad;
  if (auto ok = net.update_endpoints(id, eps); !ok)
    return fail(ok.error());
  return reply(node_json(net, *net.find(id)));
}

admin_response create_wireguard_only(tailnet& net, const json& body, int64_t now_ms) {
  auto user_name = field_or<std::string>(body, "user", "");
  auto user = net.user_by_login(user_name);
  if (!user && user.error().code != errc::not_found)
    return fail(user.error());
  if (!user)
    return rejected(TF_COUNTER("control_wg_only_rejected_unknown_user"), errc::invalid_argument,
                    user_name.empty() ? "\"user\" is required" : "no user " + user_name);
  wireguard_only_spec spec;
  spec.user_id = user->id;
  spec.hostname = field_or<std::string>(body, "hostname", "");
  auto key = parse_node_key(field_or<std::string>(body, "node_key", ""));
  if (!key)
    return rejected(TF_COUNTER("control_wg_only_rejected_bad_key"), errc::bad_key,
                    "\"node_key\" must be nodekey:<64 hex digits> or 44 characters of base64");
  spec.node_key = *key;
  if (auto bad = parse_endpoints(body, spec.endpoints))
    return *bad;
  if (auto text = field_or<std::string>(body, "ipv4", ""); !text.empty()) {
    auto addr = ip_addr::parse(text);
    if (!addr || !addr->is_v4())
      return rejected(TF_COUNTER("control_wg_only_rejected_bad_address"),
                      errc::invalid_argument, "\"ipv4\" is not an IPv4 address: " + text);
    spec.ipv4 = *addr;
  }
  auto made = net.add_wireguard_only(spec, now_ms);
  return made ? reply(node_json(net, *made), 201) : fail(made.error());
}

admin_response route(tailnet& net, const admin_request& req, const json& body, int64_t now_ms,
                     std::vector<wire::node_id>& deleted) {
  auto& m = req.method;
  auto& p = req.path;
  uint64_t id = 0;
  if (m == "GET" && p == "/api/v1/users") {
    json out = json::array();
    for (auto& u : net.users())
      out.push_back(user_json(u));
    return reply(out);
  }
  if (m == "POST" && p == "/api/v1/users") {
    auto name = field_or<std::string>(body, "name", "");
    if (name.empty())
      return fail(errc::invalid_argument, "\"name\" is required");
    auto u = net.create_user(name, field_or<std::string>(body, "display_name", name));
    return u ? reply(user_json(*u), 201) : fail(u.error());
  }
  if (m == "GET" && p == "/api/v1/preauthkeys") {
    auto keys = net.db().preauth_keys();
    if (!keys)
      return fail(keys.error());
    json out = json::array();
    for (auto& k : *keys)
      out.push_back(key_json(k));
    return reply(out);
  }
  if (m == "POST" && p == "/api/v1/preauthkeys")
    return create_key(net, body, now_ms);
  if (m == "POST" && id_in(p, "/api/v1/preauthkeys/", "/expire", id)) {
    auto ok = net.db().expire_preauth_key(id, now_ms / 1000);
    return ok ? reply(json{{"id", id}, {"expired", true}}) : fail(ok.error());
  }
  if (m == "GET" && p == "/api/v1/nodes") {
    json out = json::array();
    for (auto* n : net.nodes())
      out.push_back(node_json(net, *n));
    return reply(out);
  }
  if (m == "POST" && p == "/api/v1/nodes/wireguard-only")
    return create_wireguard_only(net, body, now_ms);
  if (m == "DELETE" && id_in(p, "/api/v1/nodes/", "", id)) {
    auto ok = net.delete_node(id);
    if (!ok)
      return fail(ok.error());
    deleted.push_back(id);
    return reply(json{{"id", id}, {"deleted", true}});
  }
  if (m == "POST" && id_in(p, "/api/v1/nodes/", "/endpoints", id))
    return set_endpoints(net, id, body);
  if (m == "POST" && id_in(p, "/api/v1/nodes/", "/authorize", id)) {
    auto ok = net.authorize(id);
    return ok ? reply(json{{"id", id}, {"authorized", true}}) : fail(ok.error());
  }
  return fail(errc::not_found, "no route " + m + " " + p);
}

} // namespace

admin_response handle_admin(tailnet& net, const admin_request& req, int64_t now_ms,
                            std::vector<wire::node_id>& deleted) {
  json body = json::object();
  if (!req.body.empty()) {
    body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return fail(errc::malformed_message, "request body is not a JSON object");
  }
  try {
    return route(net, req, body, now_ms, deleted);
  } catch (const json::exception& e) {
    // A field of the wrong JSON type.
    return fail(errc::malformed_message, e.what());
  }
}

} // namespace tf::control
