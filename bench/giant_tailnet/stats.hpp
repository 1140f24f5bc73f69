// SPDX-License-Identifier: Apache-2.0
// Small measurement helpers of the benchmarks: percentiles and process RSS.
#pragma once

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <vector>

#include <malloc.h>
#include <unistd.h>

namespace tf::bench {

/// percentile returns the p-th percentile (0..100) of `xs` (copied, sorted).
inline double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto idx = static_cast<size_t>(p / 100.0 * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(idx, xs.size() - 1)];
}

/// rss_bytes reads the resident set size after returning free heap pages to
/// the system, so freed buffers do not count.
inline size_t rss_bytes() {
  malloc_trim(0);
  std::ifstream statm{"/proc/self/statm"};
  size_t total = 0, resident = 0;
  statm >> total >> resident;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

} // namespace tf::bench
