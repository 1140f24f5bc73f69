// SPDX-License-Identifier: Apache-2.0
// The watcher actor. Its state (the first notify under construction and the
// notifies that overtook it) is touched only by the watcher itself.
#include "actors/watcher.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <deque>

#include "actors/send_from.hpp"

namespace tf::actors {

namespace {

struct watcher_state {
  static inline const char* name = "tf.watcher";

  caf::local_actor* self = nullptr;  // the watcher, for sends from its context
  watch_sink sink;
  std::shared_ptr<bus::watch_flow> flow;
  bool have_header = false;
  size_t parts_left = 0;
  bus::notify first;
  std::shared_ptr<bus::netmap_snapshot> netmap;  // under construction
  std::deque<bus::notify> early;                 // arrived before `first` was done
  uint64_t id = 0;                               // the bus's id of this watch
  std::vector<caf::actor> shards;                // senders of the parts

  ~watcher_state() {
    if (flow)
      flow->close();
  }

  bool first_done() const { return have_header && parts_left == 0; }

  // deliver hands one notify on; one that holds a slot has it freed here
  // (callback), by the sink (queue) or by the receiver's ticket (actor).
  void deliver(bus::notify&& n, bool holds_slot) {
    if (sink.forward_to) {
      tell_as(self, sink.forward_to, notify_atom::value, std::move(n),
              holds_slot ? bus::flow_ticket{flow} : bus::flow_ticket{});
      return;
    }
    sink.deliver(std::move(n), holds_slot);
    if (holds_slot && !sink.frees_slot)
      flow->consumed();
  }

  void deliver_counted(bus::notify&& n) { deliver(std::move(n), true); }

  void finish_first_if_complete() {
    if (!first_done())
      return;
    if (netmap) {
      std::sort(netmap->peers.begin(), netmap->peers.end(),
                [](const peer_ref& a, const peer_ref& b) { return a->id() < b->id(); });
      first.netmap = std::move(netmap);
    }
    deliver(std::move(first), false);
    while (!early.empty()) {
      deliver_counted(std::move(early.front()));
      early.pop_front();
    }
    go_direct();
  }

  // go_direct asks the shards to send their notifies to the receiving
  // actor themselves from now on (peer_shard.cpp: the switch keeps each
  // shard's notifies in order). Node-level notifies still come through here.
  void go_direct() {
    if (sink.forward_to && id != 0)
      for (auto& s : shards)
        tell_as(self, s, direct_atom::value, id, sink.forward_to);
    shards.clear();
  }
};

using watcher_pointer = watcher_actor::stateful_pointer<watcher_state>;

watcher_actor::behavior_type watcher_impl(watcher_pointer self, watch_sink sink,
                                          std::shared_ptr<bus::watch_flow> flow) {
  self->state.self = self;
  self->state.sink = std::move(sink);
  self->state.flow = std::move(flow);
  if (auto& to = self->state.sink.forward_to) {
    // Nobody is left to read the notifies once the receiving actor is gone.
    self->monitor(to);
    self->set_down_handler([=](caf::down_msg&) { self->quit(); });
  }
  return {
    [=](initial_atom, initial_header& h) {
      auto& st = self->state;
      st.first = std::move(h.first);
      if (st.first.netmap)
        st.netmap = std::make_shared<bus::netmap_snapshot>(*st.first.netmap);
      st.first.netmap.reset();
      st.parts_left = h.parts_expected;
      st.have_header = true;
      st.finish_first_if_complete();
    },
    [=](part_atom, initial_part& p) {
      auto& st = self->state;
      if (st.parts_left == 0)
        return; // protocol error of a producer: ignore rather than corrupt
      st.id = p.watcher_id;
      if (auto from = caf::actor_cast<caf::actor>(self->current_sender()))
        st.shards.push_back(std::move(from));
      if (st.netmap) {
        auto& peers = st.netmap->peers;
        peers.insert(peers.end(), std::make_move_iterator(p.peers.begin()),
                     std::make_move_iterator(p.peers.end()));
        for (auto& u : p.profiles)
          st.netmap->user_profiles.push_back(*u);
      }
      --st.parts_left;
      st.finish_first_if_complete();
    },
    [=](notify_atom, bus::notify& n) {
      auto& st = self->state;
      if (!st.first_done()) {
        st.early.push_back(std::move(n));
        return;
      }
      st.deliver_counted(std::move(n));
    },
    [=](drained_atom) {
      // A shard's marker: everything it sent before is passed on.
      if (auto from = caf::actor_cast<caf::actor>(self->current_sender()))
        tell_as(self, from, drained_atom::value, self->state.id);
    },
    [=](lagged_atom) {
      bus::notify n;
      n.err_message = lagging_message;
      self->state.deliver(std::move(n), false);
      self->quit();
    },
    [=](close_atom, std::string& reason) {
      bus::notify n;
      n.err_message = std::move(reason);
      self->state.deliver(std::move(n), false);
      self->quit();
    },
  };
}

} // namespace

watcher_actor spawn_watcher(caf::actor_system& sys, watch_sink sink,
                            std::shared_ptr<bus::watch_flow> flow) {
  return sys.spawn(watcher_impl, std::move(sink), std::move(flow));
}

} // namespace tf::actors
