// SPDX-License-Identifier: Apache-2.0
// The conn actor (see net_conn.hpp). Its state (the core, queued writes, the
// bytes in flight to the owner) is touched only by the actor. The core's
// callbacks run under the core lock and only set a flag and enqueue one
// wake-up; the actor takes the core lock briefly and never blocks in it.
#include "actors/net_conn.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <optional>
#include <utility>

#include "actors/errors.hpp"
#include "netstack/core_lock.hpp"
#include "runtime/counters.hpp"

namespace tf::actors {

namespace {

// pending_write is one write request not yet wholly in lwIP's send buffer.
struct pending_write {
  std::vector<uint8_t> bytes;
  size_t off = 0;
  caf::typed_response_promise<uint64_t> promise;
};

struct net_conn_state {
  static inline const char* name = "tf.net_conn";

  std::shared_ptr<netstack::tcp_core> core;  // null once the actor finished
  net_conn_owner owner;
  std::shared_ptr<std::atomic<bool>> wake;   // a wake-up is on its way
  std::deque<pending_write> writes;
  uint64_t unacked = 0;                      // delivered to the owner, not acked
  bool eof_sent = false;
  bool shut_wanted = false;                  // shutdown_atom seen
  bool shut_done = false;                    // FIN queued in lwIP

  ~net_conn_state() {
    release(true); // killed or ended without finish(): reset the connection
  }

  // release detaches the callbacks (breaking the core -> actor reference)
  // and lets go of the core, resetting the connection first if `abort`.
  void release(bool abort) {
    if (!core) {
      return;
    }
    netstack::core_guard g;
    core->set_events_locked({});
    if (abort) {
      core->abort_locked();
    }
    core.reset();
  }

