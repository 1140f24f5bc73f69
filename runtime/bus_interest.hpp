// SPDX-License-Identifier: Apache-2.0
// interest_table: which watchers want to hear about which peers, so a
// change is routed only to interested watchers (cost: the number of
// matches, never the number of watchers or peers). Owned by one shard
// actor; not thread-safe.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/bus_types.hpp"
#include "runtime/peer_record.hpp"

namespace tf::bus {

using watcher_id = uint64_t;

class interest_table {
public:
  /// add registers `w` with interest `i` (replacing an earlier one).
  void add(watcher_id w, const interest& i);
  void remove(watcher_id w);
  bool empty() const noexcept { return interests_.empty(); }
  size_t size() const noexcept { return interests_.size(); }

  /// matches returns, once each, the watchers interested in `r`.
  void matches(const peer_record& r, std::vector<watcher_id>& out) const;

private:
  absl::flat_hash_map<watcher_id, interest> interests_;
  std::vector<watcher_id> everything_;
  absl::flat_hash_map<std::string, std::vector<watcher_id>> by_name_;
  absl::flat_hash_map<std::string, std::vector<watcher_id>> by_tag_;
};

} // namespace tf::bus
