// SPDX-License-Identifier: Apache-2.0
// tcp_floor: plain TCP over loopback between two threads, with frames of a
// given size, measured with the same (unpinned) thread placement as the
// benchmark, and for reference pinned to one CPU and to two. The ping-pong
// is the physical floor of one request/response on this machine; the
// one-way crossing is the transport's share of one op.
// Each call owns its two threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

namespace tf::bench {

/// floor_placement says where the ping-pong's two threads run: where the
/// kernel puts them (as the benchmark's threads), or pinned to one CPU, or
/// pinned to two different CPUs. On a 2-vCPU guest the unpinned floor
/// takes one of the two pinned values, whichever placement the kernel
/// chose for that run, and they can differ tenfold.
enum class floor_placement { unpinned, one_cpu, two_cpus };

/// tcp_ping_pong returns the round-trip time of `rounds` exchanges of
/// `frame_len`-byte frames, in microseconds, one entry per round. A pinned
/// placement uses the first CPUs the process may run on and returns no
/// rounds if it may not run on enough of them.
std::vector<double> tcp_ping_pong(size_t frame_len, size_t rounds, size_t warmup,
                                  floor_placement where = floor_placement::unpinned);

/// tcp_one_way returns, per frame, the time from writing a `frame_len`-byte
/// frame into a one-way loopback stream until the reading thread -- which
/// waits as the node's I/O thread does: epoll, polled for `reader_spin`
/// after its last frame before it sleeps -- has read it and raised a flag
/// the writer spins on. The transport's share of one op, with no work done
/// on the frame. Unlike the ping-pong, each read of a one-way stream sends
/// a bare ACK back (there is no reply to carry it).
std::vector<double> tcp_one_way(size_t frame_len, size_t rounds, size_t warmup,
                                std::chrono::nanoseconds reader_spin);

} // namespace tf::bench
