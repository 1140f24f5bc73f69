// SPDX-License-Identifier: Apache-2.0
// The subcommands of the `tailfleet` program. Each registers its options on
// a CLI11 app and returns the function that runs it (on the main thread).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace tf::cli {

using command = std::function<int()>;

command add_control_command(CLI::App& app);
command add_up_command(CLI::App& app);
command add_demo_command(CLI::App& app);

/// block_stop_signals blocks SIGINT and SIGTERM in the calling thread and
/// every thread it starts later; call it first in main().
void block_stop_signals();

/// wait_for_signal blocks until SIGINT or SIGTERM arrives.
void wait_for_signal();

} // namespace tf::cli
