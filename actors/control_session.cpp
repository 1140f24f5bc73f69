// SPDX-License-Identifier: Apache-2.0
// The node-side control session broker. Its state lives in one shared
// session_state captured by the broker's handlers; only the broker (on the
// middleman's I/O thread) touches it.
#include "actors/control_session.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>
#include <caf/send.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/response_promise.hpp>

#include <optional>

#include "actors/atoms.hpp"
#include "actors/map_fanout.hpp"
#include "actors/messages.hpp"
#include "actors/paced_writer.hpp"
#include "actors/send_from.hpp"
#include "runtime/control_conn.hpp"
#include "runtime/counters.hpp"
#include "runtime/peer_intern.hpp"
#include "runtime/tcp_dial.hpp"

namespace tf::actors {

namespace {

using namespace std::chrono;

// max_failed_handshakes is how many connections in a row may close before
// the handshake completes until the session gives up (see connection_closed).
constexpr int max_failed_handshakes = 3;

// Unix seconds of a logout request: any time in the past means logout; this
// is the value Tailscale's client sends.
constexpr int64_t logout_expiry = 123;

struct session_state {
  control_session_config cfg;
  std::optional<control_conn> conn;
  caf::io::connection_handle hdl;
  bool connected = false;
  bool registered = false;
  bool stopped = false;
  milliseconds backoff{0};
  map_fanout fanout;  // this node's shards: map responses become their messages
  std::vector<caf::response_promise> logout_waiters;
  control_conn::received rx;
  std::vector<uint8_t> tx;
  paced_writer writer;
  // Reading the socket is paused while a shard's credit is exhausted.
  // CAF 0.17 applies halt() at the end of the multiplexer's round; a
  // trigger() in the same round finds the reader still attached, does
  // nothing, and the pending halt then detaches it for good (measured: the
  // session stalled until its idle timeout under 300,000 queued deltas).
  // So each halt posts a function to the multiplexer, which runs in a later
  // round and tells the session (halt_applied_atom); reading resumes only
  // once every halt is known to be applied.
  bool reads_halted = false;
  int halts_unapplied = 0;
  bool resume_wanted = false;
  // CAF's stream grows its read buffer back to the policy's size before
  // every read, zero-filling what the last read did not use: with a fixed
  // 64 KiB, each ~230-byte delta cost a 64 KiB memset on the I/O thread
  // (2.5% of an op). So the size follows the traffic, like TCP's receive
  // autotuning: small while reads are small, 4x larger after a read that
  // filled it (a full netmap arriving).
  static constexpr size_t min_read = 4096;
  static constexpr size_t max_read = 1 << 20;
  // messages_per_batch is how many messages of one read are decoded and
  // planned before the shards get them (bench/giant_tailnet, pipelined).
  static constexpr size_t messages_per_batch = 256;
  size_t read_size = min_read;
  int failed_handshakes = 0;             // in a row, before `established`
  steady_clock::time_point last_rx;      // liveness

  explicit session_state(control_session_config c)
    : cfg(std::move(c)), fanout(cfg.shards, cfg.credits) {}
};

using state_ptr = std::shared_ptr<session_state>;

// tell_node hands a control event to the node actor on a worker: the node
// persists its enrollment (write, fsync, rename) on some of them, which
// must not hold up the I/O thread that would otherwise run it next
// (nodes/spinning_multiplexer.hpp).
void tell_node(caf::io::broker* self, session_state& st, control_event ev) {
  tell_to_workers(self, st.cfg.node, control_atom::value, std::move(ev));
}

void write_out(caf::io::broker* self, session_state& st) {
  if (st.tx.empty() || !st.connected)
    return;
  st.writer.write(self, st.hdl, st.tx);
  st.tx.clear();
}

bool send_message(caf::io::broker* self, session_state& st, const wire::message& m) {
  if (auto ok = st.conn->send(m, st.tx); !ok) {
    st.cfg.log->warn("control: cannot send: {}", ok.error().message());
    return false;
  }
  write_out(self, st);
  return true;
}

void finish_logouts(session_state& st, bool ok) {
  for (auto& rp : st.logout_waiters)
    rp.deliver(ok);
  st.logout_waiters.clear();
}

void drop_connection(caf::io::broker* self, session_state& st) {
  if (st.connected)
    self->close(st.hdl);
  st.connected = false;
  st.registered = false;
  st.conn.reset();
}

void schedule_reconnect(caf::io::broker* self, session_state& st) {
  if (st.stopped)
    return;
  st.backoff = st.backoff.count() == 0 ? st.cfg.min_backoff
                                       : std::min(st.backoff * 2, st.cfg.max_backoff);
  // Anonymous: a message from the broker to itself would keep it alive in
  // its own mailbox (a reference cycle LeakSanitizer reports at exit).
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), st.backoff, connect_atom::value);
}

