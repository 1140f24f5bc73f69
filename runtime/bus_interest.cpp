// SPDX-License-Identifier: Apache-2.0
// Interest routing tables. Confined to the owning shard actor.
#include "runtime/bus_interest.hpp"

#include <algorithm>

#include "runtime/counters.hpp"
#include "runtime/node_normalize.hpp"

namespace tf::bus {

namespace {

void erase_value(std::vector<watcher_id>& v, watcher_id w) {
  v.erase(std::remove(v.begin(), v.end(), w), v.end());
}

template <class Map>
void erase_from(Map& map, const std::string& key, watcher_id w) {
  auto i = map.find(key);
  if (i == map.end())
    return;
  erase_value(i->second, w);
  if (i->second.empty())
    map.erase(i);
}

// Debian's Abseil has its own string_view type: convert for lookups.
template <class Map>
void append_matches(const Map& map, std::string_view key, std::vector<watcher_id>& out) {
  if (auto i = map.find(absl::string_view{key.data(), key.size()}); i != map.end())
    out.insert(out.end(), i->second.begin(), i->second.end());
}

} // namespace

result<void> validate_mask(watch_mask mask) {
  if ((mask & notify_rate_limit)
      && (mask & (notify_peer_changes | notify_peer_patches | notify_no_netmap
                  | notify_initial_status))) {
    TF_COUNTER("bus_watch_rejected_mask").add();
    return make_error(errc::invalid_argument,
                      "rate limiting cannot be combined with the lossless peer "
                      "change, no-netmap or initial-status options");
  }
  return {};
}

void interest_table::add(watcher_id w, const interest& raw) {
  remove(w);
  interest i;
  for (auto& p : raw.peers)
    i.peers.push_back(lowercase_name(p));
  i.tags = raw.tags;
  if (i.everything())
    everything_.push_back(w);
  for (auto& p : i.peers)
    by_name_[p].push_back(w);
  for (auto& t : i.tags)
    by_tag_[t].push_back(w);
  interests_.emplace(w, std::move(i));
}

void interest_table::remove(watcher_id w) {
  auto i = interests_.find(w);
  if (i == interests_.end())
    return;
  if (i->second.everything())
    erase_value(everything_, w);
  for (auto& p : i->second.peers)
    erase_from(by_name_, p, w);
  for (auto& t : i->second.tags)
    erase_from(by_tag_, t, w);
  interests_.erase(i);
}

void interest_table::matches(const peer_record& r, std::vector<watcher_id>& out) const {
  auto first = out.size();
  out.insert(out.end(), everything_.begin(), everything_.end());
  if (!by_name_.empty()) {
    append_matches(by_name_, r.name(), out);
    append_matches(by_name_, r.short_name(), out);
  }
  if (!by_tag_.empty() && r.tags())
    for (auto& t : r.tags()->tags)
      append_matches(by_tag_, t, out);
  std::sort(out.begin() + static_cast<ptrdiff_t>(first), out.end());
  out.erase(std::unique(out.begin() + static_cast<ptrdiff_t>(first), out.end()), out.end());
}

} // namespace tf::bus
