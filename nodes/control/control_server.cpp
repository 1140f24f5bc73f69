// SPDX-License-Identifier: Apache-2.0
// The coordination server broker. All of its state (tailnet model, database,
// connections) is touched only by the broker on the middleman's I/O thread.
#include "nodes/control/control_server.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>
#include <caf/send.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/system_messages.hpp>

#include <absl/container/flat_hash_map.h>

#include "actors/atoms.hpp"
#include "actors/paced_writer.hpp"
#include "nodes/control/admin_api.hpp"
#include "runtime/control_conn.hpp"
#include "runtime/counters.hpp"
#include "runtime/wire_codec.hpp"

namespace tf::control {

namespace {

using namespace std::chrono;
using caf::io::connection_handle;
using tf::actors::admin_atom;
using tf::actors::alt_atom;
using tf::actors::flush_atom;
using tf::actors::tick_atom;

int64_t now_ms() {
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

struct session {
  control_conn conn;
  actors::paced_writer writer;
  wire::node_id node = 0;  // set once a registration on this connection succeeded
  bool streaming = false;
  bool alt = false;        // stream taken over by the alt_map_stream hook
};

struct server_state {
  control_server_config cfg;
  std::unique_ptr<control_db> db;
  std::unique_ptr<tailnet> net;
  absl::flat_hash_map<int64_t, session> sessions;       // by connection id
  absl::flat_hash_map<wire::node_id, int64_t> streams;  // node -> its stream
  uint64_t seq = 0;
  bool flush_scheduled = false;
  int64_t last_keep_alive = 0;
  std::vector<uint8_t> tx;
};

using state_ptr = std::shared_ptr<server_state>;

connection_handle hdl_of(int64_t id) {
  return connection_handle::from_int(id);
}

void write_tx(caf::io::broker* self, server_state& st, int64_t cid) {
  if (st.tx.empty())
    return;
  if (auto i = st.sessions.find(cid); i != st.sessions.end())
    i->second.writer.write(self, hdl_of(cid), st.tx);
  // Keep the scratch buffer sized for deltas, not for the last full map.
  if (st.tx.capacity() > (1u << 20))
    std::vector<uint8_t>{}.swap(st.tx);
  else
    st.tx.clear();
}

void send_to(caf::io::broker* self, server_state& st, int64_t cid, session& s,
             const wire::message& m) {
  if (auto ok = s.conn.send(m, st.tx); !ok) {
    st.cfg.log->warn("control: send to connection {}: {}", cid, ok.error().message());
    return;
  }
  write_tx(self, st, cid);
}

void schedule_flush(caf::io::broker* self, server_state& st) {
  if (st.flush_scheduled || st.net->pending().empty())
    return;
  st.flush_scheduled = true;
  // Anonymous: a message from the broker to itself would keep it alive in
  // its own mailbox (a reference cycle LeakSanitizer reports at exit).
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), st.cfg.batch_window, flush_atom::value);
}

void close_session(caf::io::broker* self, server_state& st, int64_t cid) {
  auto i = st.sessions.find(cid);
  if (i == st.sessions.end())
    return;
  auto& s = i->second;
  if (s.streaming) {
    if (auto j = st.streams.find(s.node); j != st.streams.end() && j->second == cid) {
      st.streams.erase(j);
      st.net->set_online(s.node, false, now_ms());
      schedule_flush(self, st);
    }
  }
  st.sessions.erase(i);
  self->close(hdl_of(cid));
}

void refuse(caf::io::broker* self, server_state& st, int64_t cid, session& s, errc code,
            std::string why) {
  TF_COUNTER("control_sessions_refused").add();
  st.cfg.log->info("control: connection {}: {}: {}", cid, to_string(code), why);
  if (s.conn.established())
    send_to(self, st, cid, s, wire::control_error{code, std::move(why)});
  close_session(self, st, cid);
}

bool empty_delta(const wire::map_response& r) {
  return !r.self && r.peers_changed.empty() && r.peers_removed.empty()
         && r.peers_changed_patch.empty() && r.online_change.empty()
         && r.peer_seen_change.empty() && r.user_profiles.empty() && !r.dns
         && r.domain.empty();
}

void flush(caf::io::broker* self, server_state& st) {
  st.flush_scheduled = false;
  auto& net = *st.net;
  if (net.pending().empty())
    return;
  auto now = now_ms();
  auto seq = ++st.seq;
  std::vector<uint8_t> shared;  // encoded once, on first use
  bool shared_built = false;
  bool shared_empty = false;
  for (auto& [node, cid] : st.streams) {
    auto i = st.sessions.find(cid);
    if (i == st.sessions.end() || i->second.alt)
      continue;
    auto& s = i->second;
    if (net.pending().touches(node) || !net.is_authorized(node)) {
      auto own = net.delta_for(node, seq, now);
      if (!empty_delta(own))
        send_to(self, st, cid, s, own);
      continue;
    }
    if (!shared_built) {
      auto d = net.shared_delta(seq, now);
      shared_empty = empty_delta(d);
      if (!shared_empty)
        wire::encode_to(d, shared);
      shared_built = true;
    }
    if (shared_empty)
      continue;
    if (auto ok = s.conn.send_encoded(shared, st.tx); ok)
      write_tx(self, st, cid);
  }
  net.clear_pending();
  TF_COUNTER("control_deltas_flushed").add();
}

void on_register(caf::io::broker* self, server_state& st, int64_t cid, session& s,
                 const wire::register_request& req) {
  auto out = st.net->register_node(s.conn.peer(), req, now_ms());
  if (out.response.error_code == errc::ok && !out.response.logged_out)
    s.node = out.node;
  if (out.response.logged_out && s.streaming) {
    // The node is gone (or logged out): its stream ends here.
    st.streams.erase(s.node);
    s.streaming = false;
  }
  send_to(self, st, cid, s, out.response);
  schedule_flush(self, st);
}

void on_map_request(caf::io::broker* self, server_state& st, int64_t cid, session& s,
                    const wire::map_request& req) {
  auto node = st.net->node_for_key(req.node_key);
  if (node == 0 || node != s.node) {
    refuse(self, st, cid, s, errc::not_authorized, "map request before registration");
    return;
  }
  if (!req.endpoints.empty() || req.omit_peers)
    if (auto ok = st.net->update_endpoints(node, req.endpoints); !ok)
      st.cfg.log->warn("control: endpoints of node {}: {}", node, ok.error().message());
  if (!req.stream) {
    schedule_flush(self, st);
    return;
  }
  if (auto old = st.streams.find(node); old != st.streams.end() && old->second != cid)
    close_session(self, st, old->second); // a reconnect replaces the old stream
  s.streaming = true;
  st.streams[node] = cid;
  auto now = now_ms();
  st.net->set_online(node, true, now);
  std::optional<wire::map_response> first;
  if (st.cfg.alt)
    first = st.cfg.alt(st.net->to_wire(*st.net->find(node)), req);
  s.alt = first.has_value();
  send_to(self, st, cid, s, first ? std::move(*first) : st.net->full_map(node, now));
  schedule_flush(self, st);
}

void on_data(caf::io::broker* self, server_state& st, int64_t cid, const std::vector<char>& buf) {
  auto i = st.sessions.find(cid);
  if (i == st.sessions.end())
    return;
  auto& s = i->second;
  control_conn::received rx;
  auto bytes = std::span{reinterpret_cast<const uint8_t*>(buf.data()), buf.size()};
  auto ok = s.conn.feed(bytes, rx);
  if (!rx.to_send.empty()) {
    st.tx.insert(st.tx.end(), rx.to_send.begin(), rx.to_send.end());
    write_tx(self, st, cid);
  }
  if (!ok) {
    TF_COUNTER("control_sessions_protocol_errors").add();
    refuse(self, st, cid, s, ok.error().code, ok.error().message());
    return;
  }
  for (auto& m : rx.messages) {
    if (!st.sessions.contains(cid))
      return;
    if (auto* reg = std::get_if<wire::register_request>(&m))
      on_register(self, st, cid, s, *reg);
    else if (auto* mr = std::get_if<wire::map_request>(&m))
      on_map_request(self, st, cid, s, *mr);
    else
      refuse(self, st, cid, s, errc::protocol_violation, "unexpected message from a node");
  }
}

void on_tick(caf::io::broker* self, server_state& st) {
  auto now = now_ms();
  for (auto id : st.net->expired_ephemerals(now)) {
    st.cfg.log->info("control: ephemeral node {} offline too long; removing", id);
    if (auto ok = st.net->delete_node(id); !ok)
      st.cfg.log->warn("control: remove node {}: {}", id, ok.error().message());
  }
  schedule_flush(self, st);
  if (now - st.last_keep_alive >= st.cfg.keep_alive.count()) {
    st.last_keep_alive = now;
    wire::map_response ka;
    ka.keep_alive = true;
    for (auto& [node, cid] : st.streams)
      if (auto i = st.sessions.find(cid); i != st.sessions.end())
        send_to(self, st, cid, i->second, ka);
  }
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), st.cfg.gc_interval, tick_atom::value);
}

