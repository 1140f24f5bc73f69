// SPDX-License-Identifier: Apache-2.0
// Hex encoding of byte strings (key text forms, logs). Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tf {

/// to_hex renders `bytes` as lowercase hex.
std::string to_hex(std::span<const uint8_t> bytes);

/// from_hex decodes lowercase or uppercase hex into exactly `out.size()`
/// bytes. Returns false (leaving `out` unspecified) on bad length or digits.
bool from_hex(std::string_view text, std::span<uint8_t> out);

/// from_hex decodes hex of any even length, or nothing on bad input.
std::optional<std::vector<uint8_t>> from_hex(std::string_view text);

} // namespace tf