// fail ends the connection after an error. Refusals of the node itself
// (bad auth key, version) are fatal: no reconnect.
void fail(caf::io::broker* self, session_state& st, const failure& err, bool fatal) {
  st.cfg.log->warn("control: {}{}", err.message(), fatal ? " (giving up)" : "");
  drop_connection(self, st);
  finish_logouts(st, false);
  control_event ev;
  ev.what = fatal ? control_event::kind::fatal : control_event::kind::disconnected;
  ev.err = err;
  tell_node(self, st, std::move(ev));
  if (fatal)
    st.stopped = true;
  else
    schedule_reconnect(self, st);
}

// lost ends a connection that failed, retrying later. Connections that keep
// failing before the handshake completes most likely meet a server with a
// new key: after a few, the session gives up so the node looks it up again.
void lost(caf::io::broker* self, session_state& st, const failure& why) {
  bool mid_handshake = st.conn && !st.conn->established();
  if (mid_handshake && ++st.failed_handshakes >= max_failed_handshakes) {
    fail(self, st,
         make_error(errc::handshake_failed, std::to_string(st.failed_handshakes)
                                              + " handshakes in a row failed; last: "
                                              + why.message()),
         true);
    return;
  }
  fail(self, st, why, false);
}

void connect(caf::io::broker* self, session_state& st) {
  if (st.stopped || st.connected)
    return;
  auto addr = ip_addr::parse(st.cfg.host);
  if (!addr) {
    fail(self, st, make_error(errc::invalid_argument, "bad control address " + st.cfg.host), true);
    return;
  }
  auto fd = dial_nonblocking(*addr, st.cfg.port);
  if (!fd) {
    fail(self, st, fd.error(), false);
    return;
  }
  st.hdl = self->add_scribe(*fd);
  st.connected = true;
  st.last_rx = steady_clock::now();
  st.reads_halted = false;
  st.halts_unapplied = 0; // those of an older connection are ignored
  st.resume_wanted = false;
  st.writer = paced_writer{};
  st.read_size = session_state::min_read;
  self->configure_read(st.hdl, caf::io::receive_policy::at_most(st.read_size));
  st.conn.emplace(control_conn::client(st.cfg.machine_key, st.cfg.server_key));
  st.conn->defer_full_peers(); // apply_full decodes the peer list in parts
  auto hello = st.conn->start();
  if (!hello) {
    fail(self, st, hello.error(), true);
    return;
  }
  st.tx = std::move(*hello);
  write_out(self, st);
}

// node_facts moves the node-level fields of `r` (self, domain, DNS) into an
// event for the node actor.
control_event node_facts(control_event::kind what, wire::map_response& r) {
  control_event ev;
  ev.what = what;
  if (r.self)
    ev.self = std::make_shared<const wire::node>(std::move(*r.self));
  ev.domain = std::move(r.domain);
  ev.dns = std::move(r.dns);
  return ev;
}

