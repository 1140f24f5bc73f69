// SPDX-License-Identifier: Apache-2.0
// The load state and the per-source token buckets (see the header).
#include "runtime/wg/handshake_guard.hpp"

#include <algorithm>

namespace tf::wg {

handshake_load::handshake_load(size_t threshold, clock::duration window, clock::duration hold)
    : threshold_(threshold), window_(window), hold_(hold) {}

bool handshake_load::note(time_point now) {
  if (now - window_start_ >= window_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (++in_window_ > threshold_)
    loaded_until_ = now + hold_;
  return under_load(now);
}

namespace {

/// idle_after: a source quiet this long has a full bucket again, so its
/// entry can go (wireguard-go collects them every second as well).
constexpr clock::duration idle_after = std::chrono::seconds{1};

} // namespace

handshake_rate_limiter::handshake_rate_limiter(uint32_t per_second, uint32_t burst,
                                               size_t max_sources)
    : cost_(std::chrono::duration_cast<clock::duration>(std::chrono::seconds{1})
            / std::max<uint32_t>(per_second, 1)),
      max_tokens_(cost_ * std::max<uint32_t>(burst, 1)),
      max_sources_(max_sources) {}

bool handshake_rate_limiter::allow(std::span<const uint8_t> source, time_point now) {
  if (now - last_sweep_ >= idle_after)
    sweep(now);
  // A source_address is 4 + 2 bytes (IPv4) or 16 + 2 (IPv6).
  bool v6 = source.size() > 6;
  uint64_t bits = 0;
  for (size_t i = 0; i < (v6 ? 8u : 4u) && i < source.size(); ++i)
    bits = (bits << 8) | source[i];
  auto key = std::make_pair(bits, v6);
  auto i = buckets_.find(key);
  if (i == buckets_.end()) {
    if (buckets_.size() >= max_sources_)
      return false;
    buckets_.emplace(key, bucket{max_tokens_ - cost_, now});
    return true;
  }
  auto& b = i->second;
  b.tokens = std::min(max_tokens_, b.tokens + (now - b.last));
  b.last = now;
  if (b.tokens < cost_)
    return false;
  b.tokens -= cost_;
  return true;
}

void handshake_rate_limiter::sweep(time_point now) {
  last_sweep_ = now;
  absl::erase_if(buckets_, [&](const auto& kv) { return now - kv.second.last >= idle_after; });
}

} // namespace tf::wg
