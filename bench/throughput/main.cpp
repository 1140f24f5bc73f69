// SPDX-License-Identifier: Apache-2.0
// throughput: bulk TCP throughput and request/response latency of
// (a) two tailfleet nodes in one process, (b) two tailfleet processes over
// loopback UDP, (c) two wireguard-go peers in network namespaces with the
// kernel's TCP (iperf3), the reference. Prints a table with ratios against
// wireguard-go, or one JSON object per line (--json). Single-threaded main;
// cases run one after another, never concurrently.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "bench/throughput/case_result.hpp"
#include "bench/throughput/tailfleet_cases.hpp"
#include "bench/throughput/wireguard_go_case.hpp"

namespace tf::bench {
namespace {

/// case_entry is one case main knows: its name and the function measuring
/// it (empty: not built yet; the row says so).
struct case_entry {
  const char* name;
  case_fn run;
};

/// known_cases is the hook for new cases: add {name, function} here.
const std::vector<case_entry>& known_cases() {
  static const std::vector<case_entry> cases = {
    {"in-process", measure_in_process},
    {"cross-process", measure_cross_process},
    {"wireguard-go", measure_wireguard_go},
  };
  return cases;
}

std::string default_wg_script() {
  if (const char* env = std::getenv("TF_WG_SCRIPT"); env != nullptr && *env != '\0') {
    return env;
  }
  return std::string{TF_SOURCE_DIR} + "/scripts/wg-peer-netns.sh";
}

int run(int argc, char** argv) {
  CLI::App app{"throughput: tailfleet's data plane against wireguard-go"};
  case_options opt;
  opt.wg_script = default_wg_script();
  bool json = false;
  std::vector<std::string> wanted{"in-process", "cross-process", "wireguard-go"};
  std::vector<std::string> names;
  for (const auto& c : known_cases()) {
    names.emplace_back(c.name);
  }
  app.add_flag("--json", json, "one JSON object per line instead of a table");
  app.add_option("--seconds", opt.seconds, "length of each bulk transfer in seconds")
    ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--round-trips", opt.round_trips, "timed request/response exchanges")
    ->check(CLI::Range(1, 10000000));
  app.add_option("--message-len", opt.message_len, "bytes per request and per response")
    ->check(CLI::Range(1, 65536));
  app.add_option("--cases", wanted, "comma-separated: in-process,cross-process,wireguard-go")
    ->delimiter(',')
    ->check(CLI::IsMember(names));
  app.add_option("--wg-script", opt.wg_script, "path of scripts/wg-peer-netns.sh");
  CLI11_PARSE(app, argc, argv);

  std::vector<case_result> rows;
  bool failed = false;
  for (const auto& entry : known_cases()) {
    if (std::find(wanted.begin(), wanted.end(), entry.name) == wanted.end()) {
      continue;
    }
    case_result row;
    row.name = entry.name;
    if (!entry.run) {
      row.skipped = "not implemented yet";
    } else {
      std::fprintf(stderr, "throughput: running %s ...\n", entry.name);
      auto got = entry.run(opt);
      if (got) {
        row = std::move(*got);
        row.name = entry.name;
      } else {
        row.error = got.error().message();
        failed = true;
      }
    }
    rows.push_back(std::move(row));
  }
  if (json) {
    print_json_lines(std::cout, rows);
  } else {
    print_table(std::cout, rows);
  }
  return failed ? 1 : 0;
}

} // namespace
} // namespace tf::bench

int main(int argc, char** argv) {
  return tf::bench::run(argc, argv);
}
