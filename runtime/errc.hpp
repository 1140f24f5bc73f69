// SPDX-License-Identifier: Apache-2.0
// The one error vocabulary of tailfleet. runtime/ returns result<T> over
// tf::errc; actors turn it into caf::error (actors/errors.hpp). Plain values,
// safe on any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tf {

/// errc names every failure tailfleet reports. Values are stable: they cross
/// the control protocol inside error responses.
enum class errc : uint8_t {
  ok = 0,
  // -- framing and decoding ------------------------------------------------
  frame_too_large = 1,
  malformed_frame,
  malformed_message,
  unsupported_version,
  // -- keys and crypto -----------------------------------------------------
  bad_key = 10,
  handshake_failed,
  decrypt_failed,
  nonce_exhausted,
  // -- storage -------------------------------------------------------------
  state_corrupt = 20,
  io_error,
  memory_store_not_ephemeral,
  // -- control plane -------------------------------------------------------
  auth_key_missing = 30,
  auth_key_invalid,
  auth_key_used,
  auth_key_expired,
  node_not_found,
  not_authorized,
  tags_not_permitted,
  protocol_violation,
  // -- runtime -------------------------------------------------------------
  not_found = 40,
  invalid_argument,
  timeout,
  closed,
  connection_lost,
  lagging_watcher,
  address_space_exhausted,
  internal,
  not_running,       // the node is not up (no tailnet address yet)
  unreachable,       // no such peer in the netmap
};

/// to_string returns the stable snake_case name of `code`.
std::string_view to_string(errc code);

} // namespace tf
