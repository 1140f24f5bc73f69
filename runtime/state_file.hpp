// SPDX-License-Identifier: Apache-2.0
// Internal to the state store: the JSON state file's format, its atomic
// replacement, and wiping of buffers that held state. Stateless functions;
// any thread (callers serialize access to one file). Never logs values.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "runtime/keys.hpp"
#include "runtime/result.hpp"

namespace tf {

/// state_map is the decoded content of a state file.
using state_map = std::map<std::string, std::string, std::less<>>;

/// max_state_file_len bounds what read_state_file accepts (16 MiB).
inline constexpr size_t max_state_file_len = size_t{16} << 20;

/// wipe_string zeroes the characters of `s`, then clears it.
void wipe_string(std::string& s) noexcept;

/// wipe_map wipes every value of `m`, then clears it.
void wipe_map(state_map& m) noexcept;

/// wipe_json zeroes every string value inside `doc` (keys are not secret).
void wipe_json(nlohmann::json& doc) noexcept;

/// private_key_text renders "privkey:<hex>" of `key` into a buffer sized
/// once, so no reallocation leaves a copy of the secret behind.
std::string private_key_text(const key_bytes& key);

/// is_valid_utf8 reports whether `text` is well-formed UTF-8 (no overlong
/// forms, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

/// serialize_state renders `values` as one JSON object, pretty-printed with
/// one key per line, into a buffer sized exactly once (no reallocation
/// leaves copies behind). Keys and values must be valid UTF-8.
std::string serialize_state(const state_map& values);

/// parse_state decodes file content. Empty content is an empty map. Bad
/// JSON, a non-object or a non-string value gives errc::state_corrupt naming
/// `path` and the reason.
result<state_map> parse_state(const std::filesystem::path& path,
                              const std::string& text);

/// read_state_file reads and decodes `path`. A missing file is an empty map;
/// a non-regular file or a read error gives errc::io_error.
result<state_map> read_state_file(const std::filesystem::path& path);

/// replace_file atomically replaces `path` with `content`: a 0600 temp file
/// (O_CREAT|O_EXCL) in the same directory, fsync, rename, fsync of the
/// directory. On failure the temp file is removed and `path` is unchanged.
result<void> replace_file(const std::filesystem::path& path,
                          std::string_view content);

/// io_failure renders "<path>: <what>: <errno text>" as errc::io_error.
failure io_failure(const std::filesystem::path& path, std::string_view what,
                   int err);

} // namespace tf
