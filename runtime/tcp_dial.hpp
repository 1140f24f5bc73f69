// SPDX-License-Identifier: Apache-2.0
// Non-blocking TCP connect to a numeric address, for sockets handed to an
// event loop that finishes the connect (CAF's multiplexer). Any thread.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/ip.hpp"
#include "runtime/result.hpp"

namespace tf {

/// dial_nonblocking creates a non-blocking, close-on-exec TCP socket with
/// TCP_NODELAY and starts connecting it to `addr:port`. The connect may
/// still be in progress when it returns; failure shows up as an error on
/// the socket later. Returns the file descriptor.
result<int> dial_nonblocking(const ip_addr& addr, uint16_t port);

} // namespace tf
