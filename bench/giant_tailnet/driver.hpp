// SPDX-License-Identifier: Apache-2.0
// The benchmark's driver: an event-based actor that runs one variant's
// operations against a node. One operation writes a delta (add a fresh
// peer, remove the previous one) into the fake control's connection and
// waits, without blocking a thread, until the node shows the new peer.
#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <future>
#include <memory>
#include <vector>

#include "actors/node.hpp"
#include "runtime/wire.hpp"

namespace tf::test {
class fake_control;
} // namespace tf::test

namespace tf::bench {

enum class variant { no_watcher, bus_watcher, pipelined, full_rebuild };

const char* variant_name(variant v);

using test::fake_control;

/// run_spec is one variant's run.
struct run_spec {
  variant kind = variant::no_watcher;
  fake_control* control = nullptr;        // the driver writes deltas into it
  actors::node_actor node;
  std::shared_ptr<const std::vector<wire::node>> peers;  // fresh peers, one per op
  size_t first = 0;                       // index of the first peer to use
  size_t ops = 0;
  wire::node_id previous = 0;             // removed by the first op
  std::shared_ptr<std::promise<std::vector<double>>> done;  // per-op microseconds
  // The driver on a thread of its own (a detached actor), as a control
  // server in another process would be, instead of on the scheduler's
  // workers or, readied by the node's shard, on the node's I/O thread.
  bool own_thread = false;
};

/// spawn_driver prepares a run; (tick_atom) starts it and the result
/// arrives through spec.done. For bus_watcher the driver itself watches the
/// node's bus (actors::watch_bus) and an op ends when its notify arrives.
caf::actor spawn_driver(caf::actor_system& sys, run_spec spec);

} // namespace tf::bench
