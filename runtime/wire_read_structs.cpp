// SPDX-License-Identifier: Apache-2.0
// The struct and message readers of the wire codec: each struct is an array
// of at least num_fields elements read in declaration order; extra trailing
// elements (a newer peer's fields) are skipped. Pure functions; any thread.
// Never reads a field of another protocol version.
#include <limits>
#include <string>

#include "runtime/wire_read.hpp"

namespace tf::wire::reader {

bool read(wire_cursor& in, hostinfo& v, read_ctx& c) {
  return read_struct<hostinfo>(in, "hostinfo", c, [&] {
    return field(in, v.hostname, "hostname", c) && field(in, v.os, "os", c)
           && field(in, v.request_tags, "request_tags", c);
  });
}

bool read(wire_cursor& in, node& v, read_ctx& c) {
  return read_struct<node>(in, "node", c, [&] {
    return field(in, v.id, "id", c) && field(in, v.stable_id, "stable_id", c)
           && field(in, v.name, "name", c) && field(in, v.key, "key", c)
           && field(in, v.machine, "machine", c) && field(in, v.key_expiry, "key_expiry", c)
           && field(in, v.addresses, "addresses", c)
           && field(in, v.allowed_ips, "allowed_ips", c)
           && field(in, v.endpoints, "endpoints", c) && field(in, v.user, "user", c)
           && field(in, v.tags, "tags", c) && field(in, v.hostname, "hostname", c)
           && field(in, v.created, "created", c) && field(in, v.online, "online", c)
           && field(in, v.last_seen, "last_seen", c)
           && field(in, v.machine_authorized, "machine_authorized", c);
  });
}

bool read(wire_cursor& in, user_profile& v, read_ctx& c) {
  return read_struct<user_profile>(in, "user_profile", c, [&] {
    return field(in, v.id, "id", c) && field(in, v.login_name, "login_name", c)
           && field(in, v.display_name, "display_name", c)
           && field(in, v.profile_pic_url, "profile_pic_url", c);
  });
}

bool read(wire_cursor& in, dns_config& v, read_ctx& c) {
  return read_struct<dns_config>(in, "dns_config", c, [&] {
    return field(in, v.magic_dns, "magic_dns", c) && field(in, v.resolvers, "resolvers", c)
           && field(in, v.search_domains, "search_domains", c)
           && field(in, v.cert_domains, "cert_domains", c);
  });
}

bool read(wire_cursor& in, peer_change& v, read_ctx& c) {
  return read_struct<peer_change>(in, "peer_change", c, [&] {
    return field(in, v.id, "id", c) && field(in, v.endpoints, "endpoints", c)
           && field(in, v.online, "online", c) && field(in, v.last_seen, "last_seen", c)
           && field(in, v.key, "key", c) && field(in, v.key_expiry, "key_expiry", c);
  });
}

/// check_version refuses any version but ours before reading further
/// fields (another version may lay them out differently).
bool check_version(wire_cursor& in, uint16_t& v, read_ctx& c) {
  if (!read(in, v, c)) {
    return c.at("version");
  }
  if (v != protocol_version) {
    c.fail_unsupported("version " + std::to_string(v) + " is not supported (this build speaks "
                       + std::to_string(protocol_version) + ")");
    return c.at("version");
  }
  return true;
}

bool read(wire_cursor& in, register_request& v, read_ctx& c) {
  return read_struct<register_request>(in, "register_request", c, [&] {
    return check_version(in, v.version, c) && field(in, v.node_key, "node_key", c)
           && field(in, v.old_node_key, "old_node_key", c)
           && field(in, v.auth_key, "auth_key", c) && field(in, v.ephemeral, "ephemeral", c)
           && field(in, v.expiry, "expiry", c) && field(in, v.host, "host", c);
  });
}

bool read(wire_cursor& in, register_response& v, read_ctx& c) {
  return read_struct<register_response>(in, "register_response", c, [&] {
    return field(in, v.error_code, "error_code", c) && field(in, v.error, "error", c)
           && field(in, v.machine_authorized, "machine_authorized", c)
           && field(in, v.node_key_expired, "node_key_expired", c)
           && field(in, v.auth_url, "auth_url", c) && field(in, v.id, "id", c)
           && field(in, v.stable_id, "stable_id", c) && field(in, v.user, "user", c)
           && field(in, v.logged_out, "logged_out", c);
  });
}

bool read(wire_cursor& in, map_request& v, read_ctx& c) {
  return read_struct<map_request>(in, "map_request", c, [&] {
    return check_version(in, v.version, c) && field(in, v.node_key, "node_key", c)
           && field(in, v.stream, "stream", c) && field(in, v.omit_peers, "omit_peers", c)
           && field(in, v.host, "host", c) && field(in, v.endpoints, "endpoints", c);
  });
}

namespace {

// skip_peers checks the shape of a peer list (nil or an array of values,
// each a well-formed msgpack value within the limits) and records where
// it lies, for encoded_peers to decode later, node by node.
bool skip_peers(wire_cursor& in, std::optional<std::vector<node>>& v, read_ctx& c) {
  auto& span = *c.defer_peers;
  v.reset();
  span = {};
  if (in.take_nil())
    return true;
  uint32_t n = 0;
  if (!open_counted_array<node>(in, n, c))
    return false;
  span.begin = in.position();
  span.depth = in.depth();
  if (!in.skip(n, c))
    return false;
  span.end = in.position();
  span.count = n;
  span.present = true;
  in.leave();
  v.emplace();
  return true;
}

bool peers_field(wire_cursor& in, std::optional<std::vector<node>>& v, read_ctx& c) {
  if (!c.defer_peers)
    return field(in, v, "peers", c);
  return skip_peers(in, v, c) || c.at("peers");
}

} // namespace

bool read(wire_cursor& in, map_response& v, read_ctx& c) {
  return read_struct<map_response>(in, "map_response", c, [&] {
    return field(in, v.seq, "seq", c) && field(in, v.keep_alive, "keep_alive", c)
           && field(in, v.self, "self", c) && peers_field(in, v.peers, c)
           && field(in, v.dns, "dns", c) && field(in, v.domain, "domain", c)
           && field(in, v.peers_changed, "peers_changed", c)
           && field(in, v.peers_removed, "peers_removed", c)
           && field(in, v.peers_changed_patch, "peers_changed_patch", c)
           && field(in, v.online_change, "online_change", c)
           && field(in, v.peer_seen_change, "peer_seen_change", c)
           && field(in, v.user_profiles, "user_profiles", c)
           && field(in, v.control_time, "control_time", c);
  });
}

bool read(wire_cursor& in, control_error& v, read_ctx& c) {
  return read_struct<control_error>(in, "control_error", c, [&] {
    return field(in, v.code, "code", c) && field(in, v.message, "message", c);
  });
}

namespace {

template <class T>
bool read_body(wire_cursor& in, message& out, const char* name, read_ctx& c) {
  // A message of the same kind is read over (a reused one keeps its buffers).
  auto* body = std::get_if<T>(&out);
  return read(in, body ? *body : out.emplace<T>(), c) || c.at(name);
}

} // namespace

} // namespace tf::wire::reader

