// SPDX-License-Identifier: Apache-2.0
// How tailfleet configures a CAF actor system: the middleman (brokers),
// tailfleet's error category, a scheduler sized to the CPUs the process may
// use (CAF 0.17 defaults to max(4, cores) workers), and an I/O loop that
// spins briefly before it sleeps. Call before constructing the
// actor_system; any thread.
#pragma once

#include <caf/actor_system_config.hpp>

namespace tf {

/// configure_actor_system prepares `cfg` for tailfleet: the middleman with
/// its spinning I/O loop (nodes/spinning_multiplexer.hpp), the error
/// category, one worker per usable CPU, and idle workers that spin briefly,
/// then park on a futex (nodes/scheduler_policy.hpp). Settings already given
/// (cfg.parse, set_io_spin) win over these defaults.
void configure_actor_system(caf::actor_system_config& cfg);

} // namespace tf
