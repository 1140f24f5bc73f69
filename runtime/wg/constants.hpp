// SPDX-License-Identifier: Apache-2.0
// WireGuard protocol constants (whitepaper section 6, wireguard-go
// device/constants.go) and the clock types every tf::wg state machine takes.
// Constants only; no state, safe from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace tf::wg {

/// clock is the monotonic clock every tf::wg call takes its `now` from. The
/// code never reads it itself: callers (and tests) pass the time in.
using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
using duration = clock::duration;

// -- message limits (whitepaper 6.1) --------------------------------------------

/// rekey_after_messages: the initiator starts a new handshake once a keypair
/// has sent this many messages.
inline constexpr uint64_t rekey_after_messages = uint64_t{1} << 60;

/// reject_after_messages is 2^64 - 2^13 - 1: no keypair sends or accepts a
/// counter at or beyond it.
inline constexpr uint64_t reject_after_messages = ~uint64_t{0} - (uint64_t{1} << 13);

// -- timers (whitepaper 6.1) ------------------------------------------------------

inline constexpr std::chrono::seconds rekey_after_time{120};
inline constexpr std::chrono::seconds reject_after_time{180};
inline constexpr std::chrono::seconds rekey_attempt_time{90};
inline constexpr std::chrono::seconds rekey_timeout{5};
inline constexpr std::chrono::seconds keepalive_timeout{10};

/// rekey_timeout_jitter_max bounds the random extra delay added to every
/// handshake retry (wireguard-go: 334 ms), so peers do not retry in lockstep.
inline constexpr std::chrono::milliseconds rekey_timeout_jitter_max{334};

/// cookie_refresh_time: a responder's cookie secret and an initiator's stored
/// cookie are valid this long.
inline constexpr std::chrono::seconds cookie_refresh_time{120};

/// handshake_initiation_rate: a responder consumes at most one initiation per
/// peer in this interval (50 per second); faster ones are a flood.
inline constexpr std::chrono::milliseconds handshake_initiation_rate{20};

// -- sizes -------------------------------------------------------------------------

/// padding_multiple: transport plaintexts are zero-padded to a multiple of it.
inline constexpr size_t padding_multiple = 16;

/// max_packet_len is the largest plaintext IP packet a session seals (the
/// padded transport message then still fits one UDP datagram).
inline constexpr size_t max_packet_len = 65488;

/// default_max_staged_packets bounds the packets a session queues while it
/// has no usable key; beyond it the oldest is dropped and counted.
inline constexpr size_t default_max_staged_packets = 128;

} // namespace tf::wg
