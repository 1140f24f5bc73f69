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
//
// Run next: an actor that a message sent on the I/O thread readies runs on
// that thread (its handler records the thread's id), unless the setting is
// 0; a fuller mailbox than run_next_messages goes on to a worker; once a
// round of ready actors overran its budget, the rest go to the workers.
#define CAF_SUITE spinning_multiplexer
#include <caf/test/unit_test_impl.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message_id.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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


namespace {

long this_tid() {
  return static_cast<long>(::syscall(SYS_gettid));
}

/// thread_log collects the thread each message was handled on.
struct thread_log {
  std::mutex mtx;
  std::vector<long> tids;
  std::promise<void> all;
  size_t expected = 0;

  void add(long tid) {
    std::lock_guard<std::mutex> guard{mtx};
    tids.push_back(tid);
    if (tids.size() == expected)
      all.set_value();
  }
};

/// recorder logs the thread of each message it handles; `busy` first spins
/// for that long (a handler that overruns the I/O thread's round).
caf::behavior recorder(caf::event_based_actor*, thread_log* log, caf::timespan busy) {
  return {
    [=](int) {
      auto until = std::chrono::steady_clock::now() + busy;
      while (std::chrono::steady_clock::now() < until) {
      }
      log->add(this_tid());
    },
  };
}

// The recorders are spawned lazy_init: idle until their first message, which
// readies them (an actor still starting up on a worker would just take it).

/// send_from_io sends `n` ints to each of `to` from the I/O thread, as a
/// broker there does (with the multiplexer as the sender's context).
void send_from_io(caf::actor_system& sys, std::vector<caf::actor> to, int n) {
  run_on_io(sys, [&] {
    auto* io = &sys.middleman().backend();
    for (auto& dest : to)
      for (int i = 0; i < n; ++i)
        dest->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, i), io);
    return 0;
  });
}

struct io_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  long io_tid = 0;

  explicit io_system(caf::timespan run_next) {
    tf::set_io_run_next(cfg, run_next);
    tf::configure_actor_system(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    io_tid = run_on_io(*sys, [] { return this_tid(); });
  }
};

/// where_one_message_runs sends an idle actor one message from the I/O
/// thread and returns that thread's id and the id of the thread that
/// handled the message.
std::pair<long, long> where_one_message_runs(caf::timespan run_next) {
  io_system io{run_next};
  thread_log log;
  log.expected = 1;
  auto a = io.sys->spawn<caf::lazy_init>(recorder, &log, caf::timespan{0});
  send_from_io(*io.sys, {a}, 1);
  log.all.get_future().wait();
  return {io.io_tid, log.tids.at(0)};
}

} // namespace

CAF_TEST(an_actor_readied_on_the_io_thread_runs_there) {
  auto [io_tid, ran_on] = where_one_message_runs(tf::default_io_run_next);
  CAF_CHECK_EQUAL(ran_on, io_tid);
}

CAF_TEST(with_run_next_off_a_worker_runs_it) {
  auto [io_tid, ran_on] = where_one_message_runs(caf::timespan{0});
  CAF_CHECK_NOT_EQUAL(ran_on, io_tid);
}

CAF_TEST(a_fuller_mailbox_goes_on_to_a_worker) {
  io_system io{tf::default_io_run_next};
  thread_log log;
  auto n = static_cast<int>(3 * tf::run_next_messages);
  log.expected = static_cast<size_t>(n);
  auto a = io.sys->spawn<caf::lazy_init>(recorder, &log, caf::timespan{0});
  send_from_io(*io.sys, {a}, n);
  log.all.get_future().wait();
  // In order: the first run_next_messages on the I/O thread, the rest not.
  for (size_t i = 0; i < log.tids.size(); ++i) {
    if (i < tf::run_next_messages)
      CAF_CHECK_EQUAL(log.tids[i], io.io_tid);
    else
      CAF_CHECK_NOT_EQUAL(log.tids[i], io.io_tid);
  }
}

CAF_TEST(actors_ready_after_the_rounds_budget_go_to_the_workers) {
  io_system io{tf::default_io_run_next};
  thread_log log;
  log.expected = 2;
  // The first overruns the round (5 ms against 100 us); the second, readied
  // in the same round, must not wait for the I/O thread.
  auto slow = io.sys->spawn<caf::lazy_init>(recorder, &log, caf::timespan{std::chrono::milliseconds{5}});
  auto next = io.sys->spawn<caf::lazy_init>(recorder, &log, caf::timespan{0});
  CAF_REQUIRE_LESS(tf::default_io_run_next, caf::timespan{std::chrono::milliseconds{5}});
  send_from_io(*io.sys, {slow, next}, 1);
  log.all.get_future().wait();
  // The second may finish first: it ran on a worker meanwhile.
  CAF_REQUIRE_EQUAL(log.tids.size(), 2u);
  auto on_io = std::count(log.tids.begin(), log.tids.end(), io.io_tid);
  CAF_CHECK_EQUAL(on_io, 1);
}
