// SPDX-License-Identifier: Apache-2.0
// Actor system defaults for tailfleet programs.
#include "nodes/actor_system_setup.hpp"

#include <caf/atom.hpp>
#include <caf/defaults.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/settings.hpp>

#include <algorithm>
#include <thread>

#include "actors/errors.hpp"
#include "nodes/scheduler_policy.hpp"
#include "nodes/spinning_multiplexer.hpp"
#include "runtime/usable_cpus.hpp"

namespace tf {

namespace {

/// usable_cpu_count is how many CPUs this process may run on (its affinity
/// mask, as `taskset` sets it), not how many the machine has.
size_t usable_cpu_count() {
  if (auto n = usable_cpus().size(); n > 0)
    return n;
  return std::max(1u, std::thread::hardware_concurrency());
}

} // namespace

void configure_actor_system(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman, spinning_multiplexer>();
  actors::register_error_category(cfg);
  // One worker per CPU the process may use. Under `taskset -c 0` a second
  // worker could never run beside the first, only be woken in turn: with it
  // giant_tailnet's op took 1.75-2.36x the floor on one vCPU, without it
  // 1.41-1.72x.
  auto cpus = usable_cpu_count();
  if (!caf::get_if<size_t>(&cfg, "scheduler.max-threads"))
    cfg.set("scheduler.max-threads", cpus);
  // An idle CAF worker polls 100 times, then (by default) 500 more times
  // with a 50 us sleep in between -- which Linux's timer slack stretches to
  // about 100 us -- before it goes to sleep: a message to a worker in that
  // phase waited ~80 us (bench/giant_tailnet), and idle processes woke
  // 20,000 times a second. tailfleet's scheduler (below) turns that
  // "moderate" phase into a spin of one worker at a time: 2,000 attempts
  // with no sleep (about 75 us here), yielding the CPU every 64, then it
  // parks. The answer to what a worker just sent (a delta's round trip
  // through the I/O thread) then finds it spinning and starts without a
  // wake-up: giant_tailnet's no-watcher op went from 128-153 us to 25-62 us
  // in the machine's slow-wake mode. 0 attempts parks at once.
  auto set_default = [&cfg](const char* key, auto value) {
    if (!caf::get_if<decltype(value)>(&cfg, key))
      cfg.set(key, value);
  };
  // Before that spin, an idle worker polls its queue without yielding:
  // CAF's 100 attempts took ~1-2 us. Where the I/O thread shares the
  // worker's CPU (on the Intel host of 2026-12-06 the driver, the I/O
  // thread and the shard ran on one CPU in most giant_tailnet ops), those
  // polls only hold off the I/O thread that has the worker's next job: the
  // driver's write reached the I/O thread's poll 1.0-1.3 us later with 10
  // attempts, 2.0 us with 100. no-watcher op, medians of 8 runs taking
  // turns: 8.75 against 9.10 us at 10k, 10.40 against 11.05 at 250k.
  set_default("work-stealing.aggressive-poll-attempts", size_t{10});
  set_default("work-stealing.moderate-poll-attempts", size_t{2000});
  set_default("work-stealing.moderate-steal-interval", size_t{64});
  set_default("work-stealing.moderate-sleep-duration", caf::timespan{0});
  // The I/O thread spins likewise before it sleeps in epoll_wait
  // (nodes/spinning_multiplexer.hpp), but only where another CPU can run
  // the thread it waits for. Confined to one CPU it sleeps at once, as
  // CAF's does: its spin there made giant_tailnet's op 10-20% slower.
  if (!caf::get_if<caf::timespan>(&cfg, io_spin_key))
    set_io_spin(cfg, cpus > 1 ? default_io_spin : caf::timespan{0});
  // The I/O thread runs the actors its events ready itself, for up to 100
  // us a round, on one CPU or more (nodes/spinning_multiplexer.hpp): a
  // delta reaches its shard and the shard's watcher without a hand-off.
  // giant_tailnet on the Intel host, medians of 8 runs taking turns with
  // and without: no-watcher op 5.65 against 8.00 us at 10k peers, 6.40
  // against 8.65 at 250k; bus-watcher 5.80 against 8.90 and 6.60 against
  // 9.65; the whole process on one CPU (6 runs each) 5.30 against 7.45 and
  // 6.25 against 8.30 (no-watcher).
  if (!caf::get_if<caf::timespan>(&cfg, io_run_next_key))
    set_io_run_next(cfg, default_io_run_next);
  // A readable socket gets one read per event, not reads until EAGAIN: a
  // control stream's read usually takes all there is, so the second read
  // was a wasted syscall per delta (perf stat, giant_tailnet no-watcher:
  // recvfrom 2.0 -> 1.0 per op). epoll is level-triggered, so what is left
  // is read on the next round; full maps come in reads of up to 1 MiB.
  set_default("middleman.max-consecutive-reads", size_t{1});
  // CAF's work stealing with idle workers parked on a futex, so a job from
  // the I/O thread costs one wake-up (nodes/scheduler_policy.hpp). A scheduler
  // loaded as a module replaces the one `scheduler.policy` would pick, so
  // only the default policy is replaced.
  if (caf::get_or(cfg, "scheduler.policy", caf::defaults::scheduler::policy)
      == caf::atom("stealing"))
    cfg.load<caf::scheduler::coordinator<parking_work_stealing>>();
}

} // namespace tf
