// SPDX-License-Identifier: Apache-2.0
// Printing of bench/throughput rows: the human table and JSON lines. Runs on
// main's thread; pure formatting, never measures or fails.
#include "bench/throughput/case_result.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace tf::bench {

namespace {

/// rounded keeps `digits` decimals so JSON stays readable.
double rounded(double x, int digits) {
  double scale = std::pow(10.0, digits);
  return std::round(x * scale) / scale;
}

/// ratio returns a / b, or nullopt when either side is unusable.
std::optional<double> ratio(double a, double b) {
  if (!(a > 0) || !(b > 0)) {
    return std::nullopt;
  }
  return a / b;
}

std::string fixed(double x, const char* fmt) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, x);
  return buf;
}

std::string ratio_cell(std::optional<double> r) {
  return r ? fixed(*r, "x%.2f") : std::string{"-"};
}

} // namespace

double latency_percentile_us(std::vector<double> samples_us, double p) {
  if (samples_us.empty()) {
    return 0;
  }
  std::sort(samples_us.begin(), samples_us.end());
  double rank = std::ceil(p / 100.0 * static_cast<double>(samples_us.size()));
  size_t idx = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return samples_us[std::min(idx, samples_us.size() - 1)];
}

const case_result* reference_row(const std::vector<case_result>& rows) {
  for (const auto& row : rows) {
    if (row.name == "wireguard-go" && row.ran()) {
      return &row;
    }
  }
  return nullptr;
}

void print_table(std::ostream& out, const std::vector<case_result>& rows) {
  const case_result* ref = reference_row(rows);
  char line[256];
  std::snprintf(line, sizeof(line), "%-14s %8s %9s %9s %11s %9s  %-27s\n", "case", "Gbit/s",
                "p50 us", "p99 us", "retransmits", "CPU s/GB", "vs wireguard-go (Gb/p50/CPU)");
  out << line;
  for (const auto& row : rows) {
    if (!row.ran()) {
      auto why = row.error.empty() ? "skipped: " + row.skipped : "error: " + row.error;
      std::snprintf(line, sizeof(line), "%-14s ", row.name.c_str());
      out << line << why << '\n';
      continue;
    }
    auto retrans = row.retransmits ? std::to_string(*row.retransmits) : std::string{"-"};
    auto cpu = row.cpu_s_per_gb ? fixed(*row.cpu_s_per_gb, "%.2f") : std::string{"-"};
    std::string vs = "(reference)";
    if (ref != &row) {
      vs = "-";
      if (ref != nullptr) {
        std::optional<double> cpu_ratio;
        if (row.cpu_s_per_gb && ref->cpu_s_per_gb) {
          cpu_ratio = ratio(*row.cpu_s_per_gb, *ref->cpu_s_per_gb);
        }
        vs = ratio_cell(ratio(row.gbit_per_s, ref->gbit_per_s)) + " "
             + ratio_cell(ratio(row.p50_us, ref->p50_us)) + " " + ratio_cell(cpu_ratio);
      }
    }
    std::snprintf(line, sizeof(line), "%-14s %8.3f %9.1f %9.1f %11s %9s  %-27s\n",
                  row.name.c_str(), row.gbit_per_s, row.p50_us, row.p99_us, retrans.c_str(),
                  cpu.c_str(), vs.c_str());
    out << line;
  }
  for (const auto& row : rows) {
    if (row.ran() && !row.detail.empty()) {
      out << "  " << row.name << ": " << row.detail << '\n';
    }
  }
}

std::string json_line(const case_result& row, const case_result* reference) {
  nlohmann::json j;
  j["case"] = row.name;
  if (!row.error.empty()) {
    j["error"] = row.error;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  if (!row.skipped.empty()) {
    j["skipped"] = row.skipped;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  j["gbit_per_s"] = rounded(row.gbit_per_s, 4);
  j["p50_us"] = rounded(row.p50_us, 1);
  j["p99_us"] = rounded(row.p99_us, 1);
  j["retransmits"] = row.retransmits ? nlohmann::json(*row.retransmits) : nlohmann::json();
  j["cpu_s_per_gb"] = row.cpu_s_per_gb ? nlohmann::json(rounded(*row.cpu_s_per_gb, 3))
                                       : nlohmann::json();
  j["detail"] = row.detail;
  if (reference != nullptr && reference != &row) {
    auto put = [](nlohmann::json& to, const char* key, std::optional<double> r) {
      to[key] = r ? nlohmann::json(rounded(*r, 3)) : nlohmann::json();
    };
    nlohmann::json vs = nlohmann::json::object();
    put(vs, "gbit_per_s", ratio(row.gbit_per_s, reference->gbit_per_s));
    put(vs, "p50_us", ratio(row.p50_us, reference->p50_us));
    put(vs, "p99_us", ratio(row.p99_us, reference->p99_us));
    std::optional<double> cpu;
    if (row.cpu_s_per_gb && reference->cpu_s_per_gb) {
      cpu = ratio(*row.cpu_s_per_gb, *reference->cpu_s_per_gb);
    }
    put(vs, "cpu_s_per_gb", cpu);
    j["vs_wireguard_go"] = vs;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void print_json_lines(std::ostream& out, const std::vector<case_result>& rows) {
  const case_result* ref = reference_row(rows);
  for (const auto& row : rows) {
    out << json_line(row, ref) << '\n';
  }
}

} // namespace tf::bench
