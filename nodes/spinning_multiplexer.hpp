// SPDX-License-Identifier: Apache-2.0
// spinning_multiplexer: CAF 0.17's epoll multiplexer (the middleman's I/O
// thread) with a bounded spin before it sleeps, and which runs the actors
// it readies itself ("run next", as Go's scheduler runs a goroutine that
// the running one readied).
//
// Spin. CAF's I/O thread sleeps in epoll_wait as soon as it has nothing to
// do. On these VMs waking a thread that sleeps on the other vCPU costs the
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
// Run next. A message a broker sends from this thread (the control
// session's delta to a shard) readies the receiver; CAF hands it to a
// worker, and on these VMs that hand-off (and the one from the shard to its
// watcher) cost giant_tailnet's op 2-3 us of 7.5-9.7: a context switch
// where the worker shares this CPU, cache lines crossing where it does
// not, a wake-up where it sleeps. Instead this thread runs
// the actor right after the event, and so the actors that one readies in
// turn (the shard's notify to a bus watcher): a delta reaches the watcher
// without leaving the thread. Bounds keep I/O from waiting on them:
// - each actor handles at most `run_next_messages` messages here; a fuller
//   mailbox is a burst, and goes on to the workers, which take it in
//   parallel with this thread's reading;
// - once a round of ready actors has run for `run_next` (a timespan), the
//   ones still waiting go to the workers, as do all when it is 0;
// - a sender hands bulk work to the workers itself (actors/send_from.hpp,
//   tell_to_workers: the parts of a full netmap).
// An actor that blocks (sleeps, waits for a reply) stalls this thread while
// it runs here, as it stalls a worker elsewhere: CAF asks for a detached
// actor for such work (which never runs here). tailfleet's own blocking
// work runs on one, or is sent to the workers (the node's state writes).
//
// Configured by set_io_spin and set_io_run_next (timespans; 0 turns each
// off, as CAF's own loop). Touched only by the middleman's I/O thread
// (run(), exec_later() when called there; from elsewhere exec_later only
// forwards to CAF's).
#pragma once

#include <caf/fwd.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/resumable.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <cstddef>
#include <vector>

namespace tf {

/// io_spin_key names the setting; default_io_spin covers a delta's round
/// trip through the workers (applied, answered, the next one sent: 10-20 us
/// in giant_tailnet) with room to spare.
inline constexpr const char* io_spin_key = "tailfleet.io-spin";
inline constexpr caf::timespan default_io_spin = std::chrono::microseconds{50};

/// set_io_spin sets how long the I/O thread polls before it sleeps (call
/// before constructing the actor system; 0 sleeps at once).
void set_io_spin(caf::actor_system_config& cfg, caf::timespan spin);

/// io_run_next_key names the setting; default_io_run_next bounds a round of
/// actors run on the I/O thread: a delta's path (session, shard, watcher)
/// takes 2-4 us there, a burst goes to the workers long before the bound.
inline constexpr const char* io_run_next_key = "tailfleet.io-run-next";
inline constexpr caf::timespan default_io_run_next = std::chrono::microseconds{100};

/// run_next_messages is how many messages an actor handles on the I/O
/// thread before the rest of its mailbox goes to a worker.
inline constexpr size_t run_next_messages = 16;

/// set_io_run_next sets how long the I/O thread may run the actors it
/// readied in one round (call before constructing the actor system; 0
/// hands each to the workers, as CAF does).
void set_io_run_next(caf::actor_system_config& cfg, caf::timespan budget);

class spinning_multiplexer : public caf::io::network::default_multiplexer {
public:
  explicit spinning_multiplexer(caf::actor_system* sys);

  void run() override;

  /// exec_later keeps an actor readied on the I/O thread to run it there
  /// (see the file's comment); anything else goes where CAF sends it.
  void exec_later(caf::resumable* job) override;

private:
  /// run_ready runs the actors readied on this thread, and those they ready
  /// in turn, within the round's budget; false if there were none.
  bool run_ready();

  caf::timespan spin_;      // 0: block at once, as CAF's own loop
  caf::timespan run_next_;  // 0: every readied actor goes to the workers
  std::vector<caf::resumable*> ready_;  // readied here; holds their references
};

} // namespace tf
