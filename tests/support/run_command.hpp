// SPDX-License-Identifier: Apache-2.0
// run_command: runs a shell command to its end and returns its exit status
// and what it printed on stdout (tests start real tools and programs this
// way: curl, wireguard-go's scripts, the benchmarks). Test-only; the
// calling thread waits.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <utility>

namespace tf::test {

/// run_command executes `cmd` with /bin/sh and returns {exit status,
/// stdout}; the status is -1 if the shell could not start or the command
/// did not exit normally.
inline std::pair<int, std::string> run_command(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr)
    return {-1, out};
  char buf[512];
  while (size_t n = ::fread(buf, 1, sizeof(buf), f))
    out.append(buf, n);
  int status = ::pclose(f);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

} // namespace tf::test
