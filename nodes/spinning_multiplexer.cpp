// SPDX-License-Identifier: Apache-2.0
// The middleman's I/O loop with a bounded spin (see the header).
#include "nodes/spinning_multiplexer.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/settings.hpp>

#include <sched.h>

namespace tf {

void set_io_spin(caf::actor_system_config& cfg, caf::timespan spin) {
  // Written into the settings directly: CAF 0.17's cfg.set() refuses keys
  // that no config option declares.
  caf::put(cfg.content, io_spin_key, spin);
}

spinning_multiplexer::spinning_multiplexer(caf::actor_system* sys)
    : caf::io::network::default_multiplexer(sys),
      spin_(caf::get_or(sys->config(), io_spin_key, default_io_spin)) {}

void spinning_multiplexer::run() {
  using clock = std::chrono::steady_clock;
  auto last_event = clock::now();
  // As CAF's run(): until its last socket handler (the wake-up pipe) is
  // gone. The condition is checked before every poll, so the loop never
  // blocks once nothing is left to wake it.
  while (num_socket_handlers() > 0) {
    if (spin_.count() > 0 && clock::now() - last_event < spin_) {
      if (poll_once(false))
        last_event = clock::now();
      else
        sched_yield(); // a thread waiting for this CPU runs first
      continue;
    }
    poll_once(true);
    last_event = clock::now();
  }
}

} // namespace tf
