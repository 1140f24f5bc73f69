// SPDX-License-Identifier: Apache-2.0
// Construction, accessors and content hashing of peer records, and the tag
// pool. Records are immutable, so accessors need no synchronisation; the tag
// pool's mutex guards only the pool.
#include "runtime/peer_record.hpp"

#include <absl/container/flat_hash_set.h>
#include <absl/hash/hash.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>

#include "runtime/peer_intern.hpp"
#include "runtime/record_arena.hpp"

namespace tf {

// -- tag pool -----------------------------------------------------------------

bool tag_list::contains(std::string_view tag) const {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

namespace {

struct tag_pool {
  struct hash {
    using is_transparent = void;
    size_t operator()(const tag_list* t) const { return absl::HashOf(t->tags); }
    size_t operator()(const std::vector<std::string>& v) const { return absl::HashOf(v); }
  };
  struct eq {
    using is_transparent = void;
    bool operator()(const tag_list* a, const tag_list* b) const { return a == b; }
    bool operator()(const tag_list* a, const std::vector<std::string>& b) const {
      return a->tags == b;
    }
    bool operator()(const std::vector<std::string>& a, const tag_list* b) const {
      return a == b->tags;
    }
  };
  std::mutex mtx; // guards: lists
  absl::flat_hash_set<const tag_list*, hash, eq> lists;
};

tag_pool& the_tag_pool() {
  static auto* pool = new tag_pool; // lives for the process, like its lists
  return *pool;
}

ip_addr::bytes16 v6_of(const ip_addr& a) {
  return a.bytes();
}

// split_addresses picks the primary /32 and /128 and leaves the rest.
struct address_split {
  const ip_prefix* v4 = nullptr;
  const ip_prefix* v6 = nullptr;
  std::vector<const ip_prefix*> extra;
};

address_split split_addresses(const std::vector<ip_prefix>& addrs) {
  address_split out;
  for (auto& p : addrs) {
    if (!out.v4 && p.addr.is_v4() && p.bits == 32)
      out.v4 = &p;
    else if (!out.v6 && p.addr.is_v6() && p.bits == 128)
      out.v6 = &p;
    else
      out.extra.push_back(&p);
  }
  return out;
}

} // namespace

const tag_list* intern_tags(const std::vector<std::string>& tags) {
  if (tags.empty())
    return nullptr;
  auto& pool = the_tag_pool();
  std::lock_guard<std::mutex> guard{pool.mtx};
  if (auto i = pool.lists.find(tags); i != pool.lists.end())
    return *i;
  auto* list = new tag_list{tags};
  pool.lists.insert(list);
  return list;
}

// -- construction -------------------------------------------------------------

peer_record* peer_record::make(const wire::node& n) {
  auto split = split_addresses(n.addresses);
  bool allowed_differs = !n.allowed_ips.empty() && n.allowed_ips != n.addresses;
  size_t num_allowed = allowed_differs ? n.allowed_ips.size() : 0;
  size_t tail_len = n.endpoints.size() * sizeof(ip_endpoint)
                    + (split.extra.size() + num_allowed) * sizeof(ip_prefix)
                    + n.stable_id.size() + n.name.size() + n.hostname.size();
  assert(n.endpoints.size() <= UINT16_MAX && split.extra.size() <= UINT16_MAX
         && num_allowed <= UINT16_MAX && n.stable_id.size() <= UINT16_MAX
         && n.name.size() <= UINT16_MAX && n.hostname.size() <= UINT16_MAX);
  void* mem = allocate_record_block(sizeof(peer_record) + tail_len);
  auto* r = new (mem) peer_record;
  r->id_ = n.id;
  r->user_ = n.user;
  r->key_ = n.key;
  r->key_expiry_ = n.key_expiry;
  r->created_ = n.created;
  r->last_seen_ = n.last_seen;
  r->tags_ = intern_tags(n.tags);
  if (split.v4) {
    r->flags_ |= has_v4_flag;
    r->v4_ = split.v4->addr.v4_value();
  }
  if (split.v6) {
    r->flags_ |= has_v6_flag;
    r->v6_ = v6_of(split.v6->addr);
  }
  if (n.online) {
    r->flags_ |= online_known_flag;
    if (*n.online)
      r->flags_ |= online_flag;
  }
  if (n.machine_authorized)
    r->flags_ |= authorized_flag;
  r->num_endpoints_ = static_cast<uint16_t>(n.endpoints.size());
  r->num_extra_ = static_cast<uint16_t>(split.extra.size());
  r->num_allowed_ = static_cast<uint16_t>(num_allowed);
  r->stable_id_len_ = static_cast<uint16_t>(n.stable_id.size());
  r->name_len_ = static_cast<uint16_t>(n.name.size());
  r->hostname_len_ = static_cast<uint16_t>(n.hostname.size());
  char* out = reinterpret_cast<char*>(r + 1);
  for (auto& ep : n.endpoints) {
    new (out) ip_endpoint(ep);
    out += sizeof(ip_endpoint);
  }
  for (auto* p : split.extra) {
    new (out) ip_prefix(*p);
    out += sizeof(ip_prefix);
  }
  for (size_t i = 0; i < num_allowed; ++i) {
    new (out) ip_prefix(n.allowed_ips[i]);
    out += sizeof(ip_prefix);
  }
  for (auto* s : {&n.stable_id, &n.name, &n.hostname}) {
    std::memcpy(out, s->data(), s->size());
    out += s->size();
  }
  return r;
}

void peer_record::destroy(const peer_record* r) noexcept {
  static_assert(std::is_trivially_destructible_v<ip_endpoint>
                && std::is_trivially_destructible_v<ip_prefix>);
  auto len = r->allocated_len();
  r->~peer_record();
  free_record_block(const_cast<peer_record*>(r), len);
}

bool peer_record::try_acquire() const noexcept {
  auto n = refs_.load(std::memory_order_relaxed);
  while (n != 0) {
    if (refs_.compare_exchange_weak(n, n + 1, std::memory_order_acquire,
                                    std::memory_order_relaxed))
      return true;
  }
  return false;
}

void peer_record::release() const noexcept {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
    release_interned_peer(this);
}

// -- accessors ----------------------------------------------------------------

ip_addr peer_record::v4() const {
  return has_v4() ? ip_addr::v4(v4_) : ip_addr{};
}

ip_addr peer_record::v6() const {
  return has_v6() ? ip_addr::v6(v6_) : ip_addr{};
}

std::span<const ip_endpoint> peer_record::endpoints() const noexcept {
  return {reinterpret_cast<const ip_endpoint*>(tail()), num_endpoints_};
}

std::span<const ip_prefix> peer_record::extra_addresses() const noexcept {
  auto* p = tail() + num_endpoints_ * sizeof(ip_endpoint);
  return {reinterpret_cast<const ip_prefix*>(p), num_extra_};
}

std::span<const ip_prefix> peer_record::allowed_ips() const noexcept {
  auto* p = tail() + num_endpoints_ * sizeof(ip_endpoint) + num_extra_ * sizeof(ip_prefix);
  return {reinterpret_cast<const ip_prefix*>(p), num_allowed_};
}

std::string_view peer_record::stable_id() const noexcept {
  auto* p = tail() + num_endpoints_ * sizeof(ip_endpoint)
            + (num_extra_ + num_allowed_) * sizeof(ip_prefix);
  return {p, stable_id_len_};
}

std::string_view peer_record::name() const noexcept {
  return {stable_id().data() + stable_id_len_, name_len_};
}

std::string_view peer_record::short_name() const noexcept {
  auto full = name();
  return full.substr(0, full.find('.'));
}

std::string_view peer_record::hostname() const noexcept {
  return {name().data() + name_len_, hostname_len_};
}

size_t peer_record::allocated_len() const noexcept {
  return sizeof(peer_record) + num_endpoints_ * sizeof(ip_endpoint)
         + (num_extra_ + num_allowed_) * sizeof(ip_prefix) + stable_id_len_ + name_len_
         + hostname_len_;
}

// -- conversion ---------------------------------------------------------------

wire::node peer_record::to_wire() const {
  wire::node n;
  n.id = id_;
  n.stable_id = stable_id();
  n.name = name();
  n.key = key_;
  n.key_expiry = key_expiry_;
  // Addresses in canonical order: v4, v6, the rest (see normalize_node).
  if (has_v4())
    n.addresses.push_back(ip_prefix::host(v4()));
  if (has_v6())
    n.addresses.push_back(ip_prefix::host(v6()));
  for (auto& p : extra_addresses())
    n.addresses.push_back(p);
  for (auto& p : allowed_ips())
    n.allowed_ips.push_back(p);
  n.endpoints.assign(endpoints().begin(), endpoints().end());
  n.user = user_;
  if (tags_)
    n.tags = tags_->tags;
  n.hostname = hostname();
  n.created = created_;
  if (online_known())
    n.online = online();
  n.last_seen = last_seen_;
  n.machine_authorized = machine_authorized();
  return n;
}

bool peer_record::same_content(const wire::node& n) const {
  if (n.id != id_ || n.key != key_ || n.user != user_ || n.key_expiry != key_expiry_
      || n.created != created_ || n.last_seen != last_seen_
      || n.machine_authorized != machine_authorized() || n.online.has_value() != online_known()
      || (n.online && *n.online != online()) || n.stable_id != stable_id()
      || n.name != name() || n.hostname != hostname())
    return false;
  if (n.tags.empty() ? tags_ != nullptr : (tags_ == nullptr || tags_->tags != n.tags))
    return false;
  if (!std::equal(n.endpoints.begin(), n.endpoints.end(), endpoints().begin(),
                  endpoints().end()))
    return false;
  return addresses_match(n);
}

bool peer_record::addresses_match(const wire::node& n) const {
  // Control sends (and normalize_node() enforces) the order v4, v6, rest.
  size_t i = 0;
  auto next_is = [&](const ip_prefix& want) {
    return i < n.addresses.size() && n.addresses[i++] == want;
  };
  if (has_v4() && !next_is(ip_prefix::host(v4())))
    return false;
  if (has_v6() && !next_is(ip_prefix::host(v6())))
    return false;
  for (auto& p : extra_addresses())
    if (!next_is(p))
      return false;
  if (i != n.addresses.size())
    return false;
  bool allowed_same = n.allowed_ips.empty() || n.allowed_ips == n.addresses;
  if (allowed_same)
    return allowed_ips().empty();
  return std::equal(n.allowed_ips.begin(), n.allowed_ips.end(), allowed_ips().begin(),
                    allowed_ips().end());
}

} // namespace tf
