// SPDX-License-Identifier: Apache-2.0
// The state rule. Pure functions.
#include "runtime/ipn_state.hpp"

namespace tf {

std::string_view to_string(ipn_state s) {
  switch (s) {
    case ipn_state::no_state: return "NoState";
    case ipn_state::in_use_other_user: return "InUseOtherUser";
    case ipn_state::needs_login: return "NeedsLogin";
    case ipn_state::needs_machine_auth: return "NeedsMachineAuth";
    case ipn_state::stopped: return "Stopped";
    case ipn_state::starting: return "Starting";
    case ipn_state::running: return "Running";
  }
  return "Unknown";
}

std::optional<ipn_state> ipn_state_from_string(std::string_view s) {
  for (int i = 0; i <= static_cast<int>(ipn_state::running); ++i)
    if (to_string(static_cast<ipn_state>(i)) == s)
      return static_cast<ipn_state>(i);
  return std::nullopt;
}

ipn_state next_state(const state_inputs& in) {
  if (!in.store_healthy)
    return ipn_state::no_state;
  if (!in.want_running && !in.logged_out && in.has_node_key)
    return ipn_state::stopped;
  if (!in.have_netmap) {
    if (in.login_pending || in.logged_out)
      return ipn_state::needs_login;
    if (in.has_node_key)
      return ipn_state::starting; // registered: waiting for the first netmap
    return in.current == ipn_state::no_state ? ipn_state::no_state
                                             : ipn_state::needs_login;
  }
  if (!in.want_running)
    return ipn_state::stopped;
  if (in.self_key_expired)
    return ipn_state::needs_login;
  if (!in.machine_authorized)
    return ipn_state::needs_machine_auth;
  return ipn_state::running;
}

} // namespace tf
