// SPDX-License-Identifier: Apache-2.0
// Actor system defaults for tailfleet programs.
#include "nodes/actor_system_setup.hpp"

#include <caf/atom.hpp>
#include <caf/defaults.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/settings.hpp>

#include <thread>

#include "actors/errors.hpp"
#include "nodes/scheduler_policy.hpp"

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
  // about 100 us -- before it goes to sleep. A message to a sleeping worker
  // therefore waited ~80 us (bench/giant_tailnet). Going from polling
  // straight to sleep (enqueue wakes the worker) cuts that to one futex
  // wake-up (~15 us) and stops idle processes from waking 20,000 times a
  // second.
  if (!caf::get_if<size_t>(&cfg, "work-stealing.moderate-poll-attempts"))
    cfg.set("work-stealing.moderate-poll-attempts", size_t{0});
  // CAF's work stealing with idle workers parked on a futex, so a job from
  // the I/O thread costs one wake-up (nodes/scheduler_policy.hpp). A scheduler
  // loaded as a module replaces the one `scheduler.policy` would pick, so
  // only the default policy is replaced.
  if (caf::get_or(cfg, "scheduler.policy", caf::defaults::scheduler::policy)
      == caf::atom("stealing"))
    cfg.load<caf::scheduler::coordinator<parking_work_stealing>>();
}

} // namespace tf
