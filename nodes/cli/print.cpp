// SPDX-License-Identifier: Apache-2.0
// Line rendering for the command line. guards: print_mutex guards stdout.
#include "nodes/cli/print.hpp"

#include <iostream>
#include <mutex>

namespace tf::cli {

namespace {

std::mutex print_mutex; // guards: std::cout

} // namespace

void print_line(const std::string& line) {
  std::lock_guard<std::mutex> guard{print_mutex};
  std::cout << line << std::endl;
}

std::string describe_peer(const peer_record& p) {
  std::string out{p.short_name()};
  out += " (";
  out += p.v4().to_string();
  out += p.is_tagged() ? ", tagged" : "";
  out += ")";
  return out;
}

std::string describe_status(const bus::status& s) {
  std::string out{to_string(s.state)};
  if (s.self)
    out += " as " + s.self->name;
  for (auto& ip : s.tailnet_ips)
    out += " " + ip.to_string();
  out += ", " + std::to_string(s.num_peers) + " peers";
  return out;
}

void print_notify(const std::string& node, const bus::notify& n) {
  auto prefix = "[" + node + "] ";
  if (n.err_message)
    print_line(prefix + "bus: error: " + *n.err_message);
  if (n.state)
    print_line(prefix + "bus: state " + std::string{to_string(*n.state)});
  if (n.login_finished)
    print_line(prefix + "bus: login finished");
  if (n.self_change)
    print_line(prefix + "bus: self is " + n.self_change->name);
  if (n.netmap)
    print_line(prefix + "bus: netmap with " + std::to_string(n.netmap->peers.size()) + " peers");
  for (auto& p : n.peers_changed)
    print_line(prefix + "bus: peer joined or changed: " + describe_peer(*p));
  for (auto id : n.peers_removed)
    print_line(prefix + "bus: peer left: node " + std::to_string(id));
  for (auto& c : n.peer_patches)
    print_line(prefix + "bus: peer " + std::to_string(c.id) + " patched"
               + (c.online ? (*c.online ? " (online)" : " (offline)") : ""));
}

} // namespace tf::cli
