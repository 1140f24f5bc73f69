// SPDX-License-Identifier: Apache-2.0
// spinning_multiplexer: CAF 0.17's epoll multiplexer (the middleman's I/O
// thread) with a bounded spin before it sleeps.
//
// CAF's I/O thread sleeps in epoll_wait as soon as it has nothing to do.
// On these VMs waking a thread that sleeps on the other vCPU costs the
// waker ~6 us more inside its send() (the IPI), and the sleeper takes ~5-8
// us to run: in bench/giant_tailnet the driver's send() of a delta took
// 10-14 us while the node's I/O thread slept and 4-7 us while it spun. So
// after handling events the I/O thread keeps polling (epoll_wait with a
// zero timeout) for up to `spin` before it blocks, as Linux's busy_poll
// does for one socket and the workers' spin does for their queues
// (nodes/scheduler_policy.hpp): traffic that answers what it just handled
// finds it awake. After each empty poll it yields the CPU, so that a
// thread waiting for this CPU runs first (yielding every 16th poll only was
// no better on two vCPUs, and twice as slow on one). An idle process does
// not spin; a burst of events costs at most `spin` of one CPU after its
// last event. configure_actor_system sets no spin for a process confined
// to one CPU.
//
// Configured by set_io_spin (a timespan; 0 sleeps at once, as CAF does).
// Touched only by the middleman's I/O thread (run()).
#pragma once

#include <caf/fwd.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/timespan.hpp>

#include <chrono>

namespace tf {

/// io_spin_key names the setting; default_io_spin covers a delta's round
/// trip through the workers (applied, answered, the next one sent: 10-20 us
/// in giant_tailnet) with room to spare.
inline constexpr const char* io_spin_key = "tailfleet.io-spin";
inline constexpr caf::timespan default_io_spin = std::chrono::microseconds{50};

/// set_io_spin sets how long the I/O thread polls before it sleeps (call
/// before constructing the actor system; 0 sleeps at once).
void set_io_spin(caf::actor_system_config& cfg, caf::timespan spin);

class spinning_multiplexer : public caf::io::network::default_multiplexer {
public:
  explicit spinning_multiplexer(caf::actor_system* sys);

  void run() override;

private:
  caf::timespan spin_;  // 0: block at once, as CAF's own loop
};

} // namespace tf
