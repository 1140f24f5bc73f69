// SPDX-License-Identifier: Apache-2.0
// control_db: opening, schema migration, the statement cache, error mapping,
// users and settings (keys and nodes have their own files).
// Only the coordination server actor's thread touches it. Never writes to a
// file it could not read as one of our databases.
#include "nodes/control/control_db.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <system_error>

#include "nodes/control/control_db_util.hpp"
#include "nodes/control/sqlite_stmt.hpp"
#include "runtime/counters.hpp"

namespace tf::control {

namespace {

/// migrations[i] moves the schema from version i to version i + 1.
const char* const migrations[] = {
  R"sql(
CREATE TABLE schema_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  login_name TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE TABLE preauth_keys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  prefix TEXT NOT NULL,
  hash BLOB NOT NULL UNIQUE,
  user_id INTEGER NOT NULL REFERENCES users(id),
  reusable INTEGER NOT NULL,
  ephemeral INTEGER NOT NULL,
  preauthorized INTEGER NOT NULL,
  tags TEXT NOT NULL,
  expiration INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL
);
CREATE INDEX preauth_keys_by_prefix ON preauth_keys(prefix);
CREATE TABLE nodes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  stable_id TEXT NOT NULL UNIQUE,
  machine_key TEXT NOT NULL,
  node_key TEXT NOT NULL UNIQUE,
  user_id INTEGER REFERENCES users(id),
  hostname TEXT NOT NULL,
  given_name TEXT NOT NULL UNIQUE,
  ipv4 TEXT UNIQUE,
  ipv6 TEXT UNIQUE,
  ephemeral INTEGER NOT NULL,
  tags TEXT NOT NULL,
  created INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  key_expiry INTEGER NOT NULL,
  auth_key_id INTEGER REFERENCES preauth_keys(id),
  endpoints TEXT NOT NULL,
  logged_out INTEGER NOT NULL,
  authorized INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql",
};

constexpr int64_t num_migrations = std::size(migrations);
static_assert(num_migrations == control_db::schema_version);

/// check_header refuses an existing, non-empty file that does not start
/// with SQLite's magic string (SQLite itself would treat a short file as an
/// empty database and write to it).
failure io_failure(const std::string& path, const char* what, int err) {
  return make_error(errc::io_error,
                    "control db " + path + ": " + what + ": "
                      + std::error_code{err, std::generic_category()}.message());
}

result<void> check_header(const std::string& path) {
  if (path.empty() || path == ":memory:") {
    return {};
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return {};
    }
    return io_failure(path, "open", errno);
  }
  static constexpr char magic[] = "SQLite format 3"; // with its NUL: 16 bytes
  char head[sizeof magic] = {};
  size_t got = 0;
  while (got < sizeof head) {
    auto n = ::read(fd, head + got, sizeof head - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return io_failure(path, "read", err);
    }
    if (n == 0) {
      break;
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got == 0) {
    return {}; // an empty file is a new database
  }
  if (got < sizeof head || std::memcmp(head, magic, sizeof magic) != 0) {
    TF_COUNTER("control_db_corrupt").add();
    return make_error(errc::state_corrupt,
                      "control db " + path
                        + ": not a SQLite database (bad header); left as is");
  }
  return {};
}

db_user read_user(const stmt_use& q) {
  return db_user{q.uint64(0), q.text(1), q.text(2), q.int64(3)};
}

} // namespace

// -- lifetime -------------------------------------------------------------------

control_db::control_db(sqlite3* db, std::string path)
  : db_(db), path_(std::move(path)) {
  // nop
}

control_db::~control_db() {
  for (auto& entry : stmts_) {
    sqlite3_finalize(entry.second);
  }
  sqlite3_close(db_);
}

