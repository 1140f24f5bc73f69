// SPDX-License-Identifier: Apache-2.0
// Blocking queries to a node actor. Runs on caller threads (never actors);
// bus_watch's queue is shared with its watcher actor under queue::mtx.
#include "nodes/local_client.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/errors.hpp"

namespace tf {

namespace {

template <class T, class... Ts>
result<T> ask(caf::actor_system& sys, const actors::node_actor& node,
              std::chrono::milliseconds timeout, Ts&&... xs) {
  if (!node)
    return make_error(errc::closed, "node not started");
  caf::scoped_actor self{sys};
  std::optional<result<T>> out;
  self->request(node, timeout, std::forward<Ts>(xs)...)
    .receive([&](T& value) { out.emplace(std::move(value)); },
             [&](caf::error& err) { out.emplace(actors::from_caf(err)); });
  return std::move(*out);
}

result<peer_ref> hit_to_peer(result<actors::peer_hit> hit, std::string_view what) {
  if (!hit)
    return hit.error();
  if (!hit->rec)
    return make_error(errc::not_found, "no peer " + std::string{what});
  return hit->rec;
}

} // namespace

// -- bus_watch ------------------------------------------------------------------

bus_watch::~bus_watch() {
  close();
}

result<bus::notify> bus_watch::next(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock{queue_->mtx};
  if (done_ && queue_->items.empty())
    return make_error(errc::closed, "watch closed");
  if (!queue_->cv.wait_for(lock, timeout, [&] { return !queue_->items.empty(); }))
    return make_error(errc::timeout, "no notify");
  auto [n, holds_slot] = std::move(queue_->items.front());
  queue_->items.pop_front();
  lock.unlock();
  if (holds_slot)
    flow_->consumed();
  if (n.err_message && !holds_slot && queue_->items.empty())
    done_ = true; // a terminal notify ends the watch
  return n;
}

void bus_watch::close() {
  flow_->close();
  if (actor_) {
    caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
    actor_ = nullptr;
  }
}

size_t bus_watch::pending() const {
  std::lock_guard<std::mutex> guard{queue_->mtx};
  return queue_->items.size();
}

// -- bus_subscription ---------------------------------------------------------

bus_subscription::~bus_subscription() {
  cancel();
}

void bus_subscription::cancel() {
  if (actor_) {
    caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
    actor_ = nullptr;
  }
}

// -- local_client ---------------------------------------------------------------

result<actors::peer_hit> local_client::lookup(actors::peer_query q) {
  return ask<actors::peer_hit>(*sys_, node_, timeout, actors::lookup_atom::value, std::move(q));
}

result<whois_response> local_client::whois(std::string_view addr) {
  auto ip = ip_addr::parse(addr);
  if (!ip) {
    auto ep = ip_endpoint::parse(addr);
    if (!ep)
      return make_error(errc::invalid_argument, "whois: not an IP or IP:port: "
                                                  + std::string{addr});
    ip = ep->addr;
  }
  auto hit = lookup(actors::peer_query::of_addr(ip->unmap()));
  if (!hit)
    return hit.error();
  if (!hit->rec)
    return make_error(errc::not_found, "no peer owns " + std::string{addr});
  whois_response out;
  out.node = hit->rec;
  if (hit->user) {
    out.user = *hit->user;
  } else if (hit->rec->is_tagged()) {
    out.user.login_name = "tagged-devices";
    out.user.display_name = "Tagged Devices";
  } else {
    return make_error(errc::not_found, "no user profile for the owner of " + std::string{addr});
  }
  return out;
}

result<bus::status> local_client::status() {
  return ask<bus::status>(*sys_, node_, timeout, actors::status_atom::value);
}

result<peer_ref> local_client::peer_by_id(wire::node_id id) {
  return hit_to_peer(lookup(actors::peer_query::of_id(id)), std::to_string(id));
}

result<peer_ref> local_client::peer_by_name(std::string_view name) {
  return hit_to_peer(lookup(actors::peer_query::of_name(std::string{name})), name);
}

result<peer_ref> local_client::peer_by_key(const node_public_key& key) {
  return hit_to_peer(lookup(actors::peer_query::of_key(key)), key.to_string());
}

result<bus::netmap_snapshot> local_client::netmap() {
  return ask<bus::netmap_snapshot>(*sys_, node_, timeout, actors::snapshot_atom::value);
}

result<actors::watcher_actor>
local_client::register_watcher(actors::watch_sink sink, std::shared_ptr<bus::watch_flow> flow,
                               bus::watch_mask mask, bus::interest interest) {
  if (auto ok = bus::validate_mask(mask); !ok)
    return ok.error();
  auto w = actors::spawn_watcher(*sys_, std::move(sink), flow);
  auto id = ask<uint64_t>(*sys_, node_, timeout, actors::watch_atom::value,
                          actors::watch_request{w, mask, std::move(interest), flow});
  if (!id) {
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
    return id.error();
  }
  return w;
}

result<std::unique_ptr<bus_watch>> local_client::watch_bus(bus::watch_mask mask,
                                                           bus::interest interest) {
  std::unique_ptr<bus_watch> out{new bus_watch};
  auto q = out->queue_;
  auto sink = actors::watch_sink::queue([q](bus::notify&& n, bool holds_slot) {
    std::lock_guard<std::mutex> guard{q->mtx};
    q->items.emplace_back(std::move(n), holds_slot);
    q->cv.notify_one();
  });
  auto w = register_watcher(std::move(sink), out->flow_, mask, std::move(interest));
  if (!w)
    return w.error();
  out->actor_ = *w;
  return out;
}

result<bus_subscription> local_client::watch_bus(bus::watch_mask mask, bus::interest interest,
                                                 std::function<void(const bus::notify&)> fn) {
  auto sink = actors::watch_sink::callback([fn = std::move(fn)](bus::notify&& n, bool) { fn(n); });
  auto w = register_watcher(std::move(sink), std::make_shared<bus::watch_flow>(), mask,
                            std::move(interest));
  if (!w)
    return w.error();
  return bus_subscription{*w};
}

} // namespace tf
