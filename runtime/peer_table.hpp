// SPDX-License-Identifier: Apache-2.0
// peer_table: the peers of one node that hash to one shard, with every
// index a lookup needs (node id, address, node key, FQDN), all updated
// incrementally. A short name is its FQDN in the tailnet's MagicDNS suffix
// (expanded by the caller, as Tailscale's name index keys short names only
// for peers in that suffix), so one name index serves both. Owned by
// exactly one peer-map shard actor; not thread-safe. Never walks all peers
// except in load(), clear() and for_each() (the full paths).
//
// Index eviction is conditional: removing a peer drops an index entry only
// if that entry still points at the peer, because control may hand an
// address or name to a new peer before the old one's removal arrives.
#pragma once

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/hash/hash.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "runtime/peer_record.hpp"

namespace tf {

namespace detail {

// hash_bytes hashes a key's bytes with Abseil's own string hash. Debian
// builds Abseil with its own string_view type, so a std::string_view would
// fall back to std::hash (measured: a tenth of a shard's delta time).
inline size_t hash_bytes(std::string_view s) {
  return absl::Hash<absl::string_view>{}(absl::string_view{s.data(), s.size()});
}

inline size_t hash_key(uint32_t v) {
  return absl::HashOf(v);
}

inline size_t hash_key(std::string_view s) {
  return hash_bytes(s);
}

// Projections that key a set of record pointers by one of their fields, so
// every index costs one pointer per peer.
template <class Proj>
struct record_key_hash {
  using is_transparent = void;
  size_t operator()(const peer_record* r) const { return hash_key(Proj::key(*r)); }
  template <class K>
  size_t operator()(const K& k) const {
    return hash_key(Proj::as_key(k));
  }
};

template <class Proj>
struct record_key_eq {
  using is_transparent = void;
  // Two records are the same element when they have the same key: an index
  // holds one record per key.
  bool operator()(const peer_record* a, const peer_record* b) const {
    return Proj::key(*a) == Proj::key(*b);
  }
  template <class K>
  bool operator()(const peer_record* a, const K& b) const {
    return Proj::key(*a) == Proj::as_key(b);
  }
  template <class K>
  bool operator()(const K& a, const peer_record* b) const {
    return Proj::as_key(a) == Proj::key(*b);
  }
};

struct by_v4 {
  static uint32_t key(const peer_record& r) { return r.v4_value(); }
  static uint32_t as_key(uint32_t v) { return v; }
};
struct by_v6 {
  static std::string_view key(const peer_record& r) {
    return {reinterpret_cast<const char*>(r.v6_bytes().data()), 16};
  }
  static std::string_view as_key(const ip_addr::bytes16& b) {
    return {reinterpret_cast<const char*>(b.data()), 16};
  }
};
struct by_key {
  static std::string_view key(const peer_record& r) {
    return {reinterpret_cast<const char*>(r.key().data()), key_len};
  }
  static std::string_view as_key(const node_public_key& k) {
    return {reinterpret_cast<const char*>(k.data()), key_len};
  }
};
struct by_fqdn {
  static std::string_view key(const peer_record& r) { return r.name(); }
  static std::string_view as_key(std::string_view s) { return s; }
};

template <class Proj>
using record_index
  = absl::flat_hash_set<const peer_record*, record_key_hash<Proj>, record_key_eq<Proj>>;

} // namespace detail

class peer_table {
public:
  /// entry is a peer and the generation of the mutation that stored it. A
  /// node stamps generations in the order control's messages arrived, so
  /// the higher generation wins when two shards claim one address or name.
  struct entry {
    peer_ref rec;
    uint64_t gen = 0;
  };

  enum class upsert_result { added, replaced, unchanged };

  /// upsert adds or replaces the peer with `rec`'s id.
  upsert_result upsert(peer_ref rec, uint64_t gen);

  /// remove drops the peer `id` and returns it (null if unknown).
  peer_ref remove(wire::node_id id);

  /// patch applies `change` to a known peer and returns the new record;
  /// null if the id is unknown (the caller counts it and moves on).
  peer_ref patch(const wire::peer_change& change, uint64_t gen);

  /// prefetch warms the cache lines that removing the peers `removed` and
  /// upserting `upserted` will touch: the id slots, the records they replace
  /// and every index slot of old and new keys. A batch of mutations then
  /// waits for memory in parallel instead of one miss after another (at
  /// 250,000 peers nearly every slot is a miss). Below prefetch_min_peers
  /// the tables fit a core's cache and it does nothing (there it cost more
  /// than it saved: bench/delta_path). A hint only: no state changes, and
  /// correctness never depends on it.
  static constexpr size_t prefetch_min_peers = 16384;
  void prefetch(std::span<const wire::node_id> removed,
                std::span<const peer_record* const> upserted);

  /// A full netmap replaces every peer, in parts (the full path, O(peers)):
  /// begin_load sizes the tables, upsert() each peer with the map's
  /// generation, then remove_older_than(gen) drops the peers the map no
  /// longer has, calling `gone(record)` for each.
  void begin_load(size_t expected);
  template <class F>
  void remove_older_than(uint64_t gen, F&& gone) {
    std::vector<wire::node_id> stale;
    for (auto& [id, e] : by_id_)
      if (e.gen < gen)
        stale.push_back(id);
    for (auto id : stale)
      if (auto rec = remove(id))
        gone(*rec);
  }

  /// load replaces every peer at once (begin_load, upserts, removal).
  void load(std::vector<peer_ref> peers, uint64_t gen);

  /// clear drops every peer.
  void clear();

  const entry* find(wire::node_id id) const;
  const entry* find_by_addr(const ip_addr& a) const;
  const entry* find_by_key(const node_public_key& k) const;
  /// find_by_name takes an FQDN, lowercase, no trailing dot (a short name
  /// becomes one with magic_dns_fqdn()).
  const entry* find_by_name(std::string_view fqdn) const;

  size_t size() const noexcept { return by_id_.size(); }

  /// for_each visits every peer (snapshots only).
  template <class F>
  void for_each(F&& f) const {
    for (auto& [id, e] : by_id_)
      f(e);
  }

  /// index_bytes estimates the memory of the tables (not the records).
  size_t index_bytes() const;

  /// record_bytes is the size of the records this table holds (shared
  /// records count in every table that holds them).
  size_t record_bytes() const noexcept { return record_bytes_; }

  /// evictions_skipped counts removals that left an index entry alone
  /// because it already pointed at a newer peer.
  uint64_t evictions_skipped() const noexcept { return evictions_skipped_; }

private:
  void index(const peer_record* r);
  void unindex(const peer_record* r);
  void prefetch_slots(const peer_record* r) const;
  void prefetch_old(wire::node_id id);
  const entry* entry_of(const peer_record* r) const;

  absl::flat_hash_map<wire::node_id, entry> by_id_;
  detail::record_index<detail::by_v4> by_v4_;
  detail::record_index<detail::by_v6> by_v6_;
  detail::record_index<detail::by_key> by_key_;
  detail::record_index<detail::by_fqdn> by_fqdn_;
  absl::flat_hash_map<ip_addr, const peer_record*> by_extra_addr_;
  uint64_t evictions_skipped_ = 0;
  size_t record_bytes_ = 0;
  std::vector<const peer_record*> prefetched_;  // prefetch()'s scratch
};

/// apply_change returns `n` with `change` applied (a patch's new content).
wire::node apply_change(wire::node n, const wire::peer_change& change);

} // namespace tf
