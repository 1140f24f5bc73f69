// SPDX-License-Identifier: Apache-2.0
// The tailfleet rows of bench/throughput: two nodes in this process (packets
// handed over in memory), and this process's node against a `tailfleet up`
// child over loopback UDP (WireGuard). Both run a real coordination server
// in this process. Main's thread only.
#pragma once

#include "bench/throughput/case_result.hpp"

namespace tf::bench {

/// measure_in_process: bulk TCP and request/response between two nodes of
/// one process.
result<case_result> measure_in_process(const case_options& opt);

/// measure_cross_process: the same between this process and a child process.
result<case_result> measure_cross_process(const case_options& opt);

} // namespace tf::bench
