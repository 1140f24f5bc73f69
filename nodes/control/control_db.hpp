// SPDX-License-Identifier: Apache-2.0
// The coordination server's persistent store: users, pre-auth keys, nodes
// and settings in one SQLite file (WAL). Owned by the coordination server
// actor: one thread at a time, never shared (no SQLite mutex). Never stores
// a pre-auth key's secret, only its display prefix and SHA-256.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/ip.hpp"
#include "runtime/keys.hpp"
#include "runtime/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace tf::control {

/// db_user is one owner of nodes and keys.
struct db_user {
  uint64_t id = 0;
  std::string login_name; // unique
  std::string display_name;
  int64_t created = 0; // unix seconds
};

/// db_preauth_key is a pre-authentication key, without its secret.
struct db_preauth_key {
  uint64_t id = 0;
  std::string prefix; // first 16 chars of the secret, for display
  uint64_t user_id = 0;
  bool reusable = false;
  bool ephemeral = false;
  bool preauthorized = true;
  std::vector<std::string> tags;
  int64_t expiration = 0; // unix seconds, 0 = never
  bool used = false;
  int64_t created = 0; // unix seconds
};

/// db_node is one registered node. Invalid ipv4/ipv6 mean "not assigned";
/// user_id and auth_key_id 0 mean "none".
struct db_node {
  uint64_t id = 0;
  std::string stable_id;
  machine_public_key machine;
  node_public_key node_key; // unique
  uint64_t user_id = 0;
  std::string hostname;
  std::string given_name; // unique DNS label, e.g. "web-1"
  ip_addr ipv4;           // unique
  ip_addr ipv6;           // unique
  bool ephemeral = false;
  std::vector<std::string> tags;
  int64_t created = 0;
  int64_t last_seen = 0;
  int64_t key_expiry = 0;
  uint64_t auth_key_id = 0;
  std::vector<ip_endpoint> endpoints;
  bool logged_out = false;
  bool authorized = true;  // false: waits for an admin (NeedsMachineAuth)
};

/// control_db is an open database. Errors: SQLite failures are
/// errc::io_error with SQLite's message; a violated uniqueness or reference
/// is errc::invalid_argument naming the column; a damaged file or row is
/// errc::state_corrupt; a missing row for update/delete is node_not_found or
/// not_found.
class control_db {
public:
  /// schema_version is the schema this build creates and understands.
  static constexpr int schema_version = 1;

  /// open opens (creating if missing) the database at `path` (":memory:"
  /// allowed), enables WAL, synchronous=NORMAL and foreign keys, and
  /// migrates the schema. A file that is not a SQLite database, or a
  /// database without our schema_version table, gives errc::state_corrupt
  /// and is not modified; a newer schema gives errc::unsupported_version.
  static result<std::unique_ptr<control_db>> open(const std::string& path);

  ~control_db();
  control_db(const control_db&) = delete;
  control_db& operator=(const control_db&) = delete;

  // -- users -----------------------------------------------------------------

  /// create_user adds a user; a taken login_name is errc::invalid_argument.
  result<db_user> create_user(std::string login_name, std::string display_name);
  result<std::optional<db_user>> user_by_login(std::string_view login);
  result<std::vector<db_user>> users();

  // -- pre-auth keys ---------------------------------------------------------

  /// create_preauth_key makes a secret "tskey-auth-" + 32 random hex chars
  /// and stores only its prefix and SHA-256. Returns the row and the secret
  /// (the only time the secret exists). An unknown user is invalid_argument.
  result<std::pair<db_preauth_key, std::string>>
  create_preauth_key(uint64_t user_id, bool reusable, bool ephemeral,
                     bool preauthorized, std::vector<std::string> tags,
                     int64_t expiration);

  /// preauth_key_by_secret finds the key whose hash matches `secret`
  /// (constant-time compare), or nothing. Used/expired keys are returned
  /// as they are: judging them is the caller's business.
  result<std::optional<db_preauth_key>> preauth_key_by_secret(std::string_view secret);

  /// mark_preauth_key_used sets `used`; errc::not_found for an unknown id.
  result<void> mark_preauth_key_used(uint64_t id);

  /// expire_preauth_key sets the expiration to `now`; not_found if unknown.
  result<void> expire_preauth_key(uint64_t id, int64_t now);
  result<std::vector<db_preauth_key>> preauth_keys();

  // -- nodes -----------------------------------------------------------------

  /// insert_node stores `n` and returns it with its new id (never reused)
  /// and, if empty, a stable_id "n" + 12 random hex chars. A zero node key
  /// or an empty given_name is invalid_argument.
  result<db_node> insert_node(db_node n);

  /// update_node rewrites every column of node `n.id`; node_not_found if
  /// there is no such node.
  result<void> update_node(const db_node& n);

  /// delete_node removes node `id`; node_not_found if there is none.
  result<void> delete_node(uint64_t id);

  /// nodes returns every node, ordered by id.
  result<std::vector<db_node>> nodes();

  // -- settings --------------------------------------------------------------

  result<std::optional<std::string>> setting(std::string_view key);
  result<void> set_setting(std::string_view key, std::string_view value);

private:
  control_db(sqlite3* db, std::string path);

  /// prepare returns the cached statement for `sql` (a string literal).
  result<sqlite3_stmt*> prepare(const char* sql);

  /// exec runs `sql` (one or more statements, rows ignored).
  result<void> exec(const char* sql, std::string_view what);

  /// fail maps SQLite result `rc` of operation `what` to a failure.
  failure fail(std::string_view what, int rc);

  result<void> migrate(int64_t version);
  result<int64_t> read_schema_version();
  result<void> check_changed(std::string_view what, errc missing);

  sqlite3* db_;
  std::string path_;
  std::unordered_map<const char*, sqlite3_stmt*> stmts_; // by SQL literal
};

} // namespace tf::control
