// SPDX-License-Identifier: Apache-2.0
// How tailfleet configures a CAF actor system: the middleman (brokers),
// tailfleet's error category, and a scheduler sized to the machine's cores
// (CAF 0.17 defaults to max(4, cores) workers). Call before constructing
// the actor_system; any thread.
#pragma once

#include <caf/actor_system_config.hpp>

namespace tf {

/// configure_actor_system prepares `cfg` for tailfleet: the middleman, the
/// error category, one worker per core, and idle workers that sleep
/// (parked on a futex, nodes/scheduler_policy.hpp) instead of polling. Settings
/// already given on the command line (cfg.parse) win over these defaults.
void configure_actor_system(caf::actor_system_config& cfg);

} // namespace tf
