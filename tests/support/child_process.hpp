// SPDX-License-Identifier: Apache-2.0
// child_process: runs one program (a real second process for tests and
// benchmarks) with stdout and stderr sent to a log file; the destructor
// SIGKILLs and reaps it if it still runs. Owned by one thread.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace tf::test {

class child_process {
public:
  child_process(const std::vector<std::string>& args, const std::string& log) {
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }

  ~child_process() {
    kill();
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  bool running() const noexcept { return pid_ > 0; }
  pid_t pid() const noexcept { return pid_; }

  /// kill sends SIGKILL and waits for the process to end.
  void kill() {
    stop(SIGKILL);
  }

  /// terminate sends SIGTERM (a clean shutdown) and returns the exit status.
  int terminate() {
    return stop(SIGTERM);
  }

private:
  int stop(int sig) {
    if (pid_ <= 0) {
      return -1;
    }
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  pid_t pid_ = -1;
};

/// read_file returns a whole file ("" if unreadable).
inline std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

} // namespace tf::test
