// SPDX-License-Identifier: Apache-2.0
// parking_work_stealing: CAF 0.17's work-stealing scheduler policy with its
// idle workers parked on a futex instead of a mutex and condition variable.
//
// Why: in CAF 0.17.6 a job enqueued from outside the workers (the
// middleman's I/O thread, a blocking thread) takes the worker's wait mutex
// and signals its condition variable under it. The woken worker -- on this
// VM often run at once, ahead of the waker -- must re-take that mutex to
// leave its wait, finds it held, and blocks again; the worker and the
// enqueuers then meet on the mutex again each time it goes to sleep. That
// was ~4.4 futex calls and ~4.4 context switches per I/O-to-actor hand-off
// in bench/giant_tailnet (one delta = one such hand-off), where one futex
// wake and one wait are needed.
//
// The parking protocol (an event count, as in Folly's and Go's schedulers):
// a worker that found nothing announces `parked`, looks at its queue once
// more, and sleeps on the futex word `wakeups` unless that changed. An
// enqueuer appends the job, then takes `parked` away (exchange): if it was
// set, it bumps `wakeups` and wakes the worker. Both sides put a full fence
// between their write and their read, so either the enqueuer sees `parked`
// or the worker sees the job; and since only the enqueuer that cleared
// `parked` calls into the kernel, a burst of jobs costs one wake-up. The
// relaxed-sleep-duration (CAF's `work-stealing.relaxed-sleep-duration`)
// still bounds a sleep, after which the worker tries to steal, as CAF's does.
//
// Polling before parking follows CAF's aggressive and moderate strategies
// (tailfleet sets the moderate one to zero attempts). Touched by: a
// worker's data by its worker and by enqueuing threads (atomics, and CAF's
// own locked queue); nothing else.
#pragma once

#include <caf/policy/work_stealing.hpp>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <thread>

namespace tf {

class parking_work_stealing : public caf::policy::work_stealing {
public:
  struct worker_data : caf::policy::work_stealing::worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator* p)
        : caf::policy::work_stealing::worker_data(p) {}
    worker_data(const worker_data& other)
        : caf::policy::work_stealing::worker_data(other) {}

    std::atomic<uint32_t> parked{0};    // the worker may be asleep on `wakeups`
    std::atomic<uint32_t> wakeups{0};   // the futex word
  };

  template <class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    auto& data = d(self);
    data.queue.append(job);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (data.parked.load(std::memory_order_relaxed) != 0
        && data.parked.exchange(0, std::memory_order_acq_rel) != 0) {
      data.wakeups.fetch_add(1, std::memory_order_release);
      futex(&data.wakeups, FUTEX_WAKE_PRIVATE, 1, nullptr);
    }
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    auto& data = d(self);
    auto& strategies = data.strategies;
    for (size_t k = 0; k < 2; ++k) { // aggressive, then moderate polling
      auto& s = strategies[k];
      for (size_t i = 0; i < s.attempts; i += s.step_size) {
        if (auto job = data.queue.take_head())
          return job;
        if (i % s.steal_interval == 0)
          if (auto job = try_steal(self))
            return job;
        if (s.sleep_duration.count() > 0)
          std::this_thread::sleep_for(s.sleep_duration);
      }
    }
    auto& relaxed = strategies[2];
    for (size_t round = 1;; ++round) {
      auto seen = data.wakeups.load(std::memory_order_acquire);
      data.parked.store(1, std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (auto job = data.queue.take_head()) {
        data.parked.store(0, std::memory_order_relaxed);
        return job;
      }
      sleep_until_woken(data.wakeups, seen, relaxed.sleep_duration);
      data.parked.store(0, std::memory_order_relaxed);
      if (auto job = data.queue.take_head())
        return job;
      if (round % relaxed.steal_interval == 0)
        if (auto job = try_steal(self))
          return job;
    }
  }

private:
  static long futex(std::atomic<uint32_t>* word, int op, uint32_t val, const timespec* timeout) {
    static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
    return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, val, timeout, nullptr, 0);
  }

  static void sleep_until_woken(std::atomic<uint32_t>& word, uint32_t seen,
                                caf::timespan limit) {
    auto ns = limit.count();
    timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    // Returns at once if `word` moved on since `seen` (a wake-up we would
    // otherwise miss), on a wake-up, on a signal, or after `limit`.
    futex(&word, FUTEX_WAIT_PRIVATE, seen, &ts);
  }
};

} // namespace tf
