// SPDX-License-Identifier: Apache-2.0
// `tailfleet`: the command line. Subcommands: control (run a coordination
// server), up (run one node until stopped), demo (a server and a handful of
// nodes in one process).
#include <csignal>
#include <iostream>

#include "nodes/cli/cli.hpp"

int main(int argc, char** argv) {
  tf::cli::block_stop_signals();
  CLI::App app{"tailfleet: embedded tailnet nodes and their coordination server"};
  app.require_subcommand(1);
  auto control = tf::cli::add_control_command(app);
  auto up = tf::cli::add_up_command(app);
  auto demo = tf::cli::add_demo_command(app);
  CLI11_PARSE(app, argc, argv);
  auto* sub = app.get_subcommands().front();
  if (sub->get_name() == "control")
    return control();
  if (sub->get_name() == "up")
    return up();
  return demo();
}
