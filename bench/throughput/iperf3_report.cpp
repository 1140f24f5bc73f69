// SPDX-License-Identifier: Apache-2.0
// iperf3 -J parsing with nlohmann-json (parsed without exceptions; every
// field read is checked). Pure; safe on any thread.
#include "bench/throughput/iperf3_report.hpp"

#include <optional>

#include <nlohmann/json.hpp>

#include "runtime/counters.hpp"

namespace tf::bench {

namespace {

using json = nlohmann::json;

/// number_at returns j[a][b] as a double when it is a number.
std::optional<double> number_at(const json& j, const char* a, const char* b) {
  if (!j.is_object() || !j.contains(a) || !j[a].is_object() || !j[a].contains(b)
      || !j[a][b].is_number()) {
    return std::nullopt;
  }
  return j[a][b].get<double>();
}

failure rejected(std::string why) {
  TF_COUNTER("bench_iperf3_reports_rejected").add();
  return make_error(errc::malformed_message, "iperf3 report: " + why);
}

} // namespace

result<iperf3_report> parse_iperf3_report(const std::string& text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return rejected("not a JSON object");
  }
  if (doc.contains("error") && doc["error"].is_string()) {
    TF_COUNTER("bench_iperf3_reports_with_error").add();
    return make_error(errc::io_error, "iperf3: " + doc["error"].get<std::string>());
  }
  if (!doc.contains("end") || !doc["end"].is_object()) {
    return rejected("no \"end\" object");
  }
  const json& end = doc["end"];
  auto bps = number_at(end, "sum_received", "bits_per_second");
  auto bytes = number_at(end, "sum_received", "bytes");
  auto seconds = number_at(end, "sum_received", "seconds");
  if (!bps || !bytes || !seconds || *bps < 0 || *bytes < 0 || *seconds <= 0) {
    return rejected("end.sum_received lacks bits_per_second, bytes or seconds");
  }
  iperf3_report report;
  report.bits_per_second = *bps;
  report.bytes = static_cast<uint64_t>(*bytes);
  report.seconds = *seconds;
  if (auto r = number_at(end, "sum_sent", "retransmits"); r && *r >= 0) {
    report.retransmits = static_cast<uint64_t>(*r);
  }
  if (auto c = number_at(end, "cpu_utilization_percent", "host_total"); c && *c >= 0) {
    report.client_cpu_s = *c / 100.0 * report.seconds;
  }
  if (auto c = number_at(end, "cpu_utilization_percent", "remote_total"); c && *c >= 0) {
    report.server_cpu_s = *c / 100.0 * report.seconds;
  }
  return report;
}

} // namespace tf::bench
