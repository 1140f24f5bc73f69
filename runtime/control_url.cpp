// SPDX-License-Identifier: Apache-2.0
// Control URL parsing and the cached /key lookup. guards: cache_mutex guards
// the cache map; lookups run outside it.
#include "runtime/control_url.hpp"

#include <httplib.h>
#include <netdb.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <map>
#include <mutex>

#include "runtime/counters.hpp"
#include "runtime/ip.hpp"
#include "runtime/wire.hpp"

namespace tf {

namespace {

std::mutex cache_mutex; // guards: cache
std::map<std::string, control_endpoint, std::less<>> cache;

result<std::string> numeric_host(const std::string& host) {
  if (ip_addr::parse(host))
    return host;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0)
    return make_error(errc::io_error, "resolve " + host + ": " + gai_strerror(rc));
  char buf[64] = {};
  ::getnameinfo(res->ai_addr, res->ai_addrlen, buf, sizeof(buf), nullptr, 0, NI_NUMERICHOST);
  ::freeaddrinfo(res);
  return std::string{buf};
}

result<control_endpoint> fetch_key(const control_url& u, std::chrono::milliseconds timeout) {
  httplib::Client client{u.host, u.port};
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
  auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count() % 1000000;
  client.set_connection_timeout(secs, usecs);
  client.set_read_timeout(secs, usecs);
  auto res = client.Get("/key?v=" + std::to_string(wire::protocol_version));
  if (!res)
    return make_error(errc::io_error, "GET http://" + u.host + ":" + std::to_string(u.port)
                                        + "/key: " + httplib::to_string(res.error()));
  if (res->status != 200)
    return make_error(errc::io_error, "GET /key: HTTP " + std::to_string(res->status));
  auto body = nlohmann::json::parse(res->body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body["public_key"].is_string()
      || !body["control_port"].is_number_unsigned()) {
    TF_COUNTER("control_key_response_malformed").add();
    return make_error(errc::malformed_message, "GET /key: malformed answer");
  }
  auto key = machine_public_key::parse(body["public_key"].get<std::string>());
  if (!key)
    return key.error();
  auto port = body["control_port"].get<uint64_t>();
  if (port == 0 || port > 65535)
    return make_error(errc::malformed_message, "GET /key: bad control port");
  auto host = numeric_host(u.host);
  if (!host)
    return host.error();
  return control_endpoint{std::move(*host), static_cast<uint16_t>(port), *key};
}

} // namespace

result<control_url> control_url::parse(std::string_view text) {
  control_url out;
  auto rest = text;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("tcp://")) {
    out.kind = scheme::tcp;
    rest.remove_prefix(6);
  } else {
    return make_error(errc::invalid_argument,
                      "control URL must start with http:// or tcp://: " + std::string{text});
  }
  if (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  std::string_view host, port;
  if (rest.starts_with('[')) {
    auto close = rest.find("]:");
    if (close == std::string_view::npos)
      return make_error(errc::invalid_argument, "control URL: bad [v6]:port");
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos)
      return make_error(errc::invalid_argument, "control URL needs a port: " + std::string{text});
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || ec != std::errc{} || ptr != port.data() + port.size() || value == 0
      || value > 65535)
    return make_error(errc::invalid_argument, "control URL: bad host or port: "
                                                + std::string{text});
  out.host = host;
  out.port = static_cast<uint16_t>(value);
  return out;
}

result<control_endpoint> resolve_control(std::string_view url,
                                         const std::optional<machine_public_key>& pinned,
                                         std::chrono::milliseconds timeout) {
  {
    std::lock_guard<std::mutex> guard{cache_mutex};
    if (auto i = cache.find(url); i != cache.end()) {
      if (pinned && *pinned != i->second.key)
        return make_error(errc::bad_key, "control server key differs from the pinned key");
      return i->second;
    }
  }
  auto u = control_url::parse(url);
  if (!u)
    return u.error();
  control_endpoint ep;
  if (u->kind == control_url::scheme::tcp) {
    if (!pinned)
      return make_error(errc::invalid_argument,
                        "a tcp:// control URL needs the server's key (control_key)");
    auto host = numeric_host(u->host);
    if (!host)
      return host.error();
    ep = control_endpoint{std::move(*host), u->port, *pinned};
  } else {
    auto fetched = fetch_key(*u, timeout);
    if (!fetched)
      return fetched.error();
    if (pinned && *pinned != fetched->key) {
      TF_COUNTER("control_key_mismatch").add();
      return make_error(errc::bad_key, "control server key " + fetched->key.to_string()
                                         + " differs from the pinned key");
    }
    ep = std::move(*fetched);
  }
  std::lock_guard<std::mutex> guard{cache_mutex};
  cache[std::string{url}] = ep;
  return ep;
}

std::optional<control_endpoint> cached_control(std::string_view url) {
  std::lock_guard<std::mutex> guard{cache_mutex};
  if (auto i = cache.find(url); i != cache.end())
    return i->second;
  return std::nullopt;
}

void forget_control(std::string_view url) {
  std::lock_guard<std::mutex> guard{cache_mutex};
  if (auto i = cache.find(url); i != cache.end())
    cache.erase(i);
}

std::string key_response_json(const machine_public_key& key, uint16_t control_port) {
  nlohmann::json j;
  j["protocol_version"] = wire::protocol_version;
  j["public_key"] = key.to_string();
  j["control_port"] = control_port;
  return j.dump();
}

} // namespace tf
