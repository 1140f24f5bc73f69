// SPDX-License-Identifier: Apache-2.0
// usable_cpus: the CPUs this process may run on -- its affinity mask, as
// `taskset` sets it, not the machine's CPUs. The actor system sizes its
// workers by it; the benchmarks pin threads to its members.
//
// A pure function of the calling thread's mask; any thread.
#pragma once

#include <vector>

namespace tf {

/// usable_cpus lists, in ascending order, the CPUs in the calling thread's
/// affinity mask; empty if the mask cannot be read.
std::vector<int> usable_cpus();

} // namespace tf
