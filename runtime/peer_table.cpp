// SPDX-License-Identifier: Apache-2.0
// One shard's peers and indexes. Confined to the owning shard actor.
#include "runtime/peer_table.hpp"

#include "runtime/peer_intern.hpp"

namespace tf {

namespace {

// put stores `r` under its key in `index`, replacing whichever record held
// that key before (the newest mutation owns a key). One probe when the key
// is new, the common case.
template <class Index, class Key>
void put(Index& index, const peer_record* r, const Key& key) {
  auto [i, inserted] = index.insert(r);
  if (inserted)
    return;
  index.erase(i);
  index.insert(r);
}

// evict drops `r`'s entry only if the key still points at `r`.
template <class Index, class Key>
bool evict(Index& index, const peer_record* r, const Key& key) {
  auto i = index.find(key);
  if (i == index.end() || *i != r)
    return false;
  index.erase(i);
  return true;
}

template <class Index>
size_t set_bytes(const Index& index) {
  return index.capacity() * (sizeof(typename Index::value_type) + 1);
}

} // namespace

wire::node apply_change(wire::node n, const wire::peer_change& change) {
  if (change.endpoints)
    n.endpoints = *change.endpoints;
  if (change.online)
    n.online = *change.online;
  if (change.last_seen)
    n.last_seen = *change.last_seen;
  if (change.key)
    n.key = *change.key;
  if (change.key_expiry)
    n.key_expiry = *change.key_expiry;
  return n;
}

void peer_table::index(const peer_record* r) {
  if (r->has_v4())
    put(by_v4_, r, r->v4_value());
  if (r->has_v6())
    put(by_v6_, r, r->v6_bytes());
  put(by_key_, r, r->key());
  if (!r->name().empty())
    put(by_fqdn_, r, r->name());
  for (auto& p : r->extra_addresses())
    if (p.bits == p.addr.bit_len())
      by_extra_addr_[p.addr] = r;
}

void peer_table::unindex(const peer_record* r) {
  bool all = true;
  if (r->has_v4())
    all &= evict(by_v4_, r, r->v4_value());
  if (r->has_v6())
    all &= evict(by_v6_, r, r->v6_bytes());
  all &= evict(by_key_, r, r->key());
  if (!r->name().empty())
    all &= evict(by_fqdn_, r, r->name());
  for (auto& p : r->extra_addresses()) {
    if (p.bits != p.addr.bit_len())
      continue;
    auto i = by_extra_addr_.find(p.addr);
    if (i != by_extra_addr_.end() && i->second == r)
      by_extra_addr_.erase(i);
    else
      all = false;
  }
  if (!all)
    ++evictions_skipped_;
}

void peer_table::prefetch_slots(const peer_record* r) const {
  if (r->has_v4())
    by_v4_.prefetch(r->v4_value());
  if (r->has_v6())
    by_v6_.prefetch(r->v6_bytes());
  by_key_.prefetch(r->key());
  if (!r->name().empty())
    by_fqdn_.prefetch(r->name());
}

void peer_table::prefetch_old(wire::node_id id) {
  auto i = by_id_.find(id);
  if (i == by_id_.end())
    return;
  auto* r = i->second.rec.get();
  // Its fixed fields and the start of its strings (the name), without
  // reading it: reading the length would wait for the very miss this hides.
  // A prefetch past the allocation's end never faults.
  for (size_t off = 0; off < sizeof(peer_record) + 64; off += 64)
    __builtin_prefetch(reinterpret_cast<const char*>(r) + off);
  prefetched_.push_back(r);
}

void peer_table::prefetch(std::span<const wire::node_id> removed,
                          std::span<const peer_record* const> upserted) {
  if (size() < prefetch_min_peers)
    return;
  // Three rounds, each issuing all its loads before the next needs them:
  // id slots (and the new keys' slots), then the records being replaced,
  // then those records' index slots.
  for (auto id : removed)
    by_id_.prefetch(id);
  for (auto* r : upserted) {
    by_id_.prefetch(r->id());
    prefetch_slots(r);
  }
  prefetched_.clear();
  for (auto id : removed)
    prefetch_old(id);
  for (auto* r : upserted)
    prefetch_old(r->id());
  for (auto* r : prefetched_)
    prefetch_slots(r);
  prefetched_.clear();
}

peer_table::upsert_result peer_table::upsert(peer_ref rec, uint64_t gen) {
  auto [i, added] = by_id_.try_emplace(rec->id());
  auto& e = i->second;
  if (!added) {
    if (e.rec == rec) {
      e.gen = gen;
      return upsert_result::unchanged;
    }
    unindex(e.rec.get());
    record_bytes_ -= e.rec->allocated_len();
  }
  index(rec.get());
  record_bytes_ += rec->allocated_len();
  e.rec = std::move(rec);
  e.gen = gen;
  return added ? upsert_result::added : upsert_result::replaced;
}

peer_ref peer_table::remove(wire::node_id id) {
  auto i = by_id_.find(id);
  if (i == by_id_.end())
    return {};
  auto rec = std::move(i->second.rec);
  by_id_.erase(i);
  unindex(rec.get());
  record_bytes_ -= rec->allocated_len();
  return rec;
}

peer_ref peer_table::patch(const wire::peer_change& change, uint64_t gen) {
  auto i = by_id_.find(change.id);
  if (i == by_id_.end())
    return {};
  auto next = intern_peer(apply_change(i->second.rec->to_wire(), change));
  upsert(next, gen);
  return next;
}

void peer_table::begin_load(size_t expected) {
  by_id_.reserve(expected);
  by_v4_.reserve(expected);
  by_v6_.reserve(expected);
  by_key_.reserve(expected);
  by_fqdn_.reserve(expected);
}

void peer_table::load(std::vector<peer_ref> peers, uint64_t gen) {
  begin_load(peers.size());
  for (auto& p : peers)
    upsert(std::move(p), gen);
  remove_older_than(gen, [](const peer_record&) {});
}

void peer_table::clear() {
  by_v4_.clear();
  by_v6_.clear();
  by_key_.clear();
  by_fqdn_.clear();
  by_extra_addr_.clear();
  by_id_.clear();
  record_bytes_ = 0;
}

const peer_table::entry* peer_table::find(wire::node_id id) const {
  auto i = by_id_.find(id);
  return i == by_id_.end() ? nullptr : &i->second;
}

const peer_table::entry* peer_table::entry_of(const peer_record* r) const {
  auto e = find(r->id());
  return e && e->rec.get() == r ? e : nullptr;
}

const peer_table::entry* peer_table::find_by_addr(const ip_addr& raw) const {
  auto a = raw.unmap();
  if (a.is_v4()) {
    if (auto i = by_v4_.find(a.v4_value()); i != by_v4_.end())
      return entry_of(*i);
  } else if (a.is_v6()) {
    if (auto i = by_v6_.find(a.bytes()); i != by_v6_.end())
      return entry_of(*i);
  }
  if (auto i = by_extra_addr_.find(a); i != by_extra_addr_.end())
    return entry_of(i->second);
  return nullptr;
}

const peer_table::entry* peer_table::find_by_key(const node_public_key& k) const {
  auto i = by_key_.find(k);
  return i == by_key_.end() ? nullptr : entry_of(*i);
}

const peer_table::entry* peer_table::find_by_name(std::string_view fqdn) const {
  auto i = by_fqdn_.find(fqdn);
  return i == by_fqdn_.end() ? nullptr : entry_of(*i);
}

size_t peer_table::index_bytes() const {
  return by_id_.capacity() * (sizeof(std::pair<const wire::node_id, entry>) + 1)
         + set_bytes(by_v4_) + set_bytes(by_v6_) + set_bytes(by_key_)
         + set_bytes(by_fqdn_)
         + by_extra_addr_.capacity()
             * (sizeof(std::pair<const ip_addr, const peer_record*>) + 1);
}

} // namespace tf
