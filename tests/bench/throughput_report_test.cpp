// SPDX-License-Identifier: Apache-2.0
// Tables for bench/throughput's pure parts: the iperf3 -J reader, the
// latency percentile, and the row printing (JSON lines, ratios, skipped
// rows, the table). Single-threaded; no processes, no namespaces.
#define CAF_SUITE throughput_report
#include <caf/test/unit_test_impl.hpp>

#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/throughput/case_result.hpp"
#include "bench/throughput/iperf3_report.hpp"
#include "runtime/counters.hpp"

using namespace tf;
using namespace tf::bench;

namespace {

// A trimmed `iperf3 -c ... -J` report (iperf3 3.12, 5 s, wireguard-go pair).
const char* good_report = R"({"start":{"version":"iperf 3.12"},"intervals":[],
 "end":{"sum_sent":{"seconds":5.0,"bytes":700000000,"bits_per_second":1.12e9,"retransmits":16000},
        "sum_received":{"seconds":5.0,"bytes":675000000,"bits_per_second":1.08e9},
        "cpu_utilization_percent":{"host_total":2.0,"remote_total":8.0}}})";

} // namespace

CAF_TEST(iperf3_report_reads_receiver_side_and_cpu) {
  auto got = parse_iperf3_report(good_report);
  CAF_REQUIRE(got.ok());
  auto report = *got;
  CAF_CHECK_EQUAL(report.bits_per_second, 1.08e9);
  CAF_CHECK_EQUAL(report.bytes, 675000000u);
  CAF_CHECK_EQUAL(report.seconds, 5.0);
  CAF_CHECK_EQUAL(report.retransmits, 16000u);
  CAF_CHECK_EQUAL(report.client_cpu_s, 0.1); // 2 % of 5 s
  CAF_CHECK_EQUAL(report.server_cpu_s, 0.4); // 8 % of 5 s
}

CAF_TEST(iperf3_report_rejects_bad_input) {
  struct {
    const char* name;
    const char* input;
    errc want;
  } cases[] = {
    {"empty", "", errc::malformed_message},
    {"not json", "iperf3: error - unable to connect", errc::malformed_message},
    {"array", "[1,2]", errc::malformed_message},
    {"iperf3 error", R"({"start":{},"end":{},"error":"unable to connect to server"})",
     errc::io_error},
    {"no end", R"({"start":{}})", errc::malformed_message},
    {"no sum_received", R"({"end":{"sum_sent":{"bits_per_second":1}}})", errc::malformed_message},
    {"string bps", R"({"end":{"sum_received":{"seconds":1,"bytes":1,"bits_per_second":"1"}}})",
     errc::malformed_message},
    {"zero seconds", R"({"end":{"sum_received":{"seconds":0,"bytes":1,"bits_per_second":1}}})",
     errc::malformed_message},
  };
  auto rejected_before = counter_value("bench_iperf3_reports_rejected");
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto got = parse_iperf3_report(c.input);
    CAF_REQUIRE(!got.ok());
    auto code = got.code();
    CAF_CHECK_EQUAL(to_string(code), to_string(c.want));
  }
  CAF_CHECK_EQUAL(counter_value("bench_iperf3_reports_rejected") - rejected_before, 7u);
}

CAF_TEST(latency_percentile_is_nearest_rank) {
  std::vector<double> hundred;
  for (int i = 100; i >= 1; --i) {
    hundred.push_back(i); // unsorted on purpose
  }
  struct {
    const char* name;
    std::vector<double> input;
    double p;
    double want;
  } cases[] = {
    {"empty", {}, 50, 0},
    {"one", {7}, 99, 7},
    {"p50 of 1..100", hundred, 50, 50},
    {"p99 of 1..100", hundred, 99, 99},
    {"p100 of 1..100", hundred, 100, 100},
    {"p0 of 1..100", hundred, 0, 1},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto got = latency_percentile_us(c.input, c.p);
    CAF_CHECK_EQUAL(got, c.want);
  }
}

