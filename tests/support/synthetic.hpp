// SPDX-License-Identifier: Apache-2.0
// Synthetic peers for tests and benchmarks, shaped like Tailscale's
// largetailnet MakePeer: "peer-<id>.<domain>", addresses derived from the id,
// random keys from raw bytes (no curve math, so 250k peers are cheap).
// Pure functions; any thread.
#pragma once

#include <string>

#include "runtime/wire.hpp"

namespace tf::test {

inline constexpr const char* synthetic_domain = "largetailnet.ts.net";
inline constexpr wire::user_id synthetic_user = 1000000;

/// synthetic_v4 is 100.(100 + id>>16).(id>>8).(id) as in largetailnet.
ip_addr synthetic_v4(wire::node_id id);
/// synthetic_v6 is fd7a:115c:a1e0:: with the low 24 bits set to the id.
ip_addr synthetic_v6(wire::node_id id);

/// make_peer builds peer `id` with random keys.
wire::node make_peer(wire::node_id id, const std::string& domain = synthetic_domain);

/// make_peer_with builds peer `id` whose v4 address is `v4` and name is
/// "<host>.<domain>" (for address and name reuse cases).
wire::node make_peer_with(wire::node_id id, const ip_addr& v4, const std::string& host,
                          const std::string& domain = synthetic_domain);

} // namespace tf::test
