// SPDX-License-Identifier: Apache-2.0
// The middleman's I/O loop with a bounded spin, running the actors it
// readies (see the header).
#include "nodes/spinning_multiplexer.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/settings.hpp>

#include <sched.h>

#include <thread>

namespace tf {

void set_io_spin(caf::actor_system_config& cfg, caf::timespan spin) {
  // Written into the settings directly: CAF 0.17's cfg.set() refuses keys
  // that no config option declares.
  caf::put(cfg.content, io_spin_key, spin);
}

void set_io_run_next(caf::actor_system_config& cfg, caf::timespan budget) {
  caf::put(cfg.content, io_run_next_key, budget);
}

spinning_multiplexer::spinning_multiplexer(caf::actor_system* sys)
    : caf::io::network::default_multiplexer(sys),
      spin_(caf::get_or(sys->config(), io_spin_key, default_io_spin)),
      run_next_(caf::get_or(sys->config(), io_run_next_key, default_io_run_next)) {}

void spinning_multiplexer::exec_later(caf::resumable* job) {
  // A scheduled actor arrives here when a message from this thread made it
  // ready (CAF's scheduled_actor::enqueue, with the sender's context); the
  // reference CAF added for the scheduler is now ours.
  if (run_next_.count() > 0 && job->subtype() == caf::resumable::scheduled_actor
      && std::this_thread::get_id() == thread_id()) {
    ready_.push_back(job);
    return;
  }
  default_multiplexer::exec_later(job);
}

bool spinning_multiplexer::run_ready() {
  if (ready_.empty())
    return false;
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + run_next_;
  bool in_budget = true;
  // By index: the actors run here append the ones they ready.
  for (size_t i = 0; i < ready_.size(); ++i) {
    auto job = ready_[i];
    in_budget = in_budget && clock::now() < deadline;
    if (!in_budget) {
      system().scheduler().enqueue(job); // with our reference
      continue;
    }
    switch (job->resume(this, run_next_messages)) {
      case caf::resumable::resume_later:
        system().scheduler().enqueue(job); // more mail: a worker goes on
        break;
      case caf::resumable::shutdown_execution_unit:
        break; // not an actor's answer; never ours to release
      default: // done, or waiting for mail: as a worker, drop our reference
        caf::intrusive_ptr_release(job);
    }
  }
  ready_.clear();
  return true;
}

void spinning_multiplexer::run() {
  using clock = std::chrono::steady_clock;
  auto last_event = clock::now();
  // As CAF's run(): until its last socket handler (the wake-up pipe) is
  // gone. The condition is checked before every poll, so the loop never
  // blocks once nothing is left to wake it. The actors an event readied run
  // right after it, so nothing is left ready when the loop blocks.
  while (num_socket_handlers() > 0) {
    if (spin_.count() > 0 && clock::now() - last_event < spin_) {
      bool handled = poll_once(false);
      if (run_ready() || handled)
        last_event = clock::now();
      else
        sched_yield(); // a thread waiting for this CPU runs first
      continue;
    }
    poll_once(true);
    run_ready();
    last_event = clock::now();
  }
  // Nothing is ready here after a round; should a last event have readied
  // an actor anyway, a worker runs it.
  for (auto job : ready_)
    system().scheduler().enqueue(job);
  ready_.clear();
}

} // namespace tf
