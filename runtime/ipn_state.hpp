// SPDX-License-Identifier: Apache-2.0
// The node's backend state (tsnet/ipn: NoState, NeedsLogin, NeedsMachineAuth,
// Stopped, Starting, Running) and the pure transition rule. The node actor
// owns the inputs; this file only computes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tf {

/// ipn_state values match Tailscale's ipn.State numbering.
enum class ipn_state : uint8_t {
  no_state = 0,
  in_use_other_user = 1,
  needs_login = 2,
  needs_machine_auth = 3,
  stopped = 4,
  starting = 5,
  running = 6,
};

std::string_view to_string(ipn_state s);
std::optional<ipn_state> ipn_state_from_string(std::string_view s);

/// state_inputs are the facts the state depends on.
struct state_inputs {
  ipn_state current = ipn_state::no_state;
  bool store_healthy = true;
  bool want_running = true;
  bool logged_out = false;
  bool has_node_key = false;      // enrolled (persisted node key)
  bool login_pending = false;     // waiting for an auth key / login URL
  bool have_netmap = false;       // a full netmap has been applied
  bool self_key_expired = false;
  bool machine_authorized = true;
};

/// next_state follows Tailscale's nextStateLocked, top to bottom: an
/// unhealthy store gives NoState; not wanting to run gives Stopped; without
/// a netmap a pending login gives NeedsLogin and a registered node key gives
/// Starting; with one, an expired key gives NeedsLogin, an unauthorized
/// machine NeedsMachineAuth, else Running. A node keeps its last netmap
/// while it reconnects, so it stays Running.
ipn_state next_state(const state_inputs& in);

} // namespace tf
