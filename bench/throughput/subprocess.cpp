// SPDX-License-Identifier: Apache-2.0
// posix_spawn-based child processes with captured output and a deadline.
// Each child_process belongs to the thread that started it; nothing here is
// shared. Never runs a shell, never leaves a child unreaped.
#include "bench/throughput/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "runtime/counters.hpp"

extern char** environ;

namespace tf::bench {

namespace {

int exit_code_of(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

} // namespace

child_process::~child_process() {
  kill();
  close_pipes();
}

child_process::child_process(child_process&& other) noexcept
  : pid_(std::exchange(other.pid_, -1)),
    out_fd_(std::exchange(other.out_fd_, -1)),
    err_fd_(std::exchange(other.err_fd_, -1)) {
}

child_process& child_process::operator=(child_process&& other) noexcept {
  if (this != &other) {
    kill();
    close_pipes();
    pid_ = std::exchange(other.pid_, -1);
    out_fd_ = std::exchange(other.out_fd_, -1);
    err_fd_ = std::exchange(other.err_fd_, -1);
  }
  return *this;
}

void child_process::close_pipes() {
  for (int* fd : {&out_fd_, &err_fd_}) {
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
  }
}

void child_process::kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

result<child_process> child_process::start(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    TF_COUNTER("bench_commands_rejected_empty").add();
    return make_error(errc::invalid_argument, "cannot run an empty command");
  }
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    return make_error(errc::io_error, std::string{"pipe: "} + std::strerror(errno));
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return make_error(errc::io_error, std::string{"pipe: "} + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  child_process child;
  child.out_fd_ = out_pipe[0];
  child.err_fd_ = err_pipe[0];
  if (rc != 0) {
    return make_error(errc::io_error, "cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  child.pid_ = pid;
  return child;
}

result<run_output> child_process::wait(std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  run_output output;
  auto deadline = clock::now() + timeout;
  bool timed_out = false;
  while (out_fd_ >= 0 || err_fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      break;
    }
    std::string* sinks[2] = {&output.out, &output.err};
    int* fdp[2] = {&out_fd_, &err_fd_};
    for (int i = 0; i < 2; ++i) {
      if (*fdp[i] < 0 || fds[i].revents == 0) {
        continue;
      }
      char buf[4096];
      auto got = ::read(*fdp[i], buf, sizeof(buf));
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(*fdp[i]);
        *fdp[i] = -1;
      }
    }
  }
  if (timed_out) {
    kill();
    close_pipes();
    return make_error(errc::timeout, "command did not finish within "
                                       + std::to_string(timeout.count()) + " ms; stderr: "
                                       + output.err);
  }
  close_pipes();
  int status = 0;
  pid_t got = -1;
  while ((got = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  output.exit_code = got < 0 ? -1 : exit_code_of(status);
  return output;
}

result<run_output> run_command(const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout) {
  auto child = child_process::start(argv);
  if (!child) {
    return child.error();
  }
  return child->wait(timeout);
}

std::string find_in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  for (const char* extra : {":/usr/sbin", ":/sbin"}) {
    dirs += extra;
  }
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) {
      end = dirs.size();
    }
    std::string candidate = dirs.substr(start, end - start) + "/" + program;
    struct stat st {};
    if (end > start && ::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)
        && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return {};
}

std::string value_of(const std::string& text, const std::string& key) {
  size_t pos = 0;
  while ((pos = text.find(key + "=", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') {
      size_t start = pos + key.size() + 1;
      size_t end = text.find('\n', start);
      return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    }
    pos += key.size();
  }
  return {};
}

std::optional<double> process_cpu_seconds(pid_t pid, const std::string& expected_name) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  if (pid <= 0 || !std::getline(in, line)) {
    return std::nullopt;
  }
  auto close_paren = line.rfind(')');
  if (close_paren == std::string::npos || line.find(expected_name) > close_paren) {
    return std::nullopt;
  }
  std::istringstream fields{line.substr(close_paren + 2)};
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // After "pid (comm) ": state is field 3; utime and stime are 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) {
      utime = std::strtoull(field.c_str(), nullptr, 10);
    } else if (i == 15) {
      stime = std::strtoull(field.c_str(), nullptr, 10);
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

} // namespace tf::bench
