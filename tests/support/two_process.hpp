// SPDX-License-Identifier: Apache-2.0
// two_process_fixture: a real coordination server, this process's node
// "local", and a second process that joins as node "remote" (a program the
// test names, e.g. `tailfleet up` or tests/support/lifecycle_peer). The
// child's output goes to a log; the fixture waits until the log shows the
// child's ready line and "local" sees "remote". Test binaries only; the
// test's main thread.
#pragma once

#include <caf/test/unit_test.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nodes/local_client.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/harness.hpp"

namespace tf::test {

struct two_process_fixture : system_fixture {
  temp_dir dir;
  test_control control;
  std::unique_ptr<server> local;
  std::unique_ptr<child_process> child;
  std::string log;

  /// start runs the child with the arguments `args` makes from the harness
  /// options of node "remote" (control URL, auth key) and waits for it.
  void start(const std::function<std::vector<std::string>(const server_options&)>& args,
             const std::string& ready_line) {
    auto c = start_control(sys);
    CAF_REQUIRE(c.ok());
    control = std::move(*c);
    auto n = start_node(sys, control, "local");
    CAF_REQUIRE(n.ok());
    local = std::move(*n);
    log = dir.str("child.log");
    child = std::make_unique<child_process>(args(node_options(control, "remote")), log);
    CAF_REQUIRE(child->running());
    if (!wait_until([&] { return read_file(log).find(ready_line) != std::string::npos
                                 && local->local_client().peer_by_name("remote").ok(); },
                    std::chrono::seconds(20)))
      CAF_FAIL("the child never came up; its output:\n" << read_file(log));
  }
};

} // namespace tf::test
