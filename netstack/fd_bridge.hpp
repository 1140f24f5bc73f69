// SPDX-License-Identifier: Apache-2.0
// fd_bridge: a real file descriptor for a tailnet TCP connection (one end of
// a socketpair), so unmodified fd-based code can use it. One bridge thread
// per process pumps every bridged connection with back-pressure both ways:
// it stops reading the socketpair while lwIP's send buffer is full and acks
// lwIP data only once written to the socketpair. Any thread may call these.
#pragma once

#include <cstddef>

#include "netstack/sockets.hpp"

namespace tf::netstack {

/// bridge_fd hands connection `c` to the bridge and returns the caller's
/// end of a socketpair (AF_UNIX stream, blocking, close-on-exec; the caller
/// owns and closes it). Bytes written to it go to the peer; bytes from the
/// peer can be read from it. The peer's FIN shows as EOF; shutdown(fd,
/// SHUT_WR) or close sends FIN. A reset or node removal closes the bridge's
/// end (EOF for the reader, EPIPE for a writer). Memory per connection is
/// bounded (about 128 KiB in the bridge plus the kernel socket buffers).
result<int> bridge_fd(conn c);

/// bridge_stats describes the bridge right now.
struct bridge_stats {
  size_t connections = 0;     // bridged connections still pumping
  size_t buffered_bytes = 0;  // bytes held in the bridge's own buffers
};

/// fd_bridge_stats returns the current bridge_stats.
bridge_stats fd_bridge_stats();

} // namespace tf::netstack
