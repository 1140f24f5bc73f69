// SPDX-License-Identifier: Apache-2.0
// A node's persistent key/value state (tsnet's ipn.StateStore): in memory or
// one JSON file rewritten atomically on every change. A store is safe to
// share across threads (one mutex inside). It never overwrites a state file
// it could not parse, and never keeps serialized secrets in freed memory.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/result.hpp"

namespace tf {

/// state_store is a string-to-string map that outlives the process (unless
/// in_memory()). Values may hold private keys: never log them.
class state_store {
public:
  virtual ~state_store() = default;

  /// read returns the value of `key`, or nothing when the key is absent.
  virtual result<std::optional<std::string>> read(std::string_view key) = 0;

  /// write sets `key` to `value`; the change is durable before it returns.
  /// On failure the store keeps its previous contents.
  virtual result<void> write(std::string_view key, std::string_view value) = 0;

  /// erase removes `key` (a missing key is not an error).
  virtual result<void> erase(std::string_view key) = 0;

  /// in_memory reports whether the contents vanish with the process.
  virtual bool in_memory() const = 0;
};

/// make_memory_store returns an empty store that lives in memory only.
std::shared_ptr<state_store> make_memory_store();

/// open_file_store opens the JSON state file at `path` (one object mapping
/// keys to string values). A missing or empty file is created as "{}" with
/// mode 0600; its directory must exist. A corrupt file (bad JSON, not an
/// object, non-string values) gives errc::state_corrupt with the path and
/// the parser's reason, and is left untouched: a store also refuses to write
/// (errc::state_corrupt) while the file on disk is corrupt. Unreadable paths
/// (a directory, EACCES, ...) give errc::io_error with the errno text. Every
/// write replaces the file atomically (temp file with mode 0600, fsync,
/// rename, fsync of the directory).
result<std::shared_ptr<state_store>>
open_file_store(const std::filesystem::path& path);

/// state_file_name is the file open_state_dir keeps inside its directory.
inline constexpr std::string_view state_file_name = "tailfleet.state";

/// open_state_dir creates `dir` (and missing parents) with mode 0700 if
/// missing, and opens dir/"tailfleet.state". An existing `dir` that is not a
/// directory gives errc::io_error; an existing directory keeps its mode.
result<std::shared_ptr<state_store>>
open_state_dir(const std::filesystem::path& dir);

} // namespace tf
