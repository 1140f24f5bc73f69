// SPDX-License-Identifier: Apache-2.0
// tcp_floor: a plain TCP ping-pong between two threads over loopback with
// frames of a given size: the physical floor of one request/response on
// this machine, measured with the same (unpinned) thread placement as the
// benchmark. Blocking sockets; owns its two threads.
#pragma once

#include <cstddef>
#include <vector>

namespace tf::bench {

/// tcp_ping_pong returns the round-trip time of `rounds` exchanges of
/// `frame_len`-byte frames, in microseconds, one entry per round.
std::vector<double> tcp_ping_pong(size_t frame_len, size_t rounds, size_t warmup);

} // namespace tf::bench
