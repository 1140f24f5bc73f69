// SPDX-License-Identifier: Apache-2.0
// The listener actor (see net_listener.hpp). Its state (the core, the count
// of unanswered accept requests) is touched only by the actor. The core's
// ready callback runs under the core lock and only enqueues a wake-up.
#include "actors/net_listener.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <atomic>
#include <optional>
#include <utility>
#include <vector>

#include "actors/errors.hpp"
#include "netstack/core_lock.hpp"
#include "runtime/counters.hpp"

namespace tf::actors {

namespace {

struct net_listener_state {
  static inline const char* name = "tf.net_listener";

  std::shared_ptr<netstack::tcp_listener_core> core;  // null once finished
  caf::actor owner;                                   // also the conn actors' owner
  net_listener_owner typed_owner;                     // the same actor
  std::shared_ptr<std::atomic<bool>> wake;            // a wake-up is on its way
  size_t max_unaccepted = default_max_unaccepted;
  size_t unaccepted = 0;
  uint64_t accepted = 0;

  ~net_listener_state() {
    release(true);
  }

  // release detaches the callback (breaking the core -> actor reference)
  // and lets go of the core, closing it first if `close`.
  void release(bool close) {
    if (!core) {
      return;
    }
    netstack::core_guard g;
    core->set_on_ready_locked({});
    if (close) {
      core->close_locked(make_error(errc::closed, "listener closed"));
    }
    core.reset();
  }
};

using net_listener_pointer = net_listener_actor::stateful_pointer<net_listener_state>;

void finish(net_listener_pointer self, caf::error reason) {
  auto& st = self->state;
  if (!st.core) {
    return;
  }
  self->send(st.typed_owner, closed_atom::value, caf::actor_cast<net_listener_actor>(self),
             std::move(reason));
  st.release(true);
  self->quit();
}

// pump takes queued connections while the owner has room for them, hands
// each to a new conn actor and asks the owner to accept it.
void pump(net_listener_pointer self) {
  auto& st = self->state;
  if (!st.core) {
    return;
  }
  std::vector<std::shared_ptr<netstack::tcp_core>> taken;
  std::optional<failure> err;
  {
    netstack::core_guard g;
    while (st.unaccepted + taken.size() < st.max_unaccepted) {
      auto c = st.core->pop_locked();
      if (!c) {
        break;
      }
      taken.push_back(std::move(c));
    }
    if (const failure* e = st.core->error_locked()) {
      err = *e;
    }
  }
  for (auto& c : taken) {
    auto conn = spawn_conn_actor(self->system(), std::move(c), st.owner);
    ++st.unaccepted;
    auto answered = [=] {
      auto& s = self->state;
      --s.unaccepted;
      ++s.accepted;
      pump(self);
    };
    self->request(st.typed_owner, caf::infinite, accept_atom::value, std::move(conn))
      .then([=]() { answered(); }, [=](caf::error&) { answered(); });
  }
  if (err) {
    finish(self, to_caf(*err));
  }
}

net_listener_actor::behavior_type net_listener_impl(
  net_listener_pointer self, std::shared_ptr<netstack::tcp_listener_core> core,
  caf::actor owner, size_t max_unaccepted) {
  auto& st = self->state;
  st.core = std::move(core);
  st.owner = std::move(owner);
  st.typed_owner = caf::actor_cast<net_listener_owner>(st.owner);
  st.max_unaccepted = std::max<size_t>(max_unaccepted, 1);
  st.wake = std::make_shared<std::atomic<bool>>(false);
  if (!st.core || !st.owner) {
    TF_COUNTER("net_listener_spawn_invalid").add();
    st.release(true);
    self->quit();
    return {[=](close_atom) {}, [=](stats_atom) { return net_listener_stats{}; },
            [=](net_ready_atom) {}};
  }
  self->monitor(st.owner);
  self->set_down_handler([=](caf::down_msg& m) {
    if (m.source == self->state.owner.address()) {
      self->state.release(true);
      self->quit();
    }
  });
  {
    auto handle = caf::actor_cast<net_listener_actor>(self);
    auto wake = st.wake;
    netstack::core_guard g;
    // Runs at once if connections are queued or the listener is closed.
    st.core->set_on_ready_locked([handle, wake] {
      if (!wake->exchange(true)) {
        caf::anon_send(handle, net_ready_atom::value);
      }
    });
  }
  return {
    [=](net_ready_atom) {
      self->state.wake->store(false);
      pump(self);
    },
    [=](close_atom) { finish(self, caf::error{}); },
    [=](stats_atom) {
      auto& s = self->state;
      net_listener_stats out;
      out.unaccepted = s.unaccepted;
      out.accepted = s.accepted;
      if (s.core) {
        netstack::core_guard g;
        out.queued = s.core->num_pending_locked();
      }
      return out;
    },
  };
}

} // namespace

net_listener_actor spawn_listener_actor(caf::actor_system& sys,
                                        std::shared_ptr<netstack::tcp_listener_core> core,
                                        caf::actor owner, size_t max_unaccepted) {
  return sys.spawn(net_listener_impl, std::move(core), std::move(owner), max_unaccepted);
}

} // namespace tf::actors
