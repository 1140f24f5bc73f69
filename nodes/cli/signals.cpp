// SPDX-License-Identifier: Apache-2.0
// Waiting for SIGINT/SIGTERM on the main thread (signals blocked and taken
// with sigwait, so no handler runs concurrently with anything).
#include <csignal>

#include "nodes/cli/cli.hpp"

namespace tf::cli {

namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

} // namespace

void block_stop_signals() {
  auto set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void wait_for_signal() {
  auto set = stop_signals();
  int sig = 0;
  sigwait(&set, &sig);
}

} // namespace tf::cli
