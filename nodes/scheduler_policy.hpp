// SPDX-License-Identifier: Apache-2.0
// parking_work_stealing: CAF 0.17's work-stealing scheduler policy with two
// changes to how idle workers wait.
//
// 1. They park on a futex instead of a mutex and condition variable. In
// CAF 0.17.6 a job enqueued from outside the workers (the middleman's I/O
// thread, a blocking thread) takes the worker's wait mutex and signals
// under it; the woken worker -- on this VM often run at once, ahead of the
// waker -- must re-take that mutex to leave its wait, finds it held and
// blocks again. That was ~4.4 context switches and ~7.7 futex calls per
// I/O-to-actor hand-off in bench/giant_tailnet (one delta = one hand-off),
// against ~2.8 and ~4.1 with the futex.
//
// The parking protocol (an event count, as in Folly's and Go's schedulers):
// a worker that found nothing announces `parked`, looks at its queue once
// more, and sleeps on the futex word `wakeups` unless that changed. An
// enqueuer appends the job, then takes `parked` away (exchange): if it was
// set, it bumps `wakeups` and wakes the worker. Both sides put a full fence
// between their write and their read, so either the enqueuer sees `parked`
// or the worker sees the job; and since only the enqueuer that cleared
// `parked` calls into the kernel, a burst of jobs costs one wake-up. The
// relaxed-sleep-duration (`work-stealing.relaxed-sleep-duration`) still
// bounds a sleep, after which the worker tries to steal, as CAF's does.
//
// 2. CAF's "moderate" polling phase, between the aggressive polls and the
// sleep, is done by one worker at a time; with no sleep between attempts
// (tailfleet's setting, nodes/actor_system_setup.cpp) that worker spins,
// yielding the CPU every steal interval so a thread of ours that waits for
// this CPU runs first, and is marked `spinning`. A job from outside the
// workers goes to the spinning worker if there is one (else round-robin,
// as CAF): the answer to what a worker just sent through the I/O thread
// starts without any wake-up.
//
// Touched by: a worker's data by its worker and by enqueuing threads
// (atomics, and CAF's own locked queue); the coordinator's spinner count
// by the workers. Nothing else.
#pragma once

#include <caf/policy/work_stealing.hpp>

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <thread>

namespace tf {

class parking_work_stealing : public caf::policy::work_stealing {
public:
  struct coordinator_data : caf::policy::work_stealing::coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator* p)
        : caf::policy::work_stealing::coordinator_data(p) {}

    std::atomic<int> spinning{0};  // workers in their spin phase (at most one)
  };

  struct worker_data : caf::policy::work_stealing::worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator* p)
        : caf::policy::work_stealing::worker_data(p) {}
    worker_data(const worker_data& other)
        : caf::policy::work_stealing::worker_data(other) {}

    std::atomic<uint32_t> spinning{0};  // idle and polling: takes a job at once
    std::atomic<uint32_t> parked{0};    // the worker may be asleep on `wakeups`
    std::atomic<uint32_t> wakeups{0};   // the futex word
  };

  /// central_enqueue gives a job from outside the workers to the worker
  /// that is spinning, if one is, so that it costs no wake-up; otherwise to
  /// the next worker in turn, as CAF does.
  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    auto n = self->num_workers();
    if (d(self).spinning.load(std::memory_order_relaxed) > 0)
      for (size_t i = 0; i < n; ++i) {
        auto w = self->worker_by_id(i);
        if (d(w).spinning.load(std::memory_order_relaxed) != 0) {
          w->external_enqueue(job);
          return;
        }
      }
    self->worker_by_id(d(self).next_worker++ % n)->external_enqueue(job);
  }

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
    auto& aggressive = data.strategies[0];
    for (size_t i = 0; i < aggressive.attempts; i += aggressive.step_size) {
      if (auto job = data.queue.take_head())
        return job;
      if (i % aggressive.steal_interval == 0)
        if (auto job = try_steal(self))
          return job;
    }
    if (auto job = spin_for_work(self))
      return job;
    auto& relaxed = data.strategies[2];
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
  // spin_for_work is CAF's moderate polling phase, done by one worker at a
  // time: with no sleep between attempts (tailfleet's setting) it spins,
  // marked `spinning`, so a job that arrives meanwhile -- typically the
  // answer to what this worker just sent -- is given to it and starts
  // without a wake-up; one spinner bounds what an idle process burns.
  template <class Worker>
  caf::resumable* spin_for_work(Worker* self) {
    auto& data = d(self);
    auto& s = data.strategies[1];
    if (s.attempts == 0)
      return nullptr;
    auto& spinners = d(self->parent()).spinning;
    if (spinners.fetch_add(1, std::memory_order_acq_rel) > 0) {
      spinners.fetch_sub(1, std::memory_order_acq_rel);
      return nullptr;
    }
    bool spin = s.sleep_duration.count() <= 0;
    data.spinning.store(spin ? 1 : 0, std::memory_order_relaxed);
    caf::resumable* job = nullptr;
    for (size_t i = 0; i < s.attempts && job == nullptr; i += s.step_size) {
      job = data.queue.take_head();
      if (job == nullptr && i % s.steal_interval == 0) {
        job = try_steal(self);
        if (spin)
          sched_yield(); // a thread of ours waiting for this CPU runs first
      }
      if (!spin)
        std::this_thread::sleep_for(s.sleep_duration);
#if defined(__x86_64__) || defined(__i386__)
      else
        __builtin_ia32_pause();
#endif
    }
    data.spinning.store(0, std::memory_order_relaxed);
    spinners.fetch_sub(1, std::memory_order_acq_rel);
    return job != nullptr ? job : data.queue.take_head();
  }

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