result<std::unique_ptr<control_db>> control_db::open(const std::string& path) {
  if (auto header = check_header(path); !header) {
    return header.error();
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                             | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return make_error(errc::io_error, "control db " + path + ": open: " + msg);
  }
  std::unique_ptr<control_db> db{new control_db(raw, path)};
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  // Read before anything may write: a file that is not one of our databases
  // (or is from a newer build) fails here, untouched.
  auto version = db->read_schema_version();
  if (!version) {
    return version.error();
  }
  if (*version > num_migrations || *version < 0) {
    return make_error(errc::unsupported_version,
                      "control db " + path + ": schema version "
                        + std::to_string(*version)
                        + " is not one this build knows (up to "
                        + std::to_string(num_migrations) + ")");
  }
  auto mode = db->prepare("PRAGMA journal_mode=WAL");
  if (!mode) {
    return mode.error();
  }
  {
    stmt_use q{*mode};
    rc = q.step();
    if (rc != SQLITE_ROW) {
      return db->fail("enable WAL", rc);
    }
    auto got = q.text(0);
    if (got != "wal" && got != "memory") {
      return make_error(errc::io_error, "control db " + path
                                          + ": journal mode is " + got
                                          + " after asking for WAL");
    }
  }
  if (auto r = db->exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                        "set pragmas");
      !r) {
    return r.error();
  }
  if (auto r = db->migrate(*version); !r) {
    return r.error();
  }
  return db;
}

// -- plumbing -------------------------------------------------------------------

result<sqlite3_stmt*> control_db::prepare(const char* sql) {
  if (auto i = stmts_.find(sql); i != stmts_.end()) {
    return i->second;
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                              nullptr);
  if (rc != SQLITE_OK) {
    return fail("prepare", rc);
  }
  stmts_.emplace(sql, stmt);
  return stmt;
}

result<void> control_db::exec(const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return fail(what, rc);
  }
  return {};
}

failure control_db::fail(std::string_view what, int rc) {
  std::string msg = sqlite3_extended_errcode(db_) == rc ? sqlite3_errmsg(db_)
                                                        : sqlite3_errstr(rc);
  auto detail = "control db " + path_ + ": " + std::string{what} + ": " + msg;
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      TF_COUNTER("control_db_corrupt").add();
      return make_error(errc::state_corrupt,
                        detail + " (not a usable SQLite database; left as is)");
    case SQLITE_CONSTRAINT:
      TF_COUNTER("control_db_constraint_violations").add();
      return make_error(errc::invalid_argument, detail);
    default:
      return make_error(errc::io_error, detail);
  }
}

result<void> control_db::check_changed(std::string_view what, errc missing) {
  if (sqlite3_changes(db_) == 0) {
    TF_COUNTER("control_db_unknown_id").add();
    return make_error(missing, std::string{what} + ": no such row");
  }
  return {};
}

result<int64_t> control_db::read_schema_version() {
  auto s = prepare("SELECT (SELECT count(*) FROM sqlite_master WHERE type = "
                   "'table' AND name = 'schema_version'), (SELECT count(*) "
                   "FROM sqlite_master WHERE name NOT LIKE 'sqlite_%')");
  if (!s) {
    return s.error();
  }
  int64_t has_table = 0;
  int64_t num_objects = 0;
  {
    stmt_use q{*s};
    if (int rc = q.step(); rc != SQLITE_ROW) {
      return fail("read schema", rc);
    }
    has_table = q.int64(0);
    num_objects = q.int64(1);
  }
  if (has_table == 0) {
    if (num_objects > 0) {
      TF_COUNTER("control_db_corrupt").add();
      return make_error(errc::state_corrupt,
                        "control db " + path_ + ": has tables but no "
                          + "schema_version: not a tailfleet control database");
    }
    return int64_t{0};
  }
  auto v = prepare("SELECT version FROM schema_version WHERE id = 1");
  if (!v) {
    return v.error();
  }
  stmt_use q{*v};
  if (int rc = q.step(); rc != SQLITE_ROW) {
    return rc == SQLITE_DONE ? corrupt_row("schema_version row missing")
                             : fail("read schema version", rc);
  }
  return q.int64(0);
}

