// SPDX-License-Identifier: Apache-2.0
// Column encodings and errors shared by the control_db files. Pure
// functions; any thread. Library exceptions stop here.
#include "nodes/control/control_db_util.hpp"

#include <chrono>

#include <nlohmann/json.hpp>

#include "runtime/counters.hpp"

namespace tf::control {

int64_t unix_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

failure corrupt_row(std::string what) {
  TF_COUNTER("control_db_corrupt").add();
  return make_error(errc::state_corrupt,
                    "control db: " + what + " cannot be decoded");
}

result<std::string> string_array_json(const std::vector<std::string>& items,
                                      std::string_view what) {
  try {
    return nlohmann::json(items).dump();
  } catch (const nlohmann::json::exception& e) {
    TF_COUNTER("control_db_rejected_text").add();
    return make_error(errc::invalid_argument,
                      std::string{what} + ": " + e.what());
  }
}

std::optional<std::vector<std::string>> parse_string_array(const std::string& text) {
  try {
    auto doc = nlohmann::json::parse(text);
    if (!doc.is_array()) {
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (auto& item : doc) {
      if (!item.is_string()) {
        return std::nullopt;
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

} // namespace tf::control
