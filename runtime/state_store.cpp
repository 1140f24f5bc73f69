// SPDX-License-Identifier: Apache-2.0
// The in-memory and file-backed state stores. Each store's mutex guards its
// map; callers on any thread. A file store never writes over a state file it
// cannot parse, and wipes every buffer that held serialized state.
#include "runtime/state_store.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <mutex>

#include "runtime/counters.hpp"
#include "runtime/state_file.hpp"

namespace fs = std::filesystem;

namespace tf {

namespace {

/// value_check rejects keys and values the JSON file could not hold.
result<void> value_check(std::string_view key, std::string_view value) {
  if (key.empty()) {
    TF_COUNTER("state_store_rejected_empty_key").add();
    return make_error(errc::invalid_argument, "state key must not be empty");
  }
  if (!is_valid_utf8(key) || !is_valid_utf8(value)) {
    TF_COUNTER("state_store_rejected_non_utf8").add();
    return make_error(errc::invalid_argument,
                      "state key and value must be valid UTF-8 text");
  }
  return {};
}

// -- memory store -----------------------------------------------------------

class memory_store final : public state_store {
public:
  ~memory_store() override { wipe_map(values_); }

  result<std::optional<std::string>> read(std::string_view key) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = values_.find(key);
    if (i == values_.end()) {
      return std::optional<std::string>{};
    }
    return std::optional<std::string>{i->second};
  }

  result<void> write(std::string_view key, std::string_view value) override {
    if (auto ok = value_check(key, value); !ok) {
      return ok;
    }
    std::lock_guard<std::mutex> guard{mtx_};
    auto& slot = values_[std::string{key}];
    wipe_string(slot);
    slot.assign(value);
    return {};
  }

  result<void> erase(std::string_view key) override {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = values_.find(key); i != values_.end()) {
      wipe_string(i->second);
      values_.erase(i);
    }
    return {};
  }

  bool in_memory() const override { return true; }

private:
  std::mutex mtx_; // guards: values_
  state_map values_;
};

// -- file store -------------------------------------------------------------

class file_store final : public state_store {
public:
  file_store(fs::path path, state_map values)
    : path_(std::move(path)), values_(std::move(values)) {
    // nop
  }

  ~file_store() override { wipe_map(values_); }

  result<std::optional<std::string>> read(std::string_view key) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = values_.find(key);
    if (i == values_.end()) {
      return std::optional<std::string>{};
    }
    return std::optional<std::string>{i->second};
  }

  result<void> write(std::string_view key, std::string_view value) override {
    if (auto ok = value_check(key, value); !ok) {
      return ok;
    }
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = values_.find(key);
    std::optional<std::string> previous;
    if (i == values_.end()) {
      i = values_.emplace(std::string{key}, std::string{}).first;
    } else {
      previous = std::move(i->second);
    }
    i->second.assign(value);
    auto persisted = persist_locked();
    if (!persisted) {
      wipe_string(i->second);
      if (previous) {
        i->second = std::move(*previous);
      } else {
        values_.erase(i);
      }
    } else if (previous) {
      wipe_string(*previous);
    }
    return persisted;
  }

  result<void> erase(std::string_view key) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = values_.find(key);
    if (i == values_.end()) {
      return {};
    }
    auto node = values_.extract(i);
    auto persisted = persist_locked();
    if (!persisted) {
      values_.insert(std::move(node));
    } else {
      wipe_string(node.mapped());
    }
    return persisted;
  }

  bool in_memory() const override { return false; }

  /// persist_locked rewrites the file from values_, unless the file on disk
  /// has become corrupt or unreadable meanwhile (then it stays untouched).
  result<void> persist_locked() {
    auto on_disk = read_state_file(path_);
    if (!on_disk) {
      TF_COUNTER("state_file_write_refused").add();
      return on_disk.error();
    }
    wipe_map(*on_disk);
    auto text = serialize_state(values_);
    auto replaced = replace_file(path_, text);
    wipe_string(text);
    return replaced;
  }

private:
  const fs::path path_;
  std::mutex mtx_; // guards: values_
  state_map values_;
};

/// make_dirs_0700 creates `dir` and its missing parents with mode 0700.
result<void> make_dirs_0700(const fs::path& dir) {
  fs::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (part.empty() || part == "/" || part == "." || part == "..") {
      continue;
    }
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return io_failure(partial, "create directory", errno);
    }
  }
  // mkdir's mode is filtered by the umask: force 0700 on the leaf we made.
  if (::chmod(dir.c_str(), 0700) != 0) {
    return io_failure(dir, "chmod 0700", errno);
  }
  return {};
}

} // namespace

std::shared_ptr<state_store> make_memory_store() {
  return std::make_shared<memory_store>();
}

result<std::shared_ptr<state_store>>
open_file_store(const std::filesystem::path& path) {
  if (path.empty() || !path.has_filename()) {
    TF_COUNTER("state_store_rejected_path").add();
    return make_error(errc::invalid_argument,
                      "state file path \"" + path.string()
                        + "\" does not name a file");
  }
  auto values = read_state_file(path);
  if (!values) {
    return values.error();
  }
  auto store = std::make_shared<file_store>(path, std::move(*values));
  // Create the file now (it is missing or empty), so a path that cannot be
  // written fails at open rather than at the first enrollment.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || st.st_size == 0) {
    // No other thread can see `store` yet; persist_locked's contract holds.
    if (auto created = store->persist_locked(); !created) {
      return created.error();
    }
  }
  return std::shared_ptr<state_store>{std::move(store)};
}

result<std::shared_ptr<state_store>>
open_state_dir(const std::filesystem::path& dir) {
  auto clean = dir;
  if (!clean.empty() && !clean.has_filename()) {
    clean = clean.parent_path(); // "a/b/" -> "a/b"
  }
  if (clean.empty()) {
    TF_COUNTER("state_store_rejected_path").add();
    return make_error(errc::invalid_argument, "state directory path is empty");
  }
  struct stat st;
  if (::stat(clean.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      TF_COUNTER("state_store_rejected_path").add();
      return make_error(errc::io_error,
                        "state directory " + clean.string()
                          + " exists and is not a directory");
    }
  } else if (errno == ENOENT) {
    if (auto made = make_dirs_0700(clean); !made) {
      return made.error();
    }
  } else {
    return io_failure(clean, "stat", errno);
  }
  return open_file_store(clean / std::string{state_file_name});
}

} // namespace tf
