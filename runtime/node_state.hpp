// SPDX-License-Identifier: Apache-2.0
// What a node persists in its state_store: the machine key ("_machinekey")
// and its enrollment ("_profile"). Plain functions over a store; callers on
// any thread (the store locks). Never rewrites a value it could not parse.
#pragma once

#include <optional>
#include <string>

#include "runtime/keys.hpp"
#include "runtime/result.hpp"
#include "runtime/state_store.hpp"
#include "runtime/wire.hpp"

namespace tf {

/// machine_key_state_key holds "privkey:<hex>", the control-channel identity.
inline constexpr std::string_view machine_key_state_key = "_machinekey";

/// profile_state_key holds the enrollment as a JSON object.
inline constexpr std::string_view profile_state_key = "_profile";

/// enrollment is what control told a node when it registered.
struct enrollment {
  node_private_key node_key;
  wire::node_id node_id = 0;
  std::string stable_id;
  std::string control_url;
  std::string name; // MagicDNS FQDN given by control
  wire::user_profile user;
};

/// node_state is everything a node keeps across restarts.
struct node_state {
  machine_private_key machine_key;
  std::optional<enrollment> enrolled;
};

/// load_node_state reads "_machinekey" and "_profile". A missing machine key
/// is generated and written (durably) before this returns; a missing profile
/// means not enrolled. An unparseable value gives errc::state_corrupt naming
/// the key, and nothing is rewritten. Store failures pass through.
result<node_state> load_node_state(state_store& store);

/// save_enrollment writes `e` as "_profile" (node key as "privkey:<hex>").
/// Fails with errc::invalid_argument if the node key is zero.
result<void> save_enrollment(state_store& store, const enrollment& e);

/// clear_enrollment erases "_profile"; the machine key stays.
result<void> clear_enrollment(state_store& store);

} // namespace tf
