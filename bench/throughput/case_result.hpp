// SPDX-License-Identifier: Apache-2.0
// The shared vocabulary of bench/throughput: the options every case gets, the
// one row every case returns, and the printing of rows (a human table, or one
// JSON object per line). Plain values; used from main's thread only. Never
// measures anything itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "runtime/result.hpp"

namespace tf::bench {

/// case_options is what main hands every case. A default-constructed value
/// is valid.
struct case_options {
  /// seconds is the length of the bulk TCP transfer. Default 5 (--seconds).
  /// iperf3 takes whole seconds: the wireguard-go case rounds (at least 1).
  double seconds = 5;
  /// round_trips is the number of timed request/response exchanges, after a
  /// warm-up of 100 untimed ones. Default 2000 (--round-trips); at least 1000
  /// keeps p99 meaningful.
  size_t round_trips = 2000;
  /// message_len is the size of each request and each response in bytes.
  /// Default 64.
  size_t message_len = 64;
  /// wg_script is the path of scripts/wg-peer-netns.sh. Default: the copy in
  /// the source tree this binary was built from; the environment variable
  /// TF_WG_SCRIPT or --wg-script override it. Only the wireguard-go case uses
  /// it.
  std::string wg_script;
};

/// case_result is one row of the table. The in-process, cross-process and
/// wireguard-go cases all fill the same fields; when `skipped` or `error` is
/// set the numbers mean nothing.
struct case_result {
  /// name is the case: "in-process", "cross-process" or "wireguard-go".
  std::string name;
  /// gbit_per_s is bulk TCP goodput as counted by the receiver (1e9 bit/s).
  double gbit_per_s = 0;
  /// p50_us and p99_us are request/response round-trip times over TCP.
  double p50_us = 0;
  double p99_us = 0;
  /// retransmits counts TCP segments the sender retransmitted during the
  /// bulk transfer (absent: the case cannot tell).
  std::optional<uint64_t> retransmits;
  /// cpu_s_per_gb is CPU seconds (user + system, every process of the case)
  /// spent per 1e9 bytes received (absent: not measured).
  std::optional<double> cpu_s_per_gb;
  /// detail is one line of free text: how it was measured, what it counted.
  std::string detail;
  /// skipped, when not empty, says why the case did not run (not root, no
  /// namespaces, a tool missing). A skipped case is not a failure.
  std::string skipped;
  /// error, when not empty, says why the case failed.
  std::string error;

  bool ran() const { return skipped.empty() && error.empty(); }
};

/// case_fn measures one case. It returns a failure for real errors and a
/// row with `skipped` set when the machine cannot run it.
using case_fn = std::function<result<case_result>(const case_options&)>;

/// latency_percentile_us returns the p-th percentile (0..100) of `samples_us`
/// (nearest rank; 0 when empty).
double latency_percentile_us(std::vector<double> samples_us, double p);

/// reference_row returns the row the ratios are taken against: the
/// "wireguard-go" row when it ran, else nullptr.
const case_result* reference_row(const std::vector<case_result>& rows);

/// print_table writes a human table of `rows`, with the ratio of each row to
/// the wireguard-go row (x1.00 = as good as wireguard-go; for latency and CPU
/// smaller is better).
void print_table(std::ostream& out, const std::vector<case_result>& rows);

/// json_line renders one row as a single-line JSON object: case, gbit_per_s,
/// p50_us, p99_us, retransmits, cpu_s_per_gb, detail, and
/// vs_wireguard_go {gbit_per_s, p50_us, p99_us, cpu_s_per_gb} ratios when
/// `reference` is set and is another row; or case plus "skipped" / "error".
std::string json_line(const case_result& row, const case_result* reference);

/// print_json_lines writes json_line of every row, one per line.
void print_json_lines(std::ostream& out, const std::vector<case_result>& rows);

} // namespace tf::bench