// pace_reads stops reading the socket while a shard has a full window of
// unprocessed messages (back-pressure reaches the server through TCP), and
// resumes once every shard caught up.
void pace_reads(caf::io::broker* self, session_state& st) {
  if (!st.connected)
    return;
  if (st.fanout.must_pause()) {
    st.resume_wanted = false;
    if (!st.reads_halted) {
      TF_COUNTER("control_session_reads_paused").add();
      self->halt(st.hdl);
      st.reads_halted = true;
      ++st.halts_unapplied;
      self->backend().post([me = caf::actor_cast<caf::actor>(self), hdl = st.hdl] {
        caf::anon_send(me, halt_applied_atom::value, hdl);
      });
    }
  } else if (st.reads_halted) {
    if (st.halts_unapplied > 0) {
      st.resume_wanted = true; // halt_applied_atom resumes
      return;
    }
    self->trigger(st.hdl);
    st.reads_halted = false;
  }
}

// protocol_error ends a connection whose bytes did not make sense.
void protocol_error(caf::io::broker* self, session_state& st, const failure& err) {
  TF_COUNTER("control_session_protocol_errors").add();
  if (err.code == errc::unsupported_version)
    fail(self, st, err, true);
  else
    lost(self, st, err);
}

// on_map_response applies one map response; `full_peers` is the encoded
// peer list of a full map (null for a delta).
void on_map_response(caf::io::broker* self, session_state& st, wire::map_response& r,
                     wire::encoded_peers* full_peers) {
  if (r.keep_alive)
    return;
  if (!r.is_full()) {
    st.fanout.apply_delta(r);
    if (r.self || r.dns || !r.domain.empty())
      tell_node(self, st, node_facts(control_event::kind::self_changed, r));
    return;
  }
  // control_conn defers every full map's peer list (defer_full_peers).
  auto num_peers = full_peers ? st.fanout.apply_full(self, r, *full_peers)
                              : result<size_t>{make_error(errc::internal, "full map without peers")};
  if (!num_peers) {
    protocol_error(self, st, num_peers.error());
    return;
  }
  auto ev = node_facts(control_event::kind::netmap, r);
  ev.num_peers = *num_peers;
  tell_node(self, st, std::move(ev));
  st.backoff = milliseconds{0};
}

void on_register_response(caf::io::broker* self, session_state& st,
                          wire::register_response& r) {
  if (r.error_code != errc::ok) {
    fail(self, st, make_error(r.error_code, r.error), true);
    return;
  }
  if (r.logged_out) {
    st.cfg.log->info("control: logged out");
    finish_logouts(st, true);
    st.stopped = true;
    drop_connection(self, st);
    control_event ev;
    ev.what = control_event::kind::logged_out;
    tell_node(self, st, std::move(ev));
    return;
  }
  st.registered = true;
  control_event ev;
  ev.what = control_event::kind::registered;
  ev.reg = r;
  tell_node(self, st, std::move(ev));
  wire::map_request req;
  req.node_key = st.cfg.registration.node_key;
  req.stream = true;
  req.host = st.cfg.registration.host;
  req.endpoints = st.cfg.endpoints;
  send_message(self, st, req);
}

// tune_reads sizes the next reads after one of `got` bytes.
void tune_reads(caf::io::broker* self, session_state& st, size_t got) {
  auto want = st.read_size;
  if (got >= st.read_size)
    want = std::min(st.read_size * 4, session_state::max_read);
  else if (got <= session_state::min_read)
    want = session_state::min_read;
  if (want != st.read_size) {
    st.read_size = want;
    self->configure_read(st.hdl, caf::io::receive_policy::at_most(want));
  }
}

// apply_messages applies the messages of st.rx in order.
void apply_messages(caf::io::broker* self, session_state& st) {
  auto full_peers = st.rx.full_peers.begin(); // one per full map, in order
  for (auto& m : st.rx.messages) {
    if (!st.conn)
      break; // a previous message ended the connection
    if (auto* r = std::get_if<wire::register_response>(&m))
      on_register_response(self, st, *r);
    else if (auto* mr = std::get_if<wire::map_response>(&m))
      on_map_response(self, st, *mr,
                      mr->is_full() && full_peers != st.rx.full_peers.end() ? &*full_peers++
                                                                             : nullptr);
    else if (auto* e = std::get_if<wire::control_error>(&m))
      fail(self, st, make_error(e->code, "server: " + e->message),
           e->code == errc::node_not_found || e->code == errc::not_authorized);
    else
      TF_COUNTER("control_session_unexpected_message").add();
  }
}

