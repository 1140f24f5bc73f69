// SPDX-License-Identifier: Apache-2.0
// Error conversions. Pure functions.
#include "actors/errors.hpp"

#include <caf/atom.hpp>
#include <caf/make_message.hpp>
#include <caf/sec.hpp>

namespace tf::actors {

caf::atom_value tf_category() {
  return caf::atom("tf");
}

caf::error to_caf(const failure& f) {
  return caf::error{static_cast<uint8_t>(f.code), tf_category(), caf::make_message(f.detail)};
}

failure from_caf(const caf::error& e) {
  if (e.category() == tf_category()) {
    std::string detail;
    if (e.context().match_elements<std::string>())
      detail = e.context().get_as<std::string>(0);
    return failure{static_cast<errc>(e.code()), std::move(detail)};
  }
  if (e.category() == caf::atom("system")
      && e.code() == static_cast<uint8_t>(caf::sec::request_timeout))
    return failure{errc::timeout, "request timed out"};
  return failure{errc::internal, caf::to_string(e)};
}

void register_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(tf_category(), [](uint8_t code, caf::atom_value, const caf::message& ctx) {
    std::string out{to_string(static_cast<errc>(code))};
    if (ctx.match_elements<std::string>()) {
      out += ": ";
      out += ctx.get_as<std::string>(0);
    }
    return out;
  });
}

} // namespace tf::actors
