// SPDX-License-Identifier: Apache-2.0
// peer_record: one tailnet peer as a node sees it. Immutable after
// construction and interned process-wide (peer_intern.hpp), so co-located
// nodes that see the same peer share one copy. One allocation per record:
// fixed fields, then endpoints, extra prefixes and strings in a tail.
// Safe to read from any thread; the reference count is atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/ip.hpp"
#include "runtime/keys.hpp"
#include "runtime/wire.hpp"

namespace tf {

class peer_ref;

/// tag_list is an interned, sorted list of ACL tags ("tag:ci"). Interned
/// lists live for the life of the process; compare them by pointer.
struct tag_list {
  std::vector<std::string> tags;
  bool contains(std::string_view tag) const;
};

/// intern_tags returns the process-wide copy of `tags` (nullptr if empty).
const tag_list* intern_tags(const std::vector<std::string>& tags);

class peer_record {
public:
  peer_record(const peer_record&) = delete;
  peer_record& operator=(const peer_record&) = delete;

  wire::node_id id() const noexcept { return id_; }
  wire::user_id user() const noexcept { return user_; }
  const node_public_key& key() const noexcept { return key_; }
  int64_t key_expiry() const noexcept { return key_expiry_; }
  int64_t created() const noexcept { return created_; }
  int64_t last_seen() const noexcept { return last_seen_; }
  bool online_known() const noexcept { return flags_ & online_known_flag; }
  bool online() const noexcept { return flags_ & online_flag; }
  bool machine_authorized() const noexcept { return flags_ & authorized_flag; }

  /// v4 and v6 are the peer's primary addresses (invalid if it has none).
  ip_addr v4() const;
  ip_addr v6() const;
  bool has_v4() const noexcept { return flags_ & has_v4_flag; }
  bool has_v6() const noexcept { return flags_ & has_v6_flag; }
  uint32_t v4_value() const noexcept { return v4_; }
  const ip_addr::bytes16& v6_bytes() const noexcept { return v6_; }

  /// extra_addresses are addresses beyond the primary two (rare).
  std::span<const ip_prefix> extra_addresses() const noexcept;
  /// allowed_ips is empty when they equal the addresses (the usual case).
  std::span<const ip_prefix> allowed_ips() const noexcept;
  std::span<const ip_endpoint> endpoints() const noexcept;

  std::string_view stable_id() const noexcept;
  /// name is the MagicDNS FQDN, lowercase, without the trailing dot.
  std::string_view name() const noexcept;
  /// short_name is the name's first label ("web" of "web.tail1.ts.net").
  std::string_view short_name() const noexcept;
  std::string_view hostname() const noexcept;
  const tag_list* tags() const noexcept { return tags_; }
  bool is_tagged() const noexcept { return tags_ != nullptr; }

  /// same_content compares this record with a wire node field by field.
  bool same_content(const wire::node& n) const;

  /// addresses_match compares addresses and allowed IPs with `n`'s.
  bool addresses_match(const wire::node& n) const;

  /// to_wire rebuilds the wire form (for patches and snapshots).
  wire::node to_wire() const;

  /// allocated_len is the size of this record's one allocation.
  size_t allocated_len() const noexcept;

  // -- reference counting (peer_ref does this; not for direct use) ---------
  void acquire() const noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  bool try_acquire() const noexcept;
  void release() const noexcept;
  uint32_t use_count() const noexcept { return refs_.load(std::memory_order_relaxed); }

  /// make builds a new, not yet interned record with one reference.
  /// Use intern_peer() instead unless you know why.
  static peer_record* make(const wire::node& n);

  /// destroy frees a record whose count dropped to zero.
  static void destroy(const peer_record* r) noexcept;

private:
  peer_record() = default;
  ~peer_record() = default;

  static constexpr uint8_t has_v4_flag = 1;
  static constexpr uint8_t has_v6_flag = 2;
  static constexpr uint8_t online_known_flag = 4;
  static constexpr uint8_t online_flag = 8;
  static constexpr uint8_t authorized_flag = 16;

  const char* tail() const noexcept { return reinterpret_cast<const char*>(this + 1); }

  mutable std::atomic<uint32_t> refs_{1};
  uint16_t num_endpoints_ = 0;
  uint16_t num_extra_ = 0;
  uint16_t num_allowed_ = 0;
  uint16_t stable_id_len_ = 0;
  uint16_t name_len_ = 0;
  uint16_t hostname_len_ = 0;
  uint8_t flags_ = 0;
  uint32_t v4_ = 0;
  wire::node_id id_ = 0;
  wire::user_id user_ = 0;
  int64_t key_expiry_ = 0;
  int64_t created_ = 0;
  int64_t last_seen_ = 0;
  const tag_list* tags_ = nullptr;
  node_public_key key_;
  ip_addr::bytes16 v6_{};
  // tail: ip_endpoint[num_endpoints_], ip_prefix[num_extra_],
  // ip_prefix[num_allowed_], chars of stable_id, name, hostname
};

/// peer_ref is a counted reference to an immutable peer_record.
class peer_ref {
public:
  peer_ref() = default;
  /// adopt takes over one reference the caller already holds.
  static peer_ref adopt(const peer_record* r) noexcept {
    peer_ref out;
    out.ptr_ = r;
    return out;
  }
  peer_ref(const peer_ref& other) noexcept : ptr_(other.ptr_) {
    if (ptr_)
      ptr_->acquire();
  }
  peer_ref(peer_ref&& other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)) {}
  peer_ref& operator=(peer_ref other) noexcept {
    std::swap(ptr_, other.ptr_);
    return *this;
  }
  ~peer_ref() {
    if (ptr_)
      ptr_->release();
  }

  const peer_record* get() const noexcept { return ptr_; }
  const peer_record* operator->() const noexcept { return ptr_; }
  const peer_record& operator*() const noexcept { return *ptr_; }
  explicit operator bool() const noexcept { return ptr_ != nullptr; }
  friend bool operator==(const peer_ref& a, const peer_ref& b) noexcept {
    return a.ptr_ == b.ptr_;
  }

private:
  const peer_record* ptr_ = nullptr;
};

} // namespace tf
