// SPDX-License-Identifier: Apache-2.0
// The reference case of bench/throughput: two unmodified wireguard-go peers
// in network namespaces (scripts/wg-peer-netns.sh pair-up), the kernel's TCP
// on top, iperf3 for bulk throughput and an in-process TCP ping-pong for
// latency. Called from main's thread; always tears the pair down.
#pragma once

#include "bench/throughput/case_result.hpp"

namespace tf::bench {

/// measure_wireguard_go brings a wireguard-go pair up, measures it and tears
/// it down (also on failure; a watchdog of the script does so should this
/// process die). Returns a row named "wireguard-go" with `skipped` set when
/// not root, namespaces are unavailable, or wireguard-go, wg, iperf3 or the
/// script are missing. Fails (io_error, timeout, malformed_message) when the
/// pair does not come up or a measurement breaks.
result<case_result> measure_wireguard_go(const case_options& opt);

} // namespace tf::bench
