// SPDX-License-Identifier: Apache-2.0
// Reads the JSON report of `iperf3 -c ... -J` (the client's view of a single
// TCP test) into the few numbers bench/throughput prints. A pure function,
// safe on any thread; never throws, never trusts a field to exist.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/result.hpp"

namespace tf::bench {

/// iperf3_report is the summary of one iperf3 TCP test.
struct iperf3_report {
  /// bits_per_second and bytes as counted by the receiver
  /// (end.sum_received).
  double bits_per_second = 0;
  uint64_t bytes = 0;
  /// seconds is the length of the test (end.sum_received.seconds).
  double seconds = 0;
  /// retransmits is end.sum_sent.retransmits (the sender's, from TCP_INFO).
  uint64_t retransmits = 0;
  /// client_cpu_s and server_cpu_s are the CPU seconds (user + system) of
  /// the two iperf3 processes: cpu_utilization_percent host_total and
  /// remote_total times the test length.
  double client_cpu_s = 0;
  double server_cpu_s = 0;
};

/// parse_iperf3_report reads `text`. Fails with malformed_message when it is
/// not JSON or lacks end.sum_received, and with io_error carrying iperf3's
/// own message when the report has an "error" field.
result<iperf3_report> parse_iperf3_report(const std::string& text);

} // namespace tf::bench
