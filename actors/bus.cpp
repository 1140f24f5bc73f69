// SPDX-License-Identifier: Apache-2.0
// The bus actor. Its watcher registry and node view are touched only by it.
#include "actors/bus.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <absl/container/flat_hash_map.h>

#include "runtime/counters.hpp"
#include "runtime/hex.hpp"
#include "runtime/keys.hpp"

namespace tf::actors {

namespace {

struct bus_watcher {
  watcher_actor handle;
  bus::watch_mask mask = 0;
  std::shared_ptr<bus::watch_flow> flow;
  bool at_shards = false;
};

struct bus_state {
  static inline const char* name = "tf.bus";

  std::vector<peer_shard_actor> shards;
  absl::flat_hash_map<uint64_t, bus_watcher> watchers;
  uint64_t next_id = 1;
  node_view view;
};

using bus_pointer = bus_actor::stateful_pointer<bus_state>;

std::string new_session_id() {
  uint8_t raw[8];
  random_bytes(raw, sizeof(raw));
  return to_hex(raw);
}

initial_header make_header(const bus_state& st, bus::watch_mask mask, bool with_parts) {
  initial_header h;
  auto& n = h.first;
  if (mask & bus::notify_initial_state) {
    n.session_id = new_session_id();
    n.state = st.view.state;
  }
  if (mask & bus::notify_initial_netmap) {
    n.self_change = st.view.self;
    auto nm = std::make_shared<bus::netmap_snapshot>();
    nm->self = st.view.self;
    nm->domain = st.view.domain;
    nm->dns = st.view.dns;
    n.netmap = std::move(nm);
  }
  if ((mask & bus::notify_initial_status) && st.view.status)
    n.initial_status = st.view.status;
  h.parts_expected = with_parts ? st.shards.size() : 0;
  return h;
}

void drop_watcher(bus_pointer self, uint64_t id) {
  auto& st = self->state;
  auto i = st.watchers.find(id);
  if (i == st.watchers.end())
    return;
  i->second.flow->close();
  if (i->second.at_shards)
    for (auto& s : st.shards)
      self->send(s, unwatch_atom::value, id);
  st.watchers.erase(i);
}

bus_actor::behavior_type bus_impl(bus_pointer self, std::vector<peer_shard_actor> shards) {
  self->state.shards = std::move(shards);
  // When the node closes its bus, every watcher gets one terminal notify.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    for (auto& [id, w] : self->state.watchers) {
      w.flow->close();
      caf::anon_send(w.handle, close_atom::value, std::string{"node closed"});
    }
    self->state.watchers.clear();
    self->quit(msg.reason);
  });
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    for (auto& [id, w] : st.watchers)
      if (w.handle.address() == dm.source) {
        drop_watcher(self, id);
        break;
      }
  });
  return {
    [=](watch_atom, watch_request& req) -> caf::result<uint64_t> {
      if (auto ok = bus::validate_mask(req.mask); !ok)
        return caf::make_error(caf::sec::invalid_argument, ok.error().message());
      auto& st = self->state;
      auto id = st.next_id++;
      bool want_snapshot = (req.mask & bus::notify_initial_netmap) != 0;
      bool want_changes = bus::wants_peer_changes(req.mask);
      bool at_shards = want_snapshot || want_changes;
      self->send(req.handle, initial_atom::value, make_header(st, req.mask, at_shards));
      if (at_shards)
        for (auto& s : st.shards)
          self->send(s, watch_atom::value,
                     watcher_registration{id, req.handle, req.mask, req.interest, req.flow,
                                          want_snapshot, want_changes});
      self->monitor(req.handle);
      st.watchers.emplace(id, bus_watcher{req.handle, req.mask, req.flow, at_shards});
      return id;
    },
    [=](unwatch_atom, uint64_t id) { drop_watcher(self, id); },
    [=](publish_atom, bus::notify& n) {
      auto& st = self->state;
      std::vector<uint64_t> closed;
      for (auto& [id, w] : st.watchers) {
        switch (w.flow->admit_and_send([&] { self->send(w.handle, notify_atom::value, n); })) {
          case bus::watch_flow::admit::send:
            break;
          case bus::watch_flow::admit::send_terminal_error:
            TF_COUNTER("bus_watchers_closed_lagging").add();
            self->send(w.handle, lagged_atom::value);
            closed.push_back(id);
            break;
          case bus::watch_flow::admit::closed:
            closed.push_back(id);
            break;
        }
      }
      for (auto id : closed)
        drop_watcher(self, id);
    },
    [=](view_atom, node_view& v) { self->state.view = std::move(v); },
    [=](stats_atom) { return self->state.watchers.size(); },
  };
}

} // namespace

bus_actor spawn_bus(caf::actor_system& sys, std::vector<peer_shard_actor> shards) {
  return sys.spawn(bus_impl, std::move(shards));
}

} // namespace tf::actors
