// SPDX-License-Identifier: Apache-2.0
// usable_cpus (see usable_cpus.hpp).
#include "runtime/usable_cpus.hpp"

#include <sched.h>

namespace tf {

std::vector<int> usable_cpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) != 0)
    return out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set))
      out.push_back(cpu);
  return out;
}

} // namespace tf
