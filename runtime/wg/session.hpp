// SPDX-License-Identifier: Apache-2.0
// session: the I/O-free WireGuard state machine of one remote peer (keypairs,
// handshakes, timers, staged packets; whitepaper section 6). Owned by a
// device and confined to its thread or actor. It never reads a clock, never
// sleeps and never touches a socket: every call takes `now` and returns the
// datagrams to send and packets to deliver.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "runtime/keys.hpp"
#include "runtime/wg/constants.hpp"
#include "runtime/wg/cookie.hpp"
#include "runtime/wg/handshake.hpp"
#include "runtime/wg/messages.hpp"
#include "runtime/wg/transport.hpp"

namespace tf::wg {

class device;

/// event is something the owner of a session may want to log or react to.
enum class event : uint8_t {
  /// handshake_complete: a new keypair became current (initiator: response
  /// received; responder: first transport message on the new keys).
  handshake_complete,
  /// keys_expired: the current keypair reached reject_after_time and is gone.
  keys_expired,
  /// handshake_gave_up: no response within rekey_attempt_time; the staged
  /// packets were dropped.
  handshake_gave_up,
};

/// actions is what one session call asks its driver to do.
struct actions {
  /// datagrams go to the peer's current endpoint, in order.
  std::vector<std::vector<uint8_t>> datagrams;
  /// packets are decrypted IP packets (padding removed) to deliver.
  std::vector<std::vector<uint8_t>> packets;
  std::vector<event> events;
  /// authenticated: the input datagram was valid and authentic, so the driver
  /// may take its source address as the peer's endpoint.
  bool authenticated = false;

  /// append moves everything of `other` to the end of this.
  void append(actions&& other);
};

/// peer_options configures one remote peer.
struct peer_options {
  /// public_key is the peer's static key. Required.
  node_public_key public_key;
  /// psk is the IKpsk2 pre-shared key. Default all zeros (none).
  preshared_key psk{};
  /// persistent_keepalive sends a keepalive after this much silence in our
  /// direction (for NAT mappings). Default 0 = off.
  std::chrono::seconds persistent_keepalive{0};
  /// max_staged_packets bounds the queue of packets waiting for a key.
  /// Default 128; beyond it the oldest is dropped (wg_dropped_staged_overflow).
  size_t max_staged_packets = default_max_staged_packets;
};

/// session is one remote peer. Keypairs: `current` sends and receives,
/// `previous` (the one current replaced) still receives, `next` (responder
/// side, unconfirmed) receives and becomes current on its first message.
class session {
public:
  /// session is created by device::add_peer; `owner` outlives it.
  session(device& owner, peer_options opts);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // -- driver entry points --------------------------------------------------------

  /// send encrypts `packet` with the current keypair, or stages it and starts
  /// a handshake when there is none usable.
  actions send(std::span<const uint8_t> packet, time_point now);

  /// receive handles one datagram addressed to this peer: parses it, checks
  /// mac1 of handshake messages, and dispatches. Initiations from another
  /// static key are refused (wg_rejected_unknown_peer). No load handling:
  /// device::receive adds cookies and flood limits in front of this.
  actions receive(std::span<const uint8_t> datagram, time_point now);

  /// tick runs every timer due at `now` (retries, keepalives, expiry).
  actions tick(time_point now);

  /// next_timer is when tick() next has work (nothing: idle).
  std::optional<time_point> next_timer() const;

  // -- typed entry points (device::receive, after its checks) ---------------------

  /// on_initiation answers a decrypted initiation whose static key is this
  /// peer's (the caller checked MAC1 and the key). Refuses a timestamp that
  /// does not increase (wg_rejected_replayed_initiation) and a second
  /// initiation within 20 ms (wg_rejected_initiation_flood).
  actions on_initiation(responder_handshake hs, time_point now);

  /// on_response completes our pending handshake (MAC1 already checked).
  actions on_response(const response_msg& msg, time_point now);

  /// on_cookie_reply stores the cookie for our next handshake message.
  actions on_cookie_reply(const cookie_reply_msg& msg, time_point now);

  /// on_transport decrypts, checks the replay window and keypair age, and
  /// delivers the inner packet; the first one on `next` confirms it.
  actions on_transport(const transport_view& msg, time_point now);

  // -- inspection -----------------------------------------------------------------

  const node_public_key& remote() const noexcept { return opts_.public_key; }
  device& owner() const noexcept { return owner_; }
  const keypair* current() const noexcept { return current_.get(); }
  const keypair* previous() const noexcept { return previous_.get(); }
  const keypair* next() const noexcept { return next_.get(); }
  bool handshake_pending() const noexcept { return pending_.has_value(); }
  size_t num_staged() const noexcept { return staged_.size(); }

  /// current_for_test exposes the current keypair mutably (tests only: to
  /// fast-forward its counters).
  keypair* current_for_test() noexcept { return current_.get(); }

private:
  // -- keys and sending (session.cpp) ---------------------------------------------
  void stage(std::vector<uint8_t> packet);
  keypair* sendable(time_point now) const noexcept;
  void flush_staged(time_point now, actions& out);
  void send_keepalive(time_point now, actions& out);
  void drop(std::unique_ptr<keypair>& slot) noexcept;
  keypair* find_keypair(uint32_t local_index) const noexcept;
  void confirm_next(time_point now, actions& out);

  // -- handshakes and timers (session_timers.cpp) ---------------------------------
  void begin_handshake(time_point now, bool is_retry, actions& out);
  void give_up(actions& out);
  void expire_keypairs(time_point now, actions& out);
  void handshake_completed() noexcept;
  void packet_sent(time_point now, bool data);
  void packet_received(time_point now, bool data);
  duration jitter() const;

  device& owner_;
  peer_options opts_;
  cookie_generator cookies_;
  std::unique_ptr<keypair> current_;
  std::unique_ptr<keypair> previous_;
  std::unique_ptr<keypair> next_;
  std::optional<initiator_handshake> pending_;
  std::deque<std::vector<uint8_t>> staged_;

  // Initiator side: when the last initiation left and the current attempt
  // series began; the last timestamp we sent (ours always increase).
  std::optional<time_point> last_initiation_sent_;
  time_point attempt_started_{};
  tai64n last_sent_timestamp_{};
  bool sent_last_minute_handshake_ = false;

  // Responder side: replay and flood protection for initiations.
  std::optional<time_point> last_initiation_consumed_;
  tai64n last_received_timestamp_{};

  // Timers; nothing = not armed.
  std::optional<time_point> retransmit_at_;
  std::optional<time_point> keepalive_at_;
  std::optional<time_point> new_handshake_at_;
  std::optional<time_point> persistent_keepalive_at_;
};

} // namespace tf::wg