CAF_TEST(json_lines_carry_numbers_ratios_and_skips) {
  case_result wg;
  wg.name = "wireguard-go";
  wg.gbit_per_s = 1.0;
  wg.p50_us = 200;
  wg.p99_us = 400;
  wg.retransmits = 5;
  wg.cpu_s_per_gb = 10;
  case_result mine;
  mine.name = "in-process";
  mine.gbit_per_s = 2.5;
  mine.p50_us = 100;
  mine.p99_us = 800;
  mine.cpu_s_per_gb = 5;
  case_result skipped;
  skipped.name = "cross-process";
  skipped.skipped = "not implemented yet";
  std::vector<case_result> rows{mine, skipped, wg};
  CAF_REQUIRE(reference_row(rows) == &rows[2]);

  std::ostringstream out;
  print_json_lines(out, rows);
  std::vector<nlohmann::json> lines;
  std::istringstream in{out.str()};
  for (std::string line; std::getline(in, line);) {
    lines.push_back(nlohmann::json::parse(line, nullptr, false));
  }
  CAF_REQUIRE_EQUAL(lines.size(), 3u);
  auto& a = lines[0];
  CAF_CHECK_EQUAL(a["case"].get<std::string>(), "in-process");
  CAF_CHECK_EQUAL(a["gbit_per_s"].get<double>(), 2.5);
  CAF_CHECK_EQUAL(a["p50_us"].get<double>(), 100.0);
  CAF_CHECK_EQUAL(a["p99_us"].get<double>(), 800.0);
  CAF_CHECK(a["retransmits"].is_null());
  CAF_CHECK_EQUAL(a["vs_wireguard_go"]["gbit_per_s"].get<double>(), 2.5);
  CAF_CHECK_EQUAL(a["vs_wireguard_go"]["p50_us"].get<double>(), 0.5);
  CAF_CHECK_EQUAL(a["vs_wireguard_go"]["p99_us"].get<double>(), 2.0);
  CAF_CHECK_EQUAL(a["vs_wireguard_go"]["cpu_s_per_gb"].get<double>(), 0.5);
  auto& b = lines[1];
  CAF_CHECK_EQUAL(b["skipped"].get<std::string>(), "not implemented yet");
  CAF_CHECK(!b.contains("gbit_per_s"));
  auto& c = lines[2];
  CAF_CHECK_EQUAL(c["retransmits"].get<uint64_t>(), 5u);
  CAF_CHECK(!c.contains("vs_wireguard_go"));

  // Without a wireguard-go row there are no ratios.
  rows.pop_back();
  CAF_CHECK(reference_row(rows) == nullptr);
  auto alone = nlohmann::json::parse(json_line(rows[0], nullptr));
  CAF_CHECK(!alone.contains("vs_wireguard_go"));
  // A failed wireguard-go row is no reference either.
  wg.error = "pair-up failed";
  rows.push_back(wg);
  CAF_CHECK(reference_row(rows) == nullptr);
}

CAF_TEST(table_shows_rows_ratios_and_reasons) {
  case_result wg;
  wg.name = "wireguard-go";
  wg.gbit_per_s = 1.0;
  wg.p50_us = 200;
  wg.p99_us = 400;
  wg.detail = "iperf3 1 stream";
  case_result mine;
  mine.name = "in-process";
  mine.gbit_per_s = 2.0;
  mine.p50_us = 100;
  mine.p99_us = 300;
  case_result broken;
  broken.name = "cross-process";
  broken.error = "timeout: no reply";
  std::ostringstream out;
  print_table(out, {mine, broken, wg});
  auto text = out.str();
  struct {
    const char* name;
    const char* want;
  } cases[] = {
    {"ratios of in-process", "x2.00 x0.50 -"},
    {"reference marked", "(reference)"},
    {"error row", "cross-process  error: timeout: no reply"},
    {"detail line", "  wireguard-go: iperf3 1 stream"},
    {"throughput cell", "   2.000"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    CAF_CHECK(text.find(c.want) != std::string::npos);
  }
}
