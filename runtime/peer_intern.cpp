// SPDX-License-Identifier: Apache-2.0
// Striped intern table of peer records. guards: each stripe's mutex guards
// that stripe's set. A record found with a zero count is dying: it is
// replaced, and whoever frees it finds it gone from the table.
//
// Dead records wait in a graveyard (guarded by its mutex) until someone
// frees them with free_dead_peers() -- the control session, after each
// batch of deltas it handed to the shards -- and they stay in the table
// until then: the releasing shard only buries the record.
//
// Measured reasons (bench/giant_tailnet, pipelined at 250k peers):
// - Frees on the session's thread, which allocates the records: when they
//   were glibc blocks, a shard freeing the record it just removed while the
//   session allocated the next one made both wait on the session's arena
//   lock (3.4 -> 3.1 us per delta in six interleaved pairs, 3.2 -> 2.45 us
//   in four with batched deltas). Records now come from record_arena,
//   whose one lock the same pattern would contend for.
// - The shard does not unlist: that was a stripe lock and a probe of a
//   table it does not otherwise touch, inside the delta's critical path
//   (ops alternating between the two ways: 0.02-0.48 us less per op in 12
//   of 12 runs).
// - A batch is unlisted stripe by stripe, one lock per stripe, and freed
//   after the last unlock (batches alternating between the two ways:
//   616-664 against 808-867 cycles per record with 64 a batch).
// - Between batches, not inside intern_peer every 64th call: rounds of
//   20,000 deltas alternating between the two ways took 2.05 us per delta
//   against 2.44 (medians of 21 rounds each; 38 of 42 pairs faster).
// - Keyed by node id, not by a hash of the whole content: hashing every
//   field cost 130-160 cycles per intern, the hash 8 bytes per record (180
//   -> 172 B per peer at 250k), and the id alone lets a delta's lookup
//   start before its node is normalized (plan_delta_into, rounds with and
//   without the prefetch alternating: 1,407-1,511 against 1,635-1,961
//   cycles per delta in 4 of 4 runs; 18 of 24 round pairs faster).
// In a flood the shards, which hold up to 16 batches each, fill the
// graveyard while the session's reading is paused and free it at the bound
// themselves (peer_frees_at_bound). Freeing on the session's resume too,
// with a bound of 4,096, made that rare and measured no different (22 of
// 36 pairs faster), so the session frees only between batches.
//
// At most max_dead_peers_waiting records wait: the release that fills the
// graveyard frees them itself. Under AddressSanitizer records are taken
// out and freed at once, so a use after the last release is caught.
#include "runtime/peer_intern.hpp"

#include "runtime/counters.hpp"

#include <absl/container/flat_hash_set.h>
#include <absl/hash/hash.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <new>
#include <span>
#include <vector>

