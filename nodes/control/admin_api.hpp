// SPDX-License-Identifier: Apache-2.0
// The admin API of the coordination server as a pure function over the
// tailnet model: JSON in, JSON out (users, pre-auth keys, nodes). The HTTP
// front end (admin_http.hpp) and the command line call it through the
// control_server actor, which owns the tailnet; only that actor runs this.
#pragma once

#include <cstdint>
#include <vector>

#include "nodes/control/control_server.hpp"
#include "nodes/control/tailnet.hpp"

namespace tf::control {

/// handle_admin serves one admin call. Routes (JSON bodies):
///   GET    /api/v1/users
///   POST   /api/v1/users                    {"name", "display_name"?}
///   GET    /api/v1/preauthkeys
///   POST   /api/v1/preauthkeys              {"user", "reusable"?, "ephemeral"?,
///                                            "preauthorized"?, "tags"?, "expiration"?
///                                            (unix s), "expires_in"? (s)}
///   POST   /api/v1/preauthkeys/<id>/expire
///   GET    /api/v1/nodes
///   POST   /api/v1/nodes/wireguard-only  {"user", "hostname", "node_key"
///                                            ("nodekey:<hex>" or wg's base64),
///                                            "endpoints" (["ip:port", ...]),
///                                            "ipv4"? (allocated when absent)}
///   POST   /api/v1/nodes/<id>/endpoints    {"endpoints"} (WireGuard-only nodes)
///   DELETE /api/v1/nodes/<id>
///   POST   /api/v1/nodes/<id>/authorize
/// Ids of nodes it deleted are appended to `deleted`. Errors answer with a
/// 4xx status and {"error": text, "code": errc name}.
admin_response handle_admin(tailnet& net, const admin_request& req, int64_t now_ms,
                            std::vector<wire::node_id>& deleted);

} // namespace tf::control