  // fail_writes answers every queued write with `err`.
  void fail_writes(const caf::error& err) {
    for (auto& w : writes) {
      w.promise.deliver(err);
    }
    writes.clear();
  }
};

using net_conn_pointer = net_conn_actor::stateful_pointer<net_conn_state>;

caf::error closed_error(std::string detail) {
  return to_caf(make_error(errc::closed, std::move(detail)));
}

// finish reports the end to the owner (once), lets go of the core, quits
// with `exit_reason`.
void finish(net_conn_pointer self, caf::error reason, caf::error exit_reason = {}) {
  auto& st = self->state;
  if (!st.core) {
    return;
  }
  st.fail_writes(reason ? reason : closed_error("connection closed"));
  self->send(st.owner, closed_atom::value, caf::actor_cast<net_conn_actor>(self), std::move(reason));
  st.release(false);
  self->quit(std::move(exit_reason));
}

// pump moves bytes both ways and reports what changed: queued writes into
// lwIP, buffered bytes out to the owner, EOF, a pending shutdown, the end.
void pump(net_conn_pointer self) {
  auto& st = self->state;
  if (!st.core) {
    return;
  }
  std::vector<caf::typed_response_promise<uint64_t>> done_writes;
  std::vector<uint64_t> done_lens;
  std::vector<std::vector<uint8_t>> chunks;
  bool eof_now = false;
  std::optional<failure> err;
  {
    netstack::core_guard g;
    auto& c = *st.core;
    while (!st.writes.empty() && !c.error_locked()) {
      auto& w = st.writes.front();
      w.off += c.write_locked({w.bytes.data() + w.off, w.bytes.size() - w.off});
      if (w.off < w.bytes.size()) {
        break; // send buffer full: on_writable wakes us
      }
      done_writes.push_back(std::move(w.promise));
      done_lens.push_back(w.bytes.size());
      st.writes.pop_front();
    }
    while (size_t n = std::min(c.readable_locked(), net_chunk_len)) {
      std::vector<uint8_t> buf(n);
      buf.resize(c.read_locked(buf, false));
      st.unacked += buf.size();
      chunks.push_back(std::move(buf));
    }
    if (const failure* e = c.error_locked()) {
      err = *e;
    } else {
      if (!st.eof_sent && c.eof_locked()) {
        eof_now = true;
      }
      if (st.shut_wanted && !st.shut_done && st.writes.empty()
          && c.phase_locked() != netstack::tcp_core::phase::connecting) {
        if (auto r = c.shutdown_write_locked(); r.ok()) {
          st.shut_done = true;
        } else {
          err = r.error();
        }
      }
    }
  }
  for (size_t i = 0; i < done_writes.size(); ++i) {
    done_writes[i].deliver(done_lens[i]);
  }
  auto me = caf::actor_cast<net_conn_actor>(self);
  for (auto& chunk : chunks) {
    self->send(st.owner, data_atom::value, me, std::move(chunk));
  }
  if (eof_now) {
    st.eof_sent = true;
    self->send(st.owner, eof_atom::value, me);
  }
  if (err) {
    finish(self, to_caf(*err));
  } else if (st.eof_sent && st.shut_done) {
    finish(self, caf::error{}); // both directions finished
  }
}

// install hooks the core's callbacks to this actor: they set `wake` and
// enqueue one net_ready message when it was clear. The callbacks hold a
// strong handle (released by net_conn_state::release), so the actor lives
// as long as the connection can report news.
void install(net_conn_pointer self) {
  auto& st = self->state;
  st.wake = std::make_shared<std::atomic<bool>>(false);
  auto ready = [handle = caf::actor_cast<net_conn_actor>(self), wake = st.wake] {
    if (!wake->exchange(true)) {
      caf::anon_send(handle, net_ready_atom::value);
    }
  };
  netstack::core_guard g;
  st.core->set_events_locked(netstack::conn_events{
    [ready](size_t) { ready(); },
    [ready](size_t) { ready(); },
    [ready](const failure*) { ready(); },
  });
}

net_conn_actor::behavior_type net_conn_impl(net_conn_pointer self,
                                            std::shared_ptr<netstack::tcp_core> core,
                                            caf::actor owner) {
  auto& st = self->state;
  st.core = std::move(core);
  st.owner = caf::actor_cast<net_conn_owner>(std::move(owner));
  if (!st.core || !st.owner) {
    TF_COUNTER("net_conn_spawn_invalid").add();
    st.release(true);
    self->quit();
    return {[=](ack_atom, uint64_t) {},
            [=](write_atom, std::vector<uint8_t>&) -> caf::result<uint64_t> {
              return closed_error("connection not open");
            },
            [=](shutdown_atom) {}, [=](close_atom) {}, [=](abort_atom) {},
            [=](net_ready_atom) {}};
  }
  self->monitor(st.owner);
  self->set_down_handler([=](caf::down_msg& m) {
    if (m.source == self->state.owner.address()) {
      self->state.fail_writes(closed_error("owner ended"));
      self->state.release(true);
      self->quit();
    }
  });
  self->set_exit_handler([=](caf::exit_msg& m) {
    if (self->state.core) {
      netstack::core_guard g;
      self->state.core->abort_locked();
    }
    finish(self, closed_error("connection actor stopped: " + caf::to_string(m.reason)), m.reason);
  });
  install(self);
  pump(self); // data, EOF or an error may have come before the callbacks
  return {
    [=](net_ready_atom) {
      self->state.wake->store(false);
      pump(self);
    },
    [=](ack_atom, uint64_t n) {
      auto& s = self->state;
      if (n > s.unacked) {
        TF_COUNTER("net_conn_ack_excess").add();
        n = s.unacked;
      }
      s.unacked -= n;
      if (s.core && n > 0) {
        netstack::core_guard g;
        s.core->ack_locked(n);
      }
    },
    [=](write_atom, std::vector<uint8_t>& bytes) -> caf::result<uint64_t> {
      auto& s = self->state;
      if (!s.core || s.shut_wanted) {
        TF_COUNTER("net_conn_write_refused").add();
        return closed_error(s.core ? "write after shutdown" : "connection closed");
      }
      if (bytes.empty()) {
        return uint64_t{0};
      }
      auto rp = self->make_response_promise<uint64_t>();
      s.writes.push_back(pending_write{std::move(bytes), 0, rp});
      pump(self);
      return rp;
    },
    [=](shutdown_atom) {
      self->state.shut_wanted = true;
      pump(self);
    },
    [=](close_atom) {
      if (self->state.core) {
        netstack::core_guard g;
        self->state.core->close_locked();
      }
      finish(self, caf::error{});
    },
    [=](abort_atom) {
      if (self->state.core) {
        netstack::core_guard g;
        self->state.core->abort_locked();
      }
      finish(self, closed_error("connection aborted"));
    },
  };
}

} // namespace

net_conn_actor spawn_conn_actor(caf::actor_system& sys, std::shared_ptr<netstack::tcp_core> core,
                                caf::actor owner) {
  return sys.spawn(net_conn_impl, std::move(core), std::move(owner));
}

} // namespace tf::actors
