// SPDX-License-Identifier: Apache-2.0
// Child processes of bench/throughput (the wg script, iperf3, ss): started
// without a shell from an argv, stdout and stderr captured, killed on a
// deadline; the CPU time of a process. A child_process is owned by one
// thread; it never outlives its object (the destructor kills and reaps it).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "runtime/result.hpp"

namespace tf::bench {

/// run_output is what a finished child left behind.
struct run_output {
  /// exit_code is the exit status, or 128 + signal when it was killed.
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// child_process is one running program with its stdout and stderr piped to
/// us. Move-only.
class child_process {
public:
  child_process() = default;
  ~child_process();
  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&& other) noexcept;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// start runs argv[0] (looked up in PATH) with the other arguments. Fails
  /// (io_error) when the pipes cannot be made or the program cannot start.
  static result<child_process> start(const std::vector<std::string>& argv);

  /// wait collects output until the child exits, killing it (SIGKILL) once
  /// `timeout` has passed; then the result is a timeout failure that carries
  /// what it printed so far.
  result<run_output> wait(std::chrono::milliseconds timeout);

  /// kill sends SIGKILL and reaps the child (no-op when it is gone).
  void kill();

  pid_t pid() const { return pid_; }

private:
  void close_pipes();

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
};

/// run_command starts argv and waits for it (see child_process).
result<run_output> run_command(const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout);

/// find_in_path returns the full path of `program` in $PATH, or "" when it
/// is not there (or not executable).
std::string find_in_path(const std::string& program);

/// process_cpu_seconds reads the user + system CPU seconds of every thread
/// of process `pid` from /proc. Nothing when the process is gone, or when
/// `expected_name` is not empty and its command name does not contain it
/// (the pid was reused).
std::optional<double> process_cpu_seconds(pid_t pid, const std::string& expected_name = {});

/// value_of finds "KEY=value" lines in `text`; "" when KEY is absent.
std::string value_of(const std::string& text, const std::string& key);

} // namespace tf::bench
