// SPDX-License-Identifier: Apache-2.0
// Striped intern table of peer records. guards: each stripe's mutex guards
// that stripe's set. A record found with a zero count is dying: it is
// replaced, and its releaser then finds it gone and only frees it.
#include "runtime/peer_intern.hpp"

#include <absl/container/flat_hash_set.h>

#include <array>
#include <mutex>

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

} // namespace

peer_ref intern_peer(const wire::node& n) {
  auto hash = hash_node(n);
  auto& s = stripe_for(hash);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.records.find(probe{&n, hash});
  if (i != s.records.end()) {
    if ((*i)->try_acquire())
      return peer_ref::adopt(*i);
    s.records.erase(i); // dying: its releaser will not find it and just frees it
  }
  auto* r = peer_record::make(n, hash);
  s.records.insert(r);
  return peer_ref::adopt(r);
}

void release_interned_peer(const peer_record* r) noexcept {
  auto& s = stripe_for(r->content_hash());
  {
    std::lock_guard<std::mutex> guard{s.mtx};
    if (auto i = s.records.find(r); i != s.records.end())
      s.records.erase(i);
  }
  peer_record::destroy(r);
}

size_t interned_peer_count() {
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
