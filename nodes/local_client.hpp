// SPDX-License-Identifier: Apache-2.0
// local_client: questions to one node (tsnet's LocalClient): WhoIs, status,
// peer lookups, netmap snapshots and bus watches. Blocking calls for
// non-actor threads; actors should message the node actor instead. Cheap to
// copy; valid while its server is.
#pragma once

#include <caf/fwd.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "actors/node.hpp"
#include "actors/watcher.hpp"
#include "runtime/bus_types.hpp"
#include "runtime/result.hpp"
#include "runtime/watch_flow.hpp"

namespace tf {

/// whois_response identifies the node behind an address. For tagged nodes
/// the user is the placeholder "tagged-devices" and identity is the tags.
struct whois_response {
  peer_ref node;
  wire::user_profile user;
};

/// bus_watch is a blocking bus watcher. Call next() often enough: a watcher
/// that falls bus::max_pending notifies behind receives one terminal notify
/// (err_message set) and is closed.
class bus_watch {
public:
  ~bus_watch();

  /// next returns the next notify; errc::timeout if none arrived in time,
  /// errc::closed after the terminal notify was returned.
  result<bus::notify> next(std::chrono::milliseconds timeout);

  /// close stops the watch.
  void close();

  /// pending is how many delivered notifies next() has not returned yet.
  size_t pending() const;

private:
  friend class local_client;
  struct queue {
    mutable std::mutex mtx;  // guards: items
    std::condition_variable cv;
    std::deque<std::pair<bus::notify, bool>> items;  // notify, holds a flow slot
  };

  std::shared_ptr<queue> queue_ = std::make_shared<queue>();
  std::shared_ptr<bus::watch_flow> flow_ = std::make_shared<bus::watch_flow>();
  actors::watcher_actor actor_;
  bool done_ = false;
};

/// bus_subscription keeps a callback watcher alive; destroying it stops it.
class bus_subscription {
public:
  bus_subscription() = default;
  explicit bus_subscription(actors::watcher_actor w) : actor_(std::move(w)) {}
  bus_subscription(bus_subscription&&) noexcept = default;
  bus_subscription& operator=(bus_subscription&&) noexcept = default;
  ~bus_subscription();
  void cancel();

private:
  actors::watcher_actor actor_;
};

class local_client {
public:
  local_client(caf::actor_system& sys, actors::node_actor node) : sys_(&sys), node_(node) {}

  /// whois finds who owns `addr` ("100.64.0.3", "[fd7a::1]:80", ...).
  result<whois_response> whois(std::string_view addr);

  /// status summarises the node.
  result<bus::status> status();

  /// peer_by_id, peer_by_name (FQDN or short name) and peer_by_key look a
  /// peer up; errc::not_found if absent.
  result<peer_ref> peer_by_id(wire::node_id id);
  result<peer_ref> peer_by_name(std::string_view name);
  result<peer_ref> peer_by_key(const node_public_key& key);

  /// netmap assembles a full snapshot (costs O(peers)).
  result<bus::netmap_snapshot> netmap();

  /// watch_bus opens a blocking watch with `mask` (bus::watch_opt bits),
  /// narrowed to `interest` (empty = all peers).
  result<std::unique_ptr<bus_watch>> watch_bus(bus::watch_mask mask, bus::interest interest = {});

  /// watch_bus runs `fn` on the watcher actor for every notify, in order.
  /// A slow `fn` counts against the bus::max_pending limit.
  result<bus_subscription> watch_bus(bus::watch_mask mask, bus::interest interest,
                                     std::function<void(const bus::notify&)> fn);

  std::chrono::milliseconds timeout{std::chrono::seconds(10)};

private:
  result<actors::peer_hit> lookup(actors::peer_query q);
  result<actors::watcher_actor> register_watcher(actors::watch_sink sink,
                                                 std::shared_ptr<bus::watch_flow> flow,
                                                 bus::watch_mask mask, bus::interest interest);

  caf::actor_system* sys_;
  actors::node_actor node_;
};

} // namespace tf
