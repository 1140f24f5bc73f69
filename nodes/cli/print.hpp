// SPDX-License-Identifier: Apache-2.0
// Readable one-line renderings of notifies, peers and status for the
// command line. Thread-safe: lines are written whole under one mutex.
#pragma once

#include <string>

#include "runtime/bus_types.hpp"

namespace tf::cli {

/// print_line writes one line to stdout atomically.
void print_line(const std::string& line);

/// print_notify prints what `n` says, prefixed with the watching node.
void print_notify(const std::string& node, const bus::notify& n);

std::string describe_peer(const peer_record& p);
std::string describe_status(const bus::status& s);

} // namespace tf::cli
