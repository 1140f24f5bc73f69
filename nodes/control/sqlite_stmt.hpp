// SPDX-License-Identifier: Apache-2.0
// Internal to control_db: one use of a cached prepared statement (binds,
// steps, column reads), reset on scope exit so the cache can reuse it. Used
// only on the thread that owns the control_db. Never owns the statement.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace tf::control {

/// stmt_use borrows a prepared statement for one execution.
class stmt_use {
public:
  explicit stmt_use(sqlite3_stmt* stmt) : stmt_(stmt) {
    // nop
  }

  ~stmt_use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  stmt_use(const stmt_use&) = delete;
  stmt_use& operator=(const stmt_use&) = delete;

  // -- binding (1-based indexes; the first failure is reported by step) ------

  void bind(int idx, int64_t value) { check(sqlite3_bind_int64(stmt_, idx, value)); }

  void bind(int idx, uint64_t value) { bind(idx, static_cast<int64_t>(value)); }

  void bind(int idx, bool value) { bind(idx, int64_t{value ? 1 : 0}); }

  void bind(int idx, std::string_view text) {
    check(sqlite3_bind_text64(stmt_, idx, text.data(), text.size(),
                              SQLITE_TRANSIENT, SQLITE_UTF8));
  }

  void bind_blob(int idx, const void* data, size_t len) {
    check(sqlite3_bind_blob64(stmt_, idx, data, len, SQLITE_TRANSIENT));
  }

  /// bind_id binds `value`, or NULL when it is 0 ("none").
  void bind_id(int idx, uint64_t value) {
    if (value == 0) {
      check(sqlite3_bind_null(stmt_, idx));
    } else {
      bind(idx, value);
    }
  }

  /// bind_opt_text binds `text`, or NULL when it is empty.
  void bind_opt_text(int idx, std::string_view text) {
    if (text.empty()) {
      check(sqlite3_bind_null(stmt_, idx));
    } else {
      bind(idx, text);
    }
  }

  // -- stepping and columns (0-based indexes) ---------------------------------

  /// step returns SQLITE_ROW, SQLITE_DONE or an error code (including the
  /// first failed bind).
  int step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(stmt_); }

  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }

  uint64_t uint64(int col) const { return static_cast<uint64_t>(int64(col)); }

  bool boolean(int col) const { return int64(col) != 0; }

  std::string text(int col) const {
    auto p = sqlite3_column_text(stmt_, col);
    auto n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? std::string{}
                        : std::string{reinterpret_cast<const char*>(p),
                                      static_cast<size_t>(n)};
  }

  std::string_view blob(int col) const {
    auto p = sqlite3_column_blob(stmt_, col);
    auto n = sqlite3_column_bytes(stmt_, col);
    return p == nullptr ? std::string_view{}
                        : std::string_view{static_cast<const char*>(p),
                                           static_cast<size_t>(n)};
  }

private:
  void check(int rc) {
    if (bind_rc_ == SQLITE_OK) {
      bind_rc_ = rc;
    }
  }

  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

} // namespace tf::control
