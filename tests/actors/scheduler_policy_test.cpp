// SPDX-License-Identifier: Apache-2.0
// The scheduler tailfleet installs (nodes/scheduler_policy.hpp): it is the
// one configure_actor_system picks, an explicit policy still wins, it has
// one worker per CPU the process may use (and the I/O thread spins only
// where there is more than one), and no
// wake-up of a parked worker is lost, with and without the spin phase. For
// the last, parked workers have no timeout to fall back on (one hour), so a
// lost wake-up would leave a request unanswered and the test failing.
#define CAF_SUITE scheduler_policy
#include <caf/test/unit_test_impl.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <sched.h>

#include "nodes/actor_system_setup.hpp"
#include "nodes/scheduler_policy.hpp"
#include "nodes/spinning_multiplexer.hpp"

using namespace std::chrono_literals;

namespace {

using ours = caf::scheduler::coordinator<tf::parking_work_stealing>;

bool runs_our_scheduler(caf::actor_system& sys) {
  return dynamic_cast<ours*>(&sys.scheduler()) != nullptr;
}

// echo answers with what it got, plus `offset` (0; an argument because CAF
// 0.17 dereferences a null argument tuple for a spawn without arguments).
caf::behavior echo(caf::event_based_actor*, int offset) {
  return {[offset](int x) { return x + offset; }};
}

} // namespace

CAF_TEST(configure_actor_system_installs_the_policy) {
  caf::actor_system_config cfg;
  tf::configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  CAF_CHECK(runs_our_scheduler(sys));
}

CAF_TEST(an_explicit_policy_wins) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("sharing"));
  tf::configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  CAF_CHECK(!runs_our_scheduler(sys));
}

CAF_TEST(idle_workers_poll_briefly_then_one_spins_and_explicit_settings_win) {
  caf::actor_system_config cfg;
  tf::configure_actor_system(cfg);
  CAF_CHECK_EQUAL(caf::get_or(cfg, "work-stealing.aggressive-poll-attempts", size_t{0}), 10u);
  CAF_CHECK_EQUAL(caf::get_or(cfg, "work-stealing.moderate-poll-attempts", size_t{0}), 2000u);
  CAF_CHECK_EQUAL(caf::get_or(cfg, "work-stealing.moderate-steal-interval", size_t{0}), 64u);
  CAF_CHECK_EQUAL(caf::get_or(cfg, "work-stealing.moderate-sleep-duration", caf::timespan{-1}),
                  caf::timespan{0});
  caf::actor_system_config mine;
  mine.set("work-stealing.aggressive-poll-attempts", size_t{100});
  mine.set("work-stealing.moderate-poll-attempts", size_t{0});
  tf::configure_actor_system(mine);
  CAF_CHECK_EQUAL(caf::get_or(mine, "work-stealing.aggressive-poll-attempts", size_t{0}), 100u);
  CAF_CHECK_EQUAL(caf::get_or(mine, "work-stealing.moderate-poll-attempts", size_t{1}), 0u);
}

namespace {

/// affinity_guard confines the calling thread (and threads it starts) to
/// the first CPU it may use, and restores its mask when it goes.
class affinity_guard {
public:
  affinity_guard() {
    sched_getaffinity(0, sizeof(saved_), &saved_);
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &saved_)) {
        CPU_SET(cpu, &one);
        break;
      }
    sched_setaffinity(0, sizeof(one), &one);
  }
  ~affinity_guard() { sched_setaffinity(0, sizeof(saved_), &saved_); }

private:
  cpu_set_t saved_;
};

caf::timespan io_spin_of(caf::actor_system_config& cfg) {
  auto spin = caf::get_if<caf::timespan>(&cfg, tf::io_spin_key);
  return spin ? *spin : caf::timespan{-1};
}

} // namespace

CAF_TEST(one_worker_per_usable_cpu_and_the_io_thread_spins_beside_them) {
  cpu_set_t mine;
  CAF_REQUIRE_EQUAL(sched_getaffinity(0, sizeof(mine), &mine), 0);
  auto cpus = static_cast<size_t>(CPU_COUNT(&mine));
  caf::actor_system_config cfg;
  tf::configure_actor_system(cfg);
  CAF_CHECK_EQUAL(caf::get_or(cfg, "scheduler.max-threads", size_t{0}), cpus);
  caf::actor_system sys{cfg};
  CAF_CHECK_EQUAL(sys.scheduler().num_workers(), cpus);
  CAF_CHECK_EQUAL(caf::get_or(cfg, tf::io_run_next_key, caf::timespan{0}),
                  tf::default_io_run_next);
  if (cpus > 1)
    CAF_CHECK_EQUAL(io_spin_of(cfg), tf::default_io_spin);
  else
    CAF_MESSAGE("one usable CPU here: the spin is the next test's case");
}

CAF_TEST(one_usable_cpu_gives_one_worker_and_an_io_thread_that_sleeps_at_once) {
  affinity_guard one_cpu;
  caf::actor_system_config cfg;
  tf::configure_actor_system(cfg);
  CAF_CHECK_EQUAL(caf::get_or(cfg, "scheduler.max-threads", size_t{0}), 1u);
  CAF_CHECK_EQUAL(io_spin_of(cfg), caf::timespan{0});
  caf::actor_system sys{cfg};
  CAF_CHECK_EQUAL(sys.scheduler().num_workers(), 1u);
}

namespace {

// ask_from_outside runs 4 threads outside the scheduler that each ask an
// echo actor 2,000 times, pausing every 64 asks so that the workers run
// out of work, spin and park between requests. Returns the answers.
int ask_from_outside(caf::actor_system& sys) {
  std::vector<caf::actor> echos;
  for (int i = 0; i < 4; ++i)
    echos.push_back(sys.spawn(echo, 0));
  std::atomic<int> answered{0};
  std::vector<std::thread> askers;
  for (int t = 0; t < 4; ++t)
    askers.emplace_back([&, t] {
      caf::scoped_actor self{sys};
      for (int i = 0; i < 2000; ++i) {
        if (i % 64 == 0)
          std::this_thread::sleep_for(2ms);
        self->request(echos[(t + i) % echos.size()], std::chrono::seconds(30), i)
          .receive([&](int x) { answered += x == i ? 1 : 0; }, [](caf::error&) {});
      }
    });
  for (auto& a : askers)
    a.join();
  for (auto& e : echos)
    caf::anon_send_exit(e, caf::exit_reason::user_shutdown);
  return answered.load();
}

} // namespace

CAF_TEST(workers_asleep_are_always_woken) {
  for (size_t spin : {size_t{0}, size_t{2000}}) {
    CAF_MESSAGE("spin attempts: " << spin);
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", size_t{2});
    cfg.set("work-stealing.moderate-poll-attempts", spin);
    cfg.set("work-stealing.relaxed-sleep-duration", caf::timespan{std::chrono::hours(1)});
    tf::configure_actor_system(cfg);
    caf::actor_system sys{cfg};
    CAF_REQUIRE(runs_our_scheduler(sys));
    CAF_CHECK_EQUAL(ask_from_outside(sys), 4 * 2000);
  }
}
