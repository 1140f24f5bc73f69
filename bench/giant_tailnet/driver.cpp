// SPDX-License-Identifier: Apache-2.0
// The driver actor. Its state is touched only by the driver itself.
#include "bench/giant_tailnet/driver.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <chrono>

#include "actors/atoms.hpp"
#include "actors/bus_watch.hpp"
#include "actors/messages.hpp"
#include "runtime/wire_codec.hpp"
#include "tests/support/fake_control.hpp"

#include <cstdio>

namespace tf::bench {

namespace {

using clock_type = std::chrono::steady_clock;

struct driver_state {
  run_spec spec;
  size_t op = 0;                  // current operation
  wire::node_id current = 0;      // the peer the current op waits for
  wire::node_id previous = 0;
  clock_type::time_point t0;
  bool watching = false;          // bus_watcher: the watch's first notify came
  std::vector<double> samples;
  // pipelined: the deltas, encoded before the clock starts (a server
  // encodes a delta once for all its sessions) and freed after it stops.
  std::vector<std::vector<uint8_t>> encoded;
  // The one-at-a-time variants' delta, filled anew for each op into the
  // storage of the one before, as a server fills its outgoing message.
  wire::message delta{wire::map_response{}};
};

void send_delta(caf::event_based_actor* self, driver_state& st, size_t i) {
  auto& peer = (*st.spec.peers)[st.spec.first + i];
  auto& r = std::get<wire::map_response>(st.delta);
  r.peers_changed.resize(1);
  r.peers_changed[0] = peer;
  r.peers_removed.clear();
  if (st.previous != 0)
    r.peers_removed.push_back(st.previous);
  st.previous = peer.id;
  if (auto ok = st.spec.control->send({&st.delta, 1}); !ok)
    std::fprintf(stderr, "giant_tailnet: %s\n", ok.error().message().c_str());
}

void finish(caf::event_based_actor* self, driver_state& st) {
  st.spec.done->set_value(std::move(st.samples));
  self->quit();
}

void start_op(caf::event_based_actor* self, driver_state& st) {
  auto& peer = (*st.spec.peers)[st.spec.first + st.op];
  st.current = peer.id;
  st.t0 = clock_type::now();
  send_delta(self, st, st.op);
}

// await_all asks the node, before the first op, to tell the driver when
// each op's peer becomes visible (as Tailscale's AwaitNodeKey), so waiting
// adds no messages to an op.
void await_all(caf::event_based_actor* self, driver_state& st) {
  for (size_t i = 0; i < st.spec.ops; ++i)
    self->send(st.spec.node, actors::await_atom::value, (*st.spec.peers)[st.spec.first + i].id,
               caf::actor_cast<caf::actor>(self));
}

void op_done(caf::event_based_actor* self, driver_state& st) {
  auto dt = std::chrono::duration<double, std::micro>(clock_type::now() - st.t0);
  st.samples.push_back(dt.count());
  if (++st.op == st.spec.ops) {
    finish(self, st);
    return;
  }
  start_op(self, st);
}

void start_pipelined(caf::event_based_actor* self, driver_state& st) {
  auto last = (*st.spec.peers)[st.spec.first + st.spec.ops - 1].id;
  st.current = last;
  self->send(st.spec.node, actors::await_atom::value, last, caf::actor_cast<caf::actor>(self));
  st.encoded.reserve(st.spec.ops);
  for (size_t i = 0; i < st.spec.ops; ++i) {
    auto& peer = (*st.spec.peers)[st.spec.first + i];
    wire::map_response r;
    r.peers_changed.push_back(peer);
    if (st.previous != 0)
      r.peers_removed.push_back(st.previous);
    st.previous = peer.id;
    st.encoded.push_back(wire::encode(r));
  }
  st.t0 = clock_type::now();
  if (auto ok = st.spec.control->send_encoded(st.encoded); !ok)
    std::fprintf(stderr, "giant_tailnet: %s\n", ok.error().message().c_str());
}

caf::behavior driver_impl(caf::event_based_actor* self, std::shared_ptr<driver_state> st) {
  return {
    [=](actors::tick_atom) {
      if (st->spec.kind == variant::pipelined) {
        start_pipelined(self, *st);
        return;
      }
      if (st->spec.kind != variant::bus_watcher) {
        await_all(self, *st);
        // Start once the registrations reached the shards: the node answers
        // this status request only after forwarding them.
        self->request(st->spec.node, std::chrono::seconds(60), actors::status_atom::value)
          .then([=](bus::status&) { start_op(self, *st); });
        return;
      }
      // bus_watcher: this driver is the bus watcher; the first op starts
      // once the watch's first notify proves it is registered everywhere.
      if (auto w = actors::watch_bus(self, st->spec.node, bus::notify_peer_changes); !w) {
        std::fprintf(stderr, "giant_tailnet: watch_bus: %s\n", w.error().message().c_str());
        finish(self, *st);
      }
    },
    [=](actors::notify_atom, bus::notify& n, bus::flow_ticket&) {
      if (n.err_message) {
        std::fprintf(stderr, "giant_tailnet: bus watch: %s\n", n.err_message->c_str());
        finish(self, *st);
        return;
      }
      if (!st->watching) {
        st->watching = true;
        start_op(self, *st);
        return;
      }
      for (auto& p : n.peers_changed)
        if (p->id() == st->current) {
          op_done(self, *st);
          return;
        }
    },
    [=](actors::visible_atom, wire::node_id id) {
      if (id != st->current)
        return;
      switch (st->spec.kind) {
        case variant::pipelined: {
          auto dt = std::chrono::duration<double, std::micro>(clock_type::now() - st->t0);
          st->samples.push_back(dt.count() / static_cast<double>(st->spec.ops));
          finish(self, *st);
          return;
        }
        case variant::full_rebuild:
          // The old way: rebuild the whole netmap after the delta and hand
          // it to the consumer (here: the driver).
          self->request(st->spec.node, std::chrono::seconds(60), actors::snapshot_atom::value)
            .then([=](bus::netmap_snapshot& nm) {
              if (nm.peers.empty())
                return;
              op_done(self, *st);
            });
          return;
        default:
          op_done(self, *st);
      }
    },
  };
}

} // namespace

const char* variant_name(variant v) {
  switch (v) {
    case variant::no_watcher: return "no-watcher";
    case variant::bus_watcher: return "bus-watcher";
    case variant::pipelined: return "pipelined";
    case variant::full_rebuild: return "full-rebuild";
  }
  return "?";
}

caf::actor spawn_driver(caf::actor_system& sys, run_spec spec) {
  auto st = std::make_shared<driver_state>();
  st->previous = spec.previous;
  st->spec = std::move(spec);
  if (st->spec.own_thread)
    return sys.spawn<caf::detached>(driver_impl, std::move(st));
  return sys.spawn(driver_impl, std::move(st));
}

} // namespace tf::bench
