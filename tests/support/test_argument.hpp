// SPDX-License-Identifier: Apache-2.0
// test_argument: the first argument a test binary got after "--" (ctest
// hands tests the paths of the programs and scripts they start that way).
// Test binaries only (it reads CAF's test engine); main thread.
#pragma once

#include <caf/test/unit_test.hpp>

#include <string>

namespace tf::test {

/// test_argument returns the argument after "--" ("" when there is none).
inline std::string test_argument() {
  auto argc = caf::test::engine::argc();
  auto argv = caf::test::engine::argv();
  return argc >= 2 ? std::string{argv[1]} : std::string{};
}

} // namespace tf::test
