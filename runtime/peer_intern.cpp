// SPDX-License-Identifier: Apache-2.0
// Striped intern table of peer records. guards: each stripe's mutex guards
// that stripe's set. A record found with a zero count is dying: it is
// replaced, and whoever frees it finds it gone from the table.
//
// Dead records wait in a graveyard (guarded by its mutex) until the
// interning thread frees them (every dead_peers_free_interval-th call),
// and they stay in the table until then: the releasing shard only buries
// the record; the interning thread takes it out of its stripe and frees it.
// That thread -- the control session's, one per process -- allocated them,
// and glibc frees a block of another thread's arena under that arena's
// lock. A shard freeing the record it just removed while the session
// allocated the next one made both wait on that lock (futex calls on both
// sides; bench/giant_tailnet, pipelined at 250k, means of interleaved runs:
// 3.4 -> 3.1 us per delta in six pairs, 3.2 -> 2.45 us in four with batched
// deltas). Taking the record out of its stripe there too left the shard a
// stripe lock and a probe of a table it does not otherwise touch, inside
// the delta's critical path (giant_tailnet at 250k, ops alternating between
// the two ways: 0.02-0.48 us less per op in 12 of 12 runs). At most
// max_dead_peers_waiting records wait: the release that fills the
// graveyard frees them itself. Under AddressSanitizer records are taken
// out and freed at once, so a use after the last release is caught.
#include "runtime/peer_intern.hpp"

#include <absl/container/flat_hash_set.h>

#include <array>
#include <atomic>
#include <mutex>
#include <new>
#include <vector>

namespace tf {

namespace {

/// probe is a lookup key: a wire node and its precomputed hash.
struct probe {
  const wire::node* node;
  uint64_t hash;
};

struct record_hash {
  using is_transparent = void;
  size_t operator()(const peer_record* r) const noexcept { return r->content_hash(); }
  size_t operator()(const probe& p) const noexcept { return p.hash; }
};

struct record_eq {
  using is_transparent = void;
  bool operator()(const peer_record* a, const peer_record* b) const noexcept {
    return a == b;
  }
  bool operator()(const peer_record* a, const probe& b) const {
    return a->content_hash() == b.hash && a->same_content(*b.node);
  }
  bool operator()(const probe& a, const peer_record* b) const { return (*this)(b, a); }
};

struct stripe {
  std::mutex mtx; // guards: records
  absl::flat_hash_set<const peer_record*, record_hash, record_eq> records;
};

constexpr size_t num_stripes = 64;

std::array<stripe, num_stripes>& stripes() {
  static auto* all = new std::array<stripe, num_stripes>; // process lifetime
  return *all;
}

stripe& stripe_for(uint64_t hash) {
  return stripes()[(hash >> 57) % num_stripes];
}

struct graveyard {
  std::mutex mtx; // guards: dead
  std::vector<const peer_record*> dead;
  std::atomic<size_t> waiting{0}; // dead.size(), read without the lock
};

graveyard& the_graveyard() {
  static auto* g = new graveyard; // process lifetime
  return *g;
}

/// unlist takes `r` out of its stripe, if the stripe still lists it (a dying
/// record may have been replaced already).
void unlist(const peer_record* r) {
  auto& s = stripe_for(r->content_hash());
  std::lock_guard<std::mutex> guard{s.mtx};
  if (auto i = s.records.find(r); i != s.records.end())
    s.records.erase(i);
}

/// free_dead takes the graveyard's records out of the table and frees them,
/// on the calling thread: all of them, or none if it holds fewer than
/// `at_least` (>= 1).
void free_dead(size_t at_least) {
  auto& g = the_graveyard();
  if (g.waiting.load(std::memory_order_relaxed) < at_least)
    return;
  thread_local std::vector<const peer_record*> batch;
  {
    std::lock_guard<std::mutex> guard{g.mtx};
    if (g.dead.size() < at_least)
      return;
    batch.swap(g.dead);
    g.waiting.store(0, std::memory_order_relaxed);
  }
  for (auto* r : batch) {
    unlist(r);
    peer_record::destroy(r);
  }
  batch.clear();
}

/// bury hands a dead record, still listed, to the graveyard (or unlists
/// and frees it, if frees are not deferred).
void bury(const peer_record* r) {
  if (peer_frees_deferred) {
    auto& g = the_graveyard();
    try {
      std::lock_guard<std::mutex> guard{g.mtx};
      g.dead.push_back(r);
      g.waiting.store(g.dead.size(), std::memory_order_relaxed);
      r = nullptr;
    } catch (const std::bad_alloc&) {
      // no room to wait: freed here, below
    }
  }
  if (r != nullptr) {
    unlist(r);
    peer_record::destroy(r);
    return;
  }
  free_dead(max_dead_peers_waiting);
}

} // namespace

peer_ref intern_peer(const wire::node& n) {
  // Not on every call: a look at the graveyard takes its lock and reads what
  // the releasing shard's core just wrote, a few cache lines passed between
  // cores inside every delta's critical path (bench/giant_tailnet: 0.0-0.6 us
  // per op, median of eight in-run A/B runs 0.4).
  thread_local size_t interns = 0;
  if (++interns % dead_peers_free_interval == 0)
    free_dead(1);
  auto hash = hash_node(n);
  auto& s = stripe_for(hash);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.records.find(probe{&n, hash});
  if (i != s.records.end()) {
    if ((*i)->try_acquire())
      return peer_ref::adopt(*i);
    s.records.erase(i); // dying: whoever frees it finds it unlisted already
  }
  auto* r = peer_record::make(n, hash);
  s.records.insert(r);
  return peer_ref::adopt(r);
}

void release_interned_peer(const peer_record* r) noexcept {
  bury(r);
}

size_t dead_peers_waiting() {
  return the_graveyard().waiting.load(std::memory_order_relaxed);
}

void free_dead_peers() {
  free_dead(1);
}

size_t interned_peer_count() {
  size_t n = 0;
  for (auto& s : stripes()) {
    std::lock_guard<std::mutex> guard{s.mtx};
    for (auto* r : s.records)
      n += r->use_count() > 0 ? 1 : 0; // not the dead that wait, still listed
  }
  return n;
}

size_t interned_peer_listed() {
  size_t n = 0;
  for (auto& s : stripes()) {
    std::lock_guard<std::mutex> guard{s.mtx};
    n += s.records.size();
  }
  return n;
}

size_t interned_peer_table_bytes() {
  size_t n = 0;
  for (auto& s : stripes()) {
    std::lock_guard<std::mutex> guard{s.mtx};
    n += s.records.capacity() * (sizeof(const peer_record*) + 1);
  }
  return n;
}

} // namespace tf
