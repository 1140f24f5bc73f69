// SPDX-License-Identifier: Apache-2.0
// The middleman's I/O loop tailfleet installs (nodes/spinning_multiplexer.hpp):
// configure_actor_system picks it; after an event the I/O thread keeps
// polling for `tailfleet.io-spin` instead of sleeping, so events that come
// within that time find it awake; with a spin of 0 it sleeps after each
// event, as CAF's own loop. Whether the thread slept is read from the
// kernel's count of its voluntary context switches (a thread that blocks
// in epoll_wait switches out voluntarily; one that yields does not). Every
// test also shuts its actor system down: a loop that missed its last
// socket handler going away would hang there.
#define CAF_SUITE spinning_multiplexer
#include <caf/test/unit_test_impl.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include "nodes/actor_system_setup.hpp"
#include "nodes/spinning_multiplexer.hpp"

using namespace std::chrono_literals;

namespace {

/// voluntary_switches reads how often thread `tid` of this process blocked.
long voluntary_switches(long tid) {
  std::ifstream in{"/proc/self/task/" + std::to_string(tid) + "/status"};
  std::string key;
  while (in >> key) {
    if (key == "voluntary_ctxt_switches:") {
      long n = -1;
      in >> n;
      return n;
    }
  }
  return -1;
}

/// run_on_io runs `f` on the I/O thread and waits for it.
template <class F>
auto run_on_io(caf::actor_system& sys, F f) {
  std::promise<decltype(f())> done;
  sys.middleman().backend().dispatch([&] { done.set_value(f()); });
  return done.get_future().get();
}

/// sleeps_during_events posts `events` functions to the I/O thread, one
/// every 2 ms, and returns how often the I/O thread blocked meanwhile.
long sleeps_during_events(caf::timespan spin, int events) {
  caf::actor_system_config cfg;
  tf::set_io_spin(cfg, spin);
  tf::configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  auto tid = run_on_io(sys, [] { return static_cast<long>(::syscall(SYS_gettid)); });
  auto before = voluntary_switches(tid);
  std::atomic<int> ran{0};
  for (int i = 0; i < events; ++i) {
    std::this_thread::sleep_for(2ms);
    sys.middleman().backend().dispatch([&] { ++ran; });
  }
  run_on_io(sys, [] { return 0; }); // every event ran before this one
  auto after = voluntary_switches(tid);
  CAF_REQUIRE_EQUAL(ran.load(), events);
  CAF_REQUIRE(before >= 0 && after >= before);
  return after - before;
}

constexpr int events = 50;

} // namespace

CAF_TEST(configure_actor_system_installs_the_loop) {
  caf::actor_system_config cfg;
  tf::configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  CAF_CHECK(dynamic_cast<tf::spinning_multiplexer*>(&sys.middleman().backend()) != nullptr);
}

CAF_TEST(events_within_the_spin_find_the_io_thread_awake) {
  // Events 2 ms apart with a spin of one second: the thread never blocks
  // between them (a few switches are left for the allocator or the kernel).
  auto slept = sleeps_during_events(std::chrono::seconds{1}, events);
  CAF_MESSAGE("voluntary switches during " << events << " events: " << slept);
  CAF_CHECK_LESS(slept, events / 5);
}

CAF_TEST(no_spin_sleeps_after_every_event) {
  // The same events with no spin: the thread blocks in epoll_wait after
  // each one, so the count above measures what it claims to.
  auto slept = sleeps_during_events(caf::timespan{0}, events);
  CAF_MESSAGE("voluntary switches during " << events << " events: " << slept);
  CAF_CHECK_GREATER_OR_EQUAL(slept, events / 2);
}
