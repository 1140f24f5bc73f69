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
  // An idle CAF worker polls 100 times, then (by default) 500 more times
  // with a 50 us sleep in between -- which Linux's timer slack stretches to
  // about 100 us -- before it waits on its condition variable. A message to
  // a sleeping worker therefore waited ~80 us (bench/giant_tailnet). Going
  // from polling straight to the condition variable (which enqueue
  // notifies) cuts that to one futex wake-up (~15 us) and stops idle
  // processes from waking 20,000 times a second.
  if (!caf::get_if<size_t>(&cfg, "work-stealing.moderate-poll-attempts"))
    cfg.set("work-stealing.moderate-poll-attempts", size_t{0});
}

} // namespace tf
