// SPDX-License-Identifier: Apache-2.0
// control_db: the nodes table. Only the coordination server actor's thread
// touches it. Keys and addresses are stored in their text forms; a row that
// does not decode is reported as state_corrupt, never silently skipped.
#include "nodes/control/control_db.hpp"

#include <sqlite3.h>

#include "nodes/control/control_db_util.hpp"
#include "nodes/control/sqlite_stmt.hpp"
#include "runtime/counters.hpp"
#include "runtime/hex.hpp"

namespace tf::control {

namespace {

// Column order of the select; insert and update bind the same columns
// (without id) as ?1..?17.
#define TF_NODE_COLUMNS                                                         \
  "stable_id, machine_key, node_key, user_id, hostname, given_name, ipv4, "   \
  "ipv6, ephemeral, tags, created, last_seen, key_expiry, auth_key_id, "      \
  "endpoints, logged_out, authorized"

/// node_text holds the encoded columns of a node while its statement runs.
struct node_text {
  std::string tags;
  std::string endpoints;
};

result<node_text> encode(const db_node& n) {
  auto tags = string_array_json(n.tags, "node tags");
  if (!tags) {
    return tags.error();
  }
  std::vector<std::string> eps;
  eps.reserve(n.endpoints.size());
  for (const auto& ep : n.endpoints) {
    eps.push_back(ep.to_string());
  }
  auto endpoints = string_array_json(eps, "node endpoints");
  if (!endpoints) {
    return endpoints.error();
  }
  return node_text{std::move(*tags), std::move(*endpoints)};
}

void bind_node(stmt_use& q, const db_node& n, const node_text& text) {
  q.bind(1, std::string_view{n.stable_id});
  q.bind(2, std::string_view{n.machine.to_string()});
  q.bind(3, std::string_view{n.node_key.to_string()});
  q.bind_id(4, n.user_id);
  q.bind(5, std::string_view{n.hostname});
  q.bind(6, std::string_view{n.given_name});
  q.bind_opt_text(7, n.ipv4.valid() ? n.ipv4.to_string() : std::string{});
  q.bind_opt_text(8, n.ipv6.valid() ? n.ipv6.to_string() : std::string{});
  q.bind(9, n.ephemeral);
  q.bind(10, std::string_view{text.tags});
  q.bind(11, n.created);
  q.bind(12, n.last_seen);
  q.bind(13, n.key_expiry);
  q.bind_id(14, n.auth_key_id);
  q.bind(15, std::string_view{text.endpoints});
  q.bind(16, n.logged_out);
  q.bind(17, n.authorized);
}

/// read_addr decodes an optional address column (NULL = not assigned).
bool read_addr(const stmt_use& q, int col, ip_addr& out) {
  auto text = q.text(col);
  if (text.empty()) {
    return true;
  }
  auto addr = ip_addr::parse(text);
  if (!addr) {
    return false;
  }
  out = *addr;
  return true;
}

result<db_node> read_node(const stmt_use& q) {
  db_node n;
  n.id = q.uint64(0);
  auto what = [&](const char* column) {
    return "node " + std::to_string(n.id) + " " + column;
  };
  n.stable_id = q.text(1);
  auto machine = machine_public_key::parse(q.text(2));
  if (!machine) {
    return corrupt_row(what("machine_key"));
  }
  n.machine = *machine;
  auto key = node_public_key::parse(q.text(3));
  if (!key) {
    return corrupt_row(what("node_key"));
  }
  n.node_key = *key;
  n.user_id = q.uint64(4);
  n.hostname = q.text(5);
  n.given_name = q.text(6);
  if (!read_addr(q, 7, n.ipv4) || (n.ipv4.valid() && !n.ipv4.is_v4())) {
    return corrupt_row(what("ipv4"));
  }
  if (!read_addr(q, 8, n.ipv6) || (n.ipv6.valid() && !n.ipv6.is_v6())) {
    return corrupt_row(what("ipv6"));
  }
  n.ephemeral = q.boolean(9);
  auto tags = parse_string_array(q.text(10));
  if (!tags) {
    return corrupt_row(what("tags"));
  }
  n.tags = std::move(*tags);
  n.created = q.int64(11);
  n.last_seen = q.int64(12);
  n.key_expiry = q.int64(13);
  n.auth_key_id = q.uint64(14);
  auto eps = parse_string_array(q.text(15));
  if (!eps) {
    return corrupt_row(what("endpoints"));
  }
  for (const auto& text : *eps) {
    auto ep = ip_endpoint::parse(text);
    if (!ep) {
      return corrupt_row(what("endpoints"));
    }
    n.endpoints.push_back(*ep);
  }
  n.logged_out = q.boolean(16);
  n.authorized = q.boolean(17);
  return n;
}

/// check_node rejects nodes the table must never hold.
result<void> check_node(const db_node& n) {
  std::string why;
  if (n.node_key.is_zero()) {
    why = "node key is zero";
  } else if (n.given_name.empty()) {
    why = "given name is empty";
  } else if (n.ipv4.valid() && !n.ipv4.is_v4()) {
    why = "ipv4 holds an IPv6 address";
  } else if (n.ipv6.valid() && !n.ipv6.is_v6()) {
    why = "ipv6 holds an IPv4 address";
  } else {
    return {};
  }
  TF_COUNTER("control_db_rejected_node").add();
  return make_error(errc::invalid_argument, "node \"" + n.given_name + "\": " + why);
}

} // namespace

result<db_node> control_db::insert_node(db_node n) {
  if (auto ok = check_node(n); !ok) {
    return ok.error();
  }
  if (n.stable_id.empty()) {
    uint8_t raw[6];
    random_bytes(raw, sizeof raw);
    n.stable_id = "n" + to_hex(raw);
  }
  auto text = encode(n);
  if (!text) {
    return text.error();
  }
  auto s = prepare("INSERT INTO nodes (" TF_NODE_COLUMNS ") VALUES (?1, ?2, "
                   "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)");
  if (!s) {
    return s.error();
  }
  stmt_use q{*s};
  bind_node(q, n, *text);
  if (int rc = q.step(); rc != SQLITE_DONE) {
    return fail("insert node \"" + n.given_name + "\"", rc);
  }
  n.id = static_cast<uint64_t>(sqlite3_last_insert_rowid(db_));
  return n;
}

result<void> control_db::update_node(const db_node& n) {
  if (auto ok = check_node(n); !ok) {
    return ok.error();
  }
  auto text = encode(n);
  if (!text) {
    return text.error();
  }
  auto s = prepare("UPDATE nodes SET stable_id = ?1, machine_key = ?2, "
                   "node_key = ?3, user_id = ?4, hostname = ?5, given_name = ?6, "
                   "ipv4 = ?7, ipv6 = ?8, ephemeral = ?9, tags = ?10, "
                   "created = ?11, last_seen = ?12, key_expiry = ?13, "
                   "auth_key_id = ?14, endpoints = ?15, logged_out = ?16, "
                   "authorized = ?17 WHERE id = ?18");
  if (!s) {
    return s.error();
  }
  stmt_use q{*s};
  bind_node(q, n, *text);
  q.bind(18, n.id);
  if (int rc = q.step(); rc != SQLITE_DONE) {
    return fail("update node " + std::to_string(n.id) + " \"" + n.given_name + "\"", rc);
  }
  return check_changed("update node " + std::to_string(n.id),
                       errc::node_not_found);
}

result<void> control_db::delete_node(uint64_t id) {
  auto s = prepare("DELETE FROM nodes WHERE id = ?1");
  if (!s) {
    return s.error();
  }
  stmt_use q{*s};
  q.bind(1, id);
  if (int rc = q.step(); rc != SQLITE_DONE) {
    return fail("delete node " + std::to_string(id), rc);
  }
  return check_changed("delete node " + std::to_string(id),
                       errc::node_not_found);
}

result<std::vector<db_node>> control_db::nodes() {
  auto s = prepare("SELECT id, " TF_NODE_COLUMNS " FROM nodes ORDER BY id");
  if (!s) {
    return s.error();
  }
  stmt_use q{*s};
  std::vector<db_node> out;
  int rc = SQLITE_OK;
  while ((rc = q.step()) == SQLITE_ROW) {
    auto n = read_node(q);
    if (!n) {
      return n.error();
    }
    out.push_back(std::move(*n));
  }
  if (rc != SQLITE_DONE) {
    return fail("list nodes", rc);
  }
  return out;
}

} // namespace tf::control