namespace tf::wire {

using reader::read_body;

bool read_message(wire_cursor& in, message& out, read_ctx& c) {
  value_head h;
  if (!in.next(h, c)) {
    return false;
  }
  if (h.kind != value_head::array || h.len < 2) {
    return c.fail("want array (kind, body); " + describe(h));
  }
  uint64_t kind = 0;
  if (!in.enter(c)) {
    return false;
  }
  if (!reader::read_uint(in, std::numeric_limits<uint8_t>::max(), kind, c)) {
    return c.at("kind");
  }
  bool ok = false;
  switch (static_cast<message_kind>(kind)) {
    case message_kind::register_request:
      ok = read_body<register_request>(in, out, "register_request", c);
      break;
    case message_kind::register_response:
      ok = read_body<register_response>(in, out, "register_response", c);
      break;
    case message_kind::map_request:
      ok = read_body<map_request>(in, out, "map_request", c);
      break;
    case message_kind::map_response:
      ok = read_body<map_response>(in, out, "map_response", c);
      break;
    case message_kind::control_error:
      ok = read_body<control_error>(in, out, "control_error", c);
      break;
    default:
      return c.fail("unknown message kind " + std::to_string(kind));
  }
  if (!ok) {
    return false;
  }
  if (!in.skip(h.len - 2, c)) {
    return c.at("(appended fields)");
  }
  in.leave();
  return true;
}

bool read_hello(wire_cursor& in, client_hello& v, read_ctx& c) {
  return reader::read_struct<client_hello>(in, "client_hello", c, [&] {
    return reader::field(in, v.version, "version", c);
  });
}

bool read_hello(wire_cursor& in, server_hello& v, read_ctx& c) {
  return reader::read_struct<server_hello>(in, "server_hello", c, [&] {
    return reader::field(in, v.version, "version", c)
           && reader::field(in, v.error_code, "error_code", c);
  });
}

} // namespace tf::wire
