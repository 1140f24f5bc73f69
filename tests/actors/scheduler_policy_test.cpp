// SPDX-License-Identifier: Apache-2.0
// The scheduler tailfleet installs (nodes/scheduler_policy.hpp): it is the
// one configure_actor_system picks, an explicit policy still wins, and no
// wake-up of a sleeping worker is lost. For the last, idle workers sleep on
// their condition variable with no timeout to fall back on (one hour), so a
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

#include "nodes/actor_system_setup.hpp"
#include "nodes/scheduler_policy.hpp"

using namespace std::chrono_literals;

namespace {

using ours = caf::scheduler::coordinator<tf::parking_work_stealing>;

bool runs_our_scheduler(caf::actor_system& sys) {
  return dynamic_cast<ours*>(&sys.scheduler()) != nullptr;
}

caf::behavior echo(caf::event_based_actor*) {
  return {[](int x) { return x; }};
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

CAF_TEST(workers_asleep_are_always_woken) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.set("work-stealing.relaxed-sleep-duration", caf::timespan{std::chrono::hours(1)});
  tf::configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  CAF_REQUIRE(runs_our_scheduler(sys));
  std::vector<caf::actor> echos;
  for (int i = 0; i < 4; ++i)
    echos.push_back(sys.spawn(echo));
  // Four threads outside the scheduler each ask 2,000 times; every few
  // asks they pause so that both workers fall asleep between requests.
  std::atomic<int> answered{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> askers;
  for (int t = 0; t < 4; ++t)
    askers.emplace_back([&, t] {
      caf::scoped_actor self{sys};
      for (int i = 0; i < 2000; ++i) {
        if (i % 64 == 0)
          std::this_thread::sleep_for(2ms);
        self->request(echos[(t + i) % echos.size()], std::chrono::seconds(30), i)
          .receive([&](int x) { answered += x == i ? 1 : 0; }, [&](caf::error&) { ++failed; });
      }
    });
  for (auto& a : askers)
    a.join();
  CAF_CHECK_EQUAL(failed.load(), 0);
  CAF_CHECK_EQUAL(answered.load(), 4 * 2000);
  for (auto& e : echos)
    caf::anon_send_exit(e, caf::exit_reason::user_shutdown);
}
