// SPDX-License-Identifier: Apache-2.0
// index_table maps the 32-bit receiver indices we hand out (one per pending
// handshake and per keypair) to the session that owns them, so one UDP socket
// demultiplexes many peers, and, when devices share one table, many local
// nodes. Confined to the thread or actor that owns the devices; O(1) lookups.
#pragma once

#include <cstdint>

#include <absl/container/flat_hash_map.h>

namespace tf::wg {

class session;

/// index_table hands out random, unused, non-zero indices.
class index_table {
public:
  /// allocate returns a fresh index owned by `owner`.
  uint32_t allocate(session* owner);

  /// release forgets `index` (no-op for 0 or an unknown index).
  void release(uint32_t index) noexcept;

  /// find returns the owner of `index`, or nullptr.
  session* find(uint32_t index) const noexcept;

  size_t size() const noexcept { return map_.size(); }

private:
  absl::flat_hash_map<uint32_t, session*> map_;
};

} // namespace tf::wg
