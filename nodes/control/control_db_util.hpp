// SPDX-License-Identifier: Apache-2.0
// Internal to control_db: column encodings (JSON string arrays), the clock,
// and the "damaged row" error. Pure functions; any thread. Never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/result.hpp"

namespace tf::control {

/// unix_now returns the wall clock in unix seconds.
int64_t unix_now();

/// corrupt_row reports a row whose column `what` cannot be decoded.
failure corrupt_row(std::string what);

/// string_array_json encodes `items` as a JSON array; errc::invalid_argument
/// (naming `what`) if an item is not valid UTF-8.
result<std::string> string_array_json(const std::vector<std::string>& items,
                                      std::string_view what);

/// parse_string_array decodes a JSON array of strings, or nothing.
std::optional<std::vector<std::string>> parse_string_array(const std::string& text);

} // namespace tf::control
