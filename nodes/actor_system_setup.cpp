// SPDX-License-Identifier: Apache-2.0
// Actor system defaults for tailfleet programs.
#include "nodes/actor_system_setup.hpp"

#include <caf/io/middleman.hpp>
#include <caf/settings.hpp>

#include <thread>

#include "actors/errors.hpp"

namespace tf {

void configure_actor_system(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman>();
  actors::register_error_category(cfg);
  if (!caf::get_if<size_t>(&cfg, "scheduler.max-threads")) {
    size_t cores = std::max(1u, std::thread::hardware_concurrency());
    cfg.set("scheduler.max-threads", cores);
  }
}

} // namespace tf
