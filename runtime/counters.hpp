// SPDX-License-Identifier: Apache-2.0
// Process-wide named counters ("control_frames_rejected_oversize", ...).
// Every rejected packet, frame, key or file bumps one. Counters are atomics
// and may be bumped from any thread; the registry's map is guarded by a mutex
// taken only on first use of a name and by snapshot().
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace tf {

/// counter is one monotonically increasing event count.
class counter {
public:
  void add(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> value_{0};
};

/// get_counter returns the process-wide counter called `name`; the reference
/// stays valid for the life of the process. Cache it in a static at the call
/// site: TF_COUNTER("name").add();
counter& get_counter(std::string_view name);

/// counter_value reads a counter by name (0 if never created).
uint64_t counter_value(std::string_view name);

/// snapshot_counters copies every counter (for status pages and tests).
std::map<std::string, uint64_t> snapshot_counters();

} // namespace tf

/// TF_COUNTER looks a counter up once per call site.
#define TF_COUNTER(name)                                                       \
  ([]() -> ::tf::counter& {                                                    \
    static ::tf::counter& tf_counter_ref = ::tf::get_counter(name);            \
    return tf_counter_ref;                                                     \
  }())