void on_bytes(caf::io::broker* self, session_state& st, const std::vector<char>& buf) {
  if (!st.conn)
    return;
  tune_reads(self, st, buf.size());
  st.rx.clear();
  auto bytes = std::span{reinterpret_cast<const uint8_t*>(buf.data()), buf.size()};
  if (auto ok = st.conn->feed(bytes, st.rx, session_state::messages_per_batch); !ok) {
    protocol_error(self, st, ok.error());
    return;
  }
  st.last_rx = steady_clock::now();
  if (st.rx.established) {
    st.failed_handshakes = 0;
    control_event ev;
    ev.what = control_event::kind::connected;
    tell_node(self, st, std::move(ev));
    send_message(self, st, st.cfg.registration);
  }
  // A big read holds thousands of deltas: the shards get them in batches,
  // so they apply one batch while this actor decodes and plans the next.
  for (;;) {
    apply_messages(self, st);
    st.fanout.flush(self);
    st.rx.clear(); // a full map's decoded peers are garbage once planned
    // The records the shards dropped are freed here, where they were
    // allocated, while the shards apply what was just handed to them.
    free_dead_peers(dead_peers_free_batch);
    if (!st.conn || !st.conn->has_more())
      break;
    if (auto ok = st.conn->more(st.rx, session_state::messages_per_batch); !ok) {
      protocol_error(self, st, ok.error());
      return;
    }
  }
  pace_reads(self, st);
}

caf::behavior session_impl(caf::io::broker* self, state_ptr st) {
  caf::anon_send(caf::actor_cast<caf::actor>(self), connect_atom::value);
  caf::anon_send(caf::actor_cast<caf::actor>(self), tick_atom::value);
  return {
    [=](connect_atom) { connect(self, *st); },
    [=](const caf::io::new_data_msg& msg) { on_bytes(self, *st, msg.buf); },
    [=](const caf::io::data_transferred_msg& msg) { st->writer.on_transferred(self, msg); },
    [=](resume_atom) { pace_reads(self, *st); },
    [=](halt_applied_atom, caf::io::connection_handle hdl) {
      if (!st->connected || hdl != st->hdl || st->halts_unapplied == 0)
        return; // an older connection's
      if (--st->halts_unapplied == 0 && st->resume_wanted) {
        st->resume_wanted = false;
        pace_reads(self, *st);
      }
    },
    [=](const caf::io::connection_closed_msg&) {
      if (!st->connected)
        return;
      st->connected = false;
      lost(self, *st, make_error(errc::connection_lost, "control connection closed"));
    },
    [=](tick_atom) {
      // Liveness: the server sends keep-alives; silence means a dead path.
      if (st->connected && steady_clock::now() - st->last_rx > st->cfg.idle_timeout) {
        TF_COUNTER("control_session_idle_reconnects").add();
        fail(self, *st, make_error(errc::timeout, "no word from the server"), false);
      }
      if (!st->stopped)
        caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), st->cfg.idle_timeout / 4,
                               tick_atom::value);
    },
    [=](logout_atom) -> caf::result<bool> {
      if (!st->registered)
        return false;
      auto rp = self->make_response_promise();
      st->logout_waiters.push_back(rp);
      auto req = st->cfg.registration;
      req.auth_key.clear();
      req.expiry = logout_expiry;
      send_message(self, *st, req);
      return rp;
    },
  };
}

} // namespace

caf::actor spawn_control_session(caf::actor_system& sys, control_session_config cfg) {
  auto st = std::make_shared<session_state>(std::move(cfg));
  return sys.middleman().spawn_broker(session_impl, std::move(st));
}

} // namespace tf::actors