namespace tf {

namespace {

/// id_hash keys the table: a record matches a node only if all its content
/// does, and the versions of one id (nodes of one process that see a peer
/// change at different times) share a probe sequence.
uint64_t id_hash(wire::node_id id) noexcept {
  return absl::HashOf(id);
}

/// probe is a lookup key: a wire node and its id's hash.
struct probe {
  const wire::node* node;
  uint64_t hash;
};

struct record_hash {
  using is_transparent = void;
  size_t operator()(const peer_record* r) const noexcept { return id_hash(r->id()); }
  size_t operator()(const probe& p) const noexcept { return p.hash; }
};

struct record_eq {
  using is_transparent = void;
  bool operator()(const peer_record* a, const peer_record* b) const noexcept {
    return a == b;
  }
  bool operator()(const peer_record* a, const probe& b) const {
    return a->same_content(*b.node); // compares the id first
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

static_assert(num_stripes <= 256, "unlist_and_destroy keeps a stripe in a byte");

size_t stripe_index(uint64_t hash) {
  return (hash >> 57) % num_stripes;
}

stripe& stripe_for(uint64_t hash) {
  return stripes()[stripe_index(hash)];
}

struct graveyard {
  std::mutex mtx; // guards: dead
  std::vector<const peer_record*> dead;
  std::atomic<size_t> waiting{0}; // dead.size(), read without the lock
};

/// frees_at_bound counts the releases that found the graveyard full and
/// freed it themselves. Looked up at start-up: releases must not allocate.
counter& frees_at_bound = get_counter("peer_frees_at_bound");

graveyard& the_graveyard() {
  static auto* g = new graveyard; // process lifetime
  return *g;
}

/// unlist_and_destroy takes `dead` out of their stripes, one lock per
/// stripe, then frees them. It allocates nothing (it runs in releases).
void unlist_and_destroy(std::span<const peer_record* const> dead) {
  constexpr size_t chunk = 256; // 2.25 KiB of stack for by_stripe, stripe_of
  // A counting sort by stripe, into `by_stripe`.
  std::array<const peer_record*, chunk> by_stripe;
  for (; !dead.empty(); dead = dead.subspan(std::min(chunk, dead.size()))) {
    auto part = dead.first(std::min(chunk, dead.size()));
    std::array<uint8_t, chunk> stripe_of; // of part[i]
    std::array<uint32_t, num_stripes + 1> begin{};
    for (size_t i = 0; i < part.size(); ++i) {
      stripe_of[i] = static_cast<uint8_t>(stripe_index(id_hash(part[i]->id())));
      ++begin[stripe_of[i] + 1];
    }
    for (size_t k = 1; k <= num_stripes; ++k)
      begin[k] += begin[k - 1];
    auto next = begin;
    for (size_t i = 0; i < part.size(); ++i)
      by_stripe[next[stripe_of[i]]++] = part[i];
    for (size_t k = 0; k < num_stripes; ++k) {
      if (begin[k] == begin[k + 1])
        continue;
      auto& s = stripes()[k];
      std::lock_guard<std::mutex> guard{s.mtx};
      for (auto j = begin[k]; j < begin[k + 1]; ++j)
        if (auto i = s.records.find(by_stripe[j]); i != s.records.end())
          s.records.erase(i); // else: replaced while dying
    }
    for (auto* r : part)
      peer_record::destroy(r);
  }
}

/// free_dead frees the graveyard's records on the calling thread: all of
/// them, or none if it holds fewer than `at_least` (>= 1). Returns whether
/// it freed them.
bool free_dead(size_t at_least) {
  auto& g = the_graveyard();
  if (g.waiting.load(std::memory_order_relaxed) < at_least)
    return false;
  thread_local std::vector<const peer_record*> batch;
  {
    std::lock_guard<std::mutex> guard{g.mtx};
    if (g.dead.size() < at_least)
      return false;
    batch.swap(g.dead);
    g.waiting.store(0, std::memory_order_relaxed);
  }
  unlist_and_destroy(batch);
  batch.clear();
  return true;
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
    unlist_and_destroy({&r, 1});
    return;
  }
  if (free_dead(max_dead_peers_waiting))
    frees_at_bound.add();
}

} // namespace

peer_ref intern_peer(const wire::node& n) {
  auto hash = id_hash(n.id);
  auto& s = stripe_for(hash);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.records.find(probe{&n, hash});
  if (i != s.records.end()) {
    if ((*i)->try_acquire())
      return peer_ref::adopt(*i);
    s.records.erase(i); // dying: whoever frees it finds it unlisted already
  }
  auto* r = peer_record::make(n);
  s.records.insert(r);
  return peer_ref::adopt(r);
}

void prefetch_interned_peer(wire::node_id id) {
  auto hash = id_hash(id);
  auto& s = stripe_for(hash);
  std::lock_guard<std::mutex> guard{s.mtx};
  s.records.prefetch(probe{nullptr, hash});
}

void release_interned_peer(const peer_record* r) noexcept {
  bury(r);
}

size_t dead_peers_waiting() {
  return the_graveyard().waiting.load(std::memory_order_relaxed);
}

void free_dead_peers(size_t at_least) {
  free_dead(at_least == 0 ? 1 : at_least);
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
