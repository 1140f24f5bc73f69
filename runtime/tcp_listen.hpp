// SPDX-License-Identifier: Apache-2.0
// Opening a listening TCP socket, so the caller learns the port (and any
// error) before handing the socket to an event loop. Any thread.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/result.hpp"

namespace tf {

struct listener_socket {
  int fd = -1;
  uint16_t port = 0;
};

/// listen_tcp binds `host:port` (port 0 = any free port; host a numeric
/// address, "" = 127.0.0.1) with SO_REUSEADDR, non-blocking, close-on-exec.
result<listener_socket> listen_tcp(const std::string& host, uint16_t port);

} // namespace tf
