// SPDX-License-Identifier: Apache-2.0
// Names of tf::errc values. Pure function, any thread.
#include "runtime/errc.hpp"

namespace tf {

std::string_view to_string(errc code) {
  switch (code) {
    case errc::ok: return "ok";
    case errc::frame_too_large: return "frame_too_large";
    case errc::malformed_frame: return "malformed_frame";
    case errc::malformed_message: return "malformed_message";
    case errc::unsupported_version: return "unsupported_version";
    case errc::bad_key: return "bad_key";
    case errc::handshake_failed: return "handshake_failed";
    case errc::decrypt_failed: return "decrypt_failed";
    case errc::nonce_exhausted: return "nonce_exhausted";
    case errc::state_corrupt: return "state_corrupt";
    case errc::io_error: return "io_error";
    case errc::memory_store_not_ephemeral: return "memory_store_not_ephemeral";
    case errc::auth_key_missing: return "auth_key_missing";
    case errc::auth_key_invalid: return "auth_key_invalid";
    case errc::auth_key_used: return "auth_key_used";
    case errc::auth_key_expired: return "auth_key_expired";
    case errc::node_not_found: return "node_not_found";
    case errc::not_authorized: return "not_authorized";
    case errc::tags_not_permitted: return "tags_not_permitted";
    case errc::protocol_violation: return "protocol_violation";
    case errc::not_found: return "not_found";
    case errc::invalid_argument: return "invalid_argument";
    case errc::timeout: return "timeout";
    case errc::closed: return "closed";
    case errc::connection_lost: return "connection_lost";
    case errc::lagging_watcher: return "lagging_watcher";
    case errc::address_space_exhausted: return "address_space_exhausted";
    case errc::internal: return "internal";
    case errc::not_running: return "not_running";
    case errc::unreachable: return "unreachable";
  }
  return "unknown";
}

} // namespace tf
