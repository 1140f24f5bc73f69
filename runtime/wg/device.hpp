// SPDX-License-Identifier: Apache-2.0
// device: one local WireGuard identity (static key, cookie checker, load
// state) and its peer sessions, demultiplexing the datagrams of one UDP
// socket by receiver index in O(1). Confined to the thread or actor that owns
// it (with every device sharing its index_table); never does I/O or reads a
// clock: callers pass datagrams, source addresses and `now`.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "runtime/ip.hpp"
#include "runtime/keys.hpp"
#include "runtime/result.hpp"
#include "runtime/wg/cookie.hpp"
#include "runtime/wg/index_table.hpp"
#include "runtime/wg/session.hpp"
#include "runtime/wg/tai64n.hpp"

namespace tf::wg {

/// source_address is the byte form of a datagram's source (address bytes,
/// then the port big-endian) that cookies are bound to.
struct source_address {
  std::array<uint8_t, 18> bytes{};
  uint8_t len = 0;

  /// from encodes `ep` (4 + 2 bytes for IPv4, 16 + 2 for IPv6).
  static source_address from(const ip_endpoint& ep) noexcept;
  std::span<const uint8_t> span() const noexcept { return {bytes.data(), len}; }
};

/// device_options configures a device.
struct device_options {
  /// allow_handshake is the flood limit hook: while under load, it is asked
  /// about every handshake message that passed MAC1 and MAC2 (given the
  /// source and `now`); false drops it (wg_rejected_rate_limited). Default
  /// empty: allow all.
  std::function<bool(std::span<const uint8_t> source, time_point now)> allow_handshake;
  /// indices is the receiver-index table. Share one between every device
  /// behind one UDP socket (many local nodes); default: a table of its own.
  std::shared_ptr<index_table> indices;
};

/// receive_result is the outcome of one datagram handed to a device.
struct receive_result {
  /// peer is the session the datagram belonged to (nullptr: none; it was
  /// dropped or answered with a cookie). Its owner may be another device
  /// sharing the index table.
  session* peer = nullptr;
  /// reply, when not empty, goes back to the datagram's source (a cookie
  /// reply; not to the peer's endpoint).
  std::vector<uint8_t> reply;
  /// out are the peer's actions (out.authenticated: update its endpoint).
  actions out;
  /// unknown_initiator is the static key of an authentic initiation (MAC1
  /// and decryption passed) from a peer this device has no session for: the
  /// driver may look the key up, add the peer and hand the datagram in again.
  std::optional<node_public_key> unknown_initiator;
};

/// device is one local node on the WireGuard data plane.
class device {
public:
  explicit device(const node_private_key& key, device_options opts = {});
  ~device();
  device(const device&) = delete;
  device& operator=(const device&) = delete;

  const node_public_key& public_key() const noexcept { return public_key_; }
  const node_private_key& private_key() const noexcept { return private_key_; }

  /// add_peer creates the session of `opts.public_key`. errc::invalid_argument
  /// for a zero key, our own key or a peer that already exists.
  result<session*> add_peer(peer_options opts);

  /// remove_peer deletes a session (its indices are released); false if none.
  bool remove_peer(const node_public_key& key);

  session* find_peer(const node_public_key& key) const noexcept;
  size_t num_peers() const noexcept { return sessions_.size(); }

  /// set_under_load switches cookie enforcement: while under load, handshake
  /// messages without a valid MAC2 get a cookie reply instead of an answer.
  void set_under_load(bool on) noexcept { under_load_ = on; }
  bool under_load() const noexcept { return under_load_; }

  /// receive handles one datagram from `source`. Handshake messages need a
  /// valid MAC1 (wg_rejected_bad_mac1); transport, response and cookie
  /// messages are routed by receiver index (wg_rejected_unknown_index);
  /// initiations by the decrypted static key (wg_rejected_unknown_peer).
  receive_result receive(std::span<const uint8_t> datagram, std::span<const uint8_t> source,
                         time_point now);

  /// is_addressed_to reports whether a handshake datagram's MAC1 names this
  /// device's key: how a socket shared by many local nodes routes initiations.
  bool is_addressed_to(std::span<const uint8_t> datagram) const noexcept;

  /// next_timer is the earliest next_timer() of all sessions.
  std::optional<time_point> next_timer() const;

  /// for_each_peer calls f(session&) for every session.
  template <class F>
  void for_each_peer(F&& f) {
    for (auto& [key, s] : sessions_) {
      f(*s);
    }
  }

  // -- for sessions -----------------------------------------------------------------

  cookie_checker& checker() noexcept { return checker_; }
  index_table& indices() noexcept { return *indices_; }
  std::chrono::system_clock::time_point wall_at(time_point now) const noexcept {
    return anchor_.wall_at(now);
  }

private:
  bool admit_handshake(std::span<const uint8_t> datagram, std::span<const uint8_t> source,
                       time_point now, receive_result& res);

  node_private_key private_key_;
  node_public_key public_key_;
  device_options opts_;
  cookie_checker checker_;
  wall_anchor anchor_;
  bool under_load_ = false;
  std::shared_ptr<index_table> indices_;
  absl::flat_hash_map<node_public_key, std::unique_ptr<session>> sessions_;
};

} // namespace tf::wg
