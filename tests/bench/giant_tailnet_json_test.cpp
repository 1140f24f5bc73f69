// SPDX-License-Identifier: Apache-2.0
// bench/giant_tailnet's interface, which the checks read: `--json`
// prints one object per (n, variant) with the fields they need. Runs the
// real program on a small tailnet (a real node, the fake control over
// loopback TCP, the TCP references) and checks the shape of what it prints,
// never a timing. Single-threaded; the program is a child process.
#define CAF_SUITE giant_tailnet_json
#include <caf/test/unit_test_impl.hpp>

#include <nlohmann/json.hpp>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/usable_cpus.hpp"
#include "tests/support/run_command.hpp"
#include "tests/support/test_argument.hpp"

namespace {

struct run_result {
  int exit_status = -1;
  std::vector<nlohmann::json> rows;
  std::vector<std::string> unparsed;
};

// run_json runs giant_tailnet (its path comes after ctest's "--") with
// `args`, behind `prefix` (a command such as taskset), and parses each line
// it prints on stdout.
run_result run_json(const std::string& args, const std::string& prefix = "") {
  run_result out;
  auto program = tf::test::test_argument();
  if (program.empty())
    return out;
  auto [status, text] = tf::test::run_command(prefix + program + " " + args + " 2>/dev/null");
  out.exit_status = status;
  std::istringstream lines{text};
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      out.unparsed.push_back(line);
    else
      out.rows.push_back(std::move(j));
  }
  return out;
}

bool positive_number(const nlohmann::json& row, const char* field) {
  return row.contains(field) && row[field].is_number() && row[field].get<double>() > 0;
}

} // namespace

CAF_TEST(json_mode_prints_one_row_per_size_and_variant) {
  auto got = run_json("--n 1000,2000 --ops 30 --full-rebuild-ops 2 --json");
  CAF_REQUIRE_EQUAL(got.exit_status, 0);
  CAF_CHECK(got.unparsed.empty());
  CAF_REQUIRE_EQUAL(got.rows.size(), 10u); // 2 sizes x 5 variants
  std::set<std::pair<size_t, std::string>> seen;
  for (auto& row : got.rows) {
    CAF_REQUIRE(row.contains("n") && row.contains("variant"));
    auto n = row["n"].get<size_t>();
    auto variant = row["variant"].get<std::string>();
    CAF_CHECK(n == 1000 || n == 2000);
    seen.emplace(n, variant);
    for (auto* field : {"us_per_op", "p99_us", "initial_apply_ms", "bytes_per_peer"})
      if (!positive_number(row, field))
        CAF_FAIL(variant << " at " << n << ": no positive " << field);
    CAF_CHECK_GREATER_OR_EQUAL(row["p99_us"].get<double>(), row["us_per_op"].get<double>());
    if (variant == "tcp-floor") {
      // The references beside the floor: its two halves, the one-way
      // crossing, and the floor pinned to one CPU and (given two) to two.
      CAF_CHECK(positive_number(row, "floor_before_us"));
      CAF_CHECK(positive_number(row, "floor_after_us"));
      CAF_CHECK(positive_number(row, "one_way_us"));
      CAF_CHECK(positive_number(row, "one_way_p99_us"));
      CAF_CHECK(positive_number(row, "floor_one_cpu_us"));
      CAF_CHECK_EQUAL(positive_number(row, "floor_two_cpus_us"), tf::usable_cpus().size() >= 2);
    }
  }
  for (size_t n : {1000u, 2000u})
    for (auto* variant : {"no-watcher", "bus-watcher", "pipelined", "full-rebuild", "tcp-floor"})
      if (seen.count({n, variant}) == 0)
        CAF_FAIL("no " << variant << " row for n = " << n);
}

CAF_TEST(variants_select_rows_and_bad_flags_fail) {
  auto got = run_json("--n 1000 --ops 20 --variants no-watcher --json");
  CAF_REQUIRE_EQUAL(got.exit_status, 0);
  // The chosen variant, and the floor every ratio needs.
  CAF_REQUIRE_EQUAL(got.rows.size(), 2u);
  CAF_CHECK_EQUAL(got.rows[0]["variant"].get<std::string>(), "no-watcher");
  CAF_CHECK_EQUAL(got.rows[1]["variant"].get<std::string>(), "tcp-floor");
  auto bad = run_json("--n ten --json");
  CAF_CHECK_NOT_EQUAL(bad.exit_status, 0);
  CAF_CHECK(bad.rows.empty());
}

CAF_TEST(a_process_confined_to_one_cpu_has_no_two_cpu_floor) {
  auto cpus = tf::usable_cpus();
  CAF_REQUIRE(!cpus.empty());
  auto got = run_json("--n 1000 --ops 20 --variants no-watcher --json",
                      "taskset -c " + std::to_string(cpus.front()) + " ");
  CAF_REQUIRE_EQUAL(got.exit_status, 0);
  CAF_REQUIRE_EQUAL(got.rows.size(), 2u);
  auto& floor = got.rows[1];
  CAF_CHECK(positive_number(floor, "floor_one_cpu_us"));
  CAF_CHECK(!floor.contains("floor_two_cpus_us"));
}

CAF_TEST(the_driver_on_its_own_thread_and_run_next_off_complete_their_ops) {
  // The benchmark's two switches for the reader's comparisons: the driver
  // on a thread of its own (a detached actor), and the I/O thread handing
  // every actor it readies to the workers. Each still completes every op.
  for (std::string flags : {"--driver-thread", "--io-run-next-us 0",
                            "--driver-thread --io-run-next-us 0"}) {
    CAF_MESSAGE(flags);
    auto got = run_json("--n 1000 --ops 20 --variants no-watcher,bus-watcher --json " + flags);
    CAF_REQUIRE_EQUAL(got.exit_status, 0);
    CAF_REQUIRE_EQUAL(got.rows.size(), 3u);
    for (auto& row : got.rows)
      CAF_CHECK(positive_number(row, "us_per_op"));
  }
  auto bad = run_json("--n 1000 --io-run-next-us lots --json");
  CAF_CHECK_NOT_EQUAL(bad.exit_status, 0);
}