// close_streams_of_deleted ends the connections of nodes an admin removed.
void close_streams_of_deleted(caf::io::broker* self, server_state& st,
                              const std::vector<wire::node_id>& deleted) {
  for (auto id : deleted)
    if (auto j = st.streams.find(id); j != st.streams.end())
      if (auto i = st.sessions.find(j->second); i != st.sessions.end())
        refuse(self, st, j->second, i->second, errc::node_not_found, "node deleted");
}

caf::behavior server_impl(caf::io::broker* self, state_ptr st, int listen_fd) {
  self->add_doorman(listen_fd);
  st->last_keep_alive = now_ms();
  caf::anon_send(caf::actor_cast<caf::actor>(self), tick_atom::value);
  return {
    [=](const caf::io::new_connection_msg& msg) {
      auto cid = msg.handle.id();
      auto conn = control_conn::server(st->net->server_key(), node_frame_max_len);
      st->sessions.emplace(cid, session{std::move(conn), {}, 0, false, false});
      self->configure_read(msg.handle, caf::io::receive_policy::at_most(64 * 1024));
    },
    [=](const caf::io::new_data_msg& msg) { on_data(self, *st, msg.handle.id(), msg.buf); },
    [=](const caf::io::connection_closed_msg& msg) {
      close_session(self, *st, msg.handle.id());
    },
    [=](const caf::io::data_transferred_msg& msg) {
      if (auto i = st->sessions.find(msg.handle.id()); i != st->sessions.end())
        i->second.writer.on_transferred(self, msg);
    },
    [=](const caf::io::acceptor_closed_msg&) {
      st->cfg.log->error("control: listening socket closed");
    },
    [=](flush_atom) { flush(self, *st); },
    [=](tick_atom) { on_tick(self, *st); },
    [=](alt_atom, wire::node_id node, wire::map_response& r) {
      auto j = st->streams.find(node);
      if (j == st->streams.end())
        return;
      if (auto i = st->sessions.find(j->second); i != st->sessions.end())
        send_to(self, *st, j->second, i->second, r);
    },
    [=](alt_atom, wire::node_id node, std::vector<wire::map_response>& batch) {
      // Back-to-back messages: one write for all of them.
      auto j = st->streams.find(node);
      if (j == st->streams.end())
        return;
      auto i = st->sessions.find(j->second);
      if (i == st->sessions.end())
        return;
      for (auto& r : batch)
        i->second.conn.queue(r);
      if (auto ok = i->second.conn.seal_queued(st->tx); ok)
        write_tx(self, *st, j->second);
    },
    [=](admin_atom, const admin_request& req) {
      std::vector<wire::node_id> deleted;
      auto res = handle_admin(*st->net, req, now_ms(), deleted);
      close_streams_of_deleted(self, *st, deleted);
      schedule_flush(self, *st);
      return res;
    },
  };
}

} // namespace

caf::actor spawn_control_server(caf::actor_system& sys, listener_socket control,
                                std::unique_ptr<control_db> db, std::unique_ptr<tailnet> net,
                                control_server_config cfg) {
  auto st = std::make_shared<server_state>();
  st->cfg = std::move(cfg);
  st->db = std::move(db);
  st->net = std::move(net);
  return sys.middleman().spawn_broker(server_impl, std::move(st), control.fd);
}

} // namespace tf::control