result<void> control_db::migrate(int64_t version) {
  for (auto step = version; step < num_migrations; ++step) {
    if (auto r = exec("BEGIN IMMEDIATE", "begin migration"); !r) {
      return r;
    }
    auto applied = exec(migrations[step], "migrate schema");
    if (applied) {
      auto s = prepare("INSERT INTO schema_version (id, version) VALUES (1, ?1) "
                       "ON CONFLICT(id) DO UPDATE SET version = excluded.version");
      if (!s) {
        applied = s.error();
      } else {
        stmt_use q{*s};
        q.bind(1, step + 1);
        if (int rc = q.step(); rc != SQLITE_DONE) {
          applied = fail("record schema version", rc);
        }
      }
    }
    if (applied) {
      applied = exec("COMMIT", "commit migration");
    }
    if (!applied) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return applied;
    }
  }
  return {};
}

// -- users ----------------------------------------------------------------------

result<db_user> control_db::create_user(std::string login_name,
                                        std::string display_name) {
  if (login_name.empty()) {
    TF_COUNTER("control_db_rejected_user").add();
    return make_error(errc::invalid_argument, "create user: empty login name");
  }
  auto s = prepare("INSERT INTO users (login_name, display_name, created) "
                   "VALUES (?1, ?2, ?3)");
  if (!s) {
    return s.error();
  }
  db_user u{0, std::move(login_name), std::move(display_name), unix_now()};
  stmt_use q{*s};
  q.bind(1, std::string_view{u.login_name});
  q.bind(2, std::string_view{u.display_name});
  q.bind(3, u.created);
  if (int rc = q.step(); rc != SQLITE_DONE) {
    return fail("create user \"" + u.login_name + "\"", rc);
  }
  u.id = static_cast<uint64_t>(sqlite3_last_insert_rowid(db_));
  return u;
}

result<std::optional<db_user>> control_db::user_by_login(std::string_view login) {
  auto s = prepare("SELECT id, login_name, display_name, created FROM users "
                   "WHERE login_name = ?1");
  if (!s) {
    return s.error();
  }
  stmt_use q{*s};
  q.bind(1, login);
  int rc = q.step();
  if (rc == SQLITE_ROW) {
    return std::optional<db_user>{read_user(q)};
  }
  if (rc != SQLITE_DONE) {
    return fail("find user", rc);
  }
  return std::optional<db_user>{};
}

result<std::vector<db_user>> control_db::users() {
  auto s = prepare("SELECT id, login_name, display_name, created FROM users "
                   "ORDER BY id");
  if (!s) {
    return s.error();
  }
  stmt_use q{*s};
  std::vector<db_user> out;
  int rc = SQLITE_OK;
  while ((rc = q.step()) == SQLITE_ROW) {
    out.push_back(read_user(q));
  }
  if (rc != SQLITE_DONE) {
    return fail("list users", rc);
  }
  return out;
}

// -- settings -------------------------------------------------------------------

result<std::optional<std::string>> control_db::setting(std::string_view key) {
  auto s = prepare("SELECT value FROM settings WHERE key = ?1");
  if (!s) {
    return s.error();
  }
  stmt_use q{*s};
  q.bind(1, key);
  int rc = q.step();
  if (rc == SQLITE_ROW) {
    return std::optional<std::string>{q.text(0)};
  }
  if (rc != SQLITE_DONE) {
    return fail("read setting", rc);
  }
  return std::optional<std::string>{};
}

result<void> control_db::set_setting(std::string_view key, std::string_view value) {
  auto s = prepare("INSERT INTO settings (key, value) VALUES (?1, ?2) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!s) {
    return s.error();
  }
  stmt_use q{*s};
  q.bind(1, key);
  q.bind(2, value);
  if (int rc = q.step(); rc != SQLITE_DONE) {
    return fail("write setting \"" + std::string{key} + "\"", rc);
  }
  return {};
}

} // namespace tf::control
