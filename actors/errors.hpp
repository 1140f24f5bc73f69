// SPDX-License-Identifier: Apache-2.0
// tf::failure <-> caf::error. tailfleet errors travel between actors as
// caf::error values of category "tf" (code = tf::errc, context = the detail
// text). register_error_category() makes an actor system render them.
#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>

#include "runtime/result.hpp"

namespace tf::actors {

/// tf_category is the caf::error category of tailfleet errors.
caf::atom_value tf_category();

/// to_caf wraps a failure as a caf::error.
caf::error to_caf(const failure& f);

/// from_caf unwraps a tailfleet caf::error; other categories become
/// errc::internal (timeouts: errc::timeout) with CAF's rendering as detail.
failure from_caf(const caf::error& e);

/// register_error_category teaches `cfg` to render tailfleet errors.
void register_error_category(caf::actor_system_config& cfg);

} // namespace tf::actors
