// SPDX-License-Identifier: Apache-2.0
// peer_link (see peer_link.hpp). Every event is pushed with the mutex held,
// so events of one shard reach the sink in that shard's order, and an
// answer that activates a peer is never overtaken by that peer's next change.
#include "runtime/peer_link.hpp"

namespace tf {

void peer_link::answer(uint64_t request, peer_ref rec) {
  std::lock_guard<std::mutex> g(mu_);
  if (!sink_) {
    return;
  }
  link_event ev;
  ev.what = link_event::kind::answer;
  ev.request = request;
  if (rec) {
    ev.id = rec->id();
    active_.insert(ev.id);
  }
  ev.rec = std::move(rec);
  sink_(std::move(ev));
}

void peer_link::upserted(const peer_ref& rec) {
  std::lock_guard<std::mutex> g(mu_);
  if (!sink_ || !active_.contains(rec->id())) {
    return;
  }
  link_event ev;
  ev.what = link_event::kind::changed;
  ev.id = rec->id();
  ev.rec = rec;
  sink_(std::move(ev));
}

void peer_link::removed(wire::node_id id) {
  std::lock_guard<std::mutex> g(mu_);
  if (!sink_ || active_.erase(id) == 0) {
    return;
  }
  link_event ev;
  ev.what = link_event::kind::removed;
  ev.id = id;
  sink_(std::move(ev));
}

void peer_link::forget(wire::node_id id) {
  std::lock_guard<std::mutex> g(mu_);
  active_.erase(id);
}

void peer_link::close() {
  std::lock_guard<std::mutex> g(mu_);
  sink_ = nullptr;
  active_.clear();
}

size_t peer_link::num_active() const {
  std::lock_guard<std::mutex> g(mu_);
  return active_.size();
}

} // namespace tf
