// SPDX-License-Identifier: Apache-2.0
// Helpers for tests of the actor face of netstack: what a scoped owner
// receives (one event per message), and two event-based owners, an echo
// server and a stream client. Each owner's state is touched only by itself;
// results leave through std::promise.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <vector>

#include "actors/errors.hpp"
#include "actors/net_conn.hpp"
#include "actors/net_listener.hpp"
#include "tests/netstack/stream_util.hpp"

namespace tf::actors::testing {

using go_atom = caf::atom_constant<caf::atom("go")>;

/// code_of is the errc of a closed message's reason (ok when empty).
inline errc code_of(const caf::error& e) {
  return e ? from_caf(e).code : errc::ok;
}

/// event is one message a scoped owner received.
struct event {
  enum kind_t { none, accept, data, eof, closed, listener_closed, down };
  kind_t kind = none;  // none: nothing came in time
  net_conn_actor conn;
  net_listener_actor listener;
  std::vector<uint8_t> bytes;
  caf::error err;
  caf::actor_addr source;  // of a down message
};

/// next waits at most `limit` for the owner's next message. An accept
/// request is answered (accepted) on return from the handler.
inline event next(caf::scoped_actor& self, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  event ev;
  self->receive(
    [&](accept_atom, net_conn_actor c) {
      ev.kind = event::accept;
      ev.conn = std::move(c);
    },
    [&](data_atom, net_conn_actor c, std::vector<uint8_t>& b) {
      ev.kind = event::data;
      ev.conn = std::move(c);
      ev.bytes = std::move(b);
    },
    [&](eof_atom, net_conn_actor c) {
      ev.kind = event::eof;
      ev.conn = std::move(c);
    },
    [&](closed_atom, net_conn_actor c, caf::error& e) {
      ev.kind = event::closed;
      ev.conn = std::move(c);
      ev.err = std::move(e);
    },
    [&](closed_atom, net_listener_actor l, caf::error& e) {
      ev.kind = event::listener_closed;
      ev.listener = std::move(l);
      ev.err = std::move(e);
    },
    [&](caf::down_msg& d) {
      ev.kind = event::down;
      ev.source = d.source;
    },
    caf::after(limit) >> [&] { ev.kind = event::none; });
  return ev;
}

/// echo_server writes back every chunk and acks it only once the write was
/// queued (end-to-end back-pressure), shuts down on EOF, reports the first
/// connection's closed reason and ends.
inline caf::behavior echo_server(caf::event_based_actor* self,
                                 std::shared_ptr<std::promise<caf::error>> done) {
  return {
    [=](accept_atom, const net_conn_actor&) {},
    [=](data_atom, net_conn_actor c, std::vector<uint8_t>& bytes) {
      auto n = static_cast<uint64_t>(bytes.size());
      self->request(c, caf::infinite, write_atom::value, std::move(bytes))
        .then([=](uint64_t) { self->send(c, ack_atom::value, n); }, [](caf::error&) {});
    },
    [=](eof_atom, net_conn_actor c) { self->send(c, shutdown_atom::value); },
    [=](closed_atom, const net_conn_actor&, caf::error& e) {
      done->set_value(e);
      self->quit();
    },
    [=](closed_atom, const net_listener_actor&, caf::error&) {},
  };
}

/// client_report is what stream_client saw.
struct client_report {
  uint64_t sent_hash = 0;
  uint64_t received_hash = 0;
  size_t received = 0;
  size_t max_writes_in_flight = 0;
  caf::error reason;
};

struct stream_client_state {
  netstack::testing::stream gen{0};
  netstack::testing::fnv sent;
  netstack::testing::fnv received;
  size_t total = 0;
  size_t written = 0;
  size_t num_received = 0;
  size_t in_flight = 0;
  size_t max_in_flight = 0;
  bool shut = false;
  net_conn_actor conn;
  std::shared_ptr<std::promise<client_report>> done;
};

using stream_client_pointer = caf::stateful_actor<stream_client_state>*;

/// write_more keeps at most two writes of 64 KiB in flight, then shuts down.
inline void write_more(stream_client_pointer self) {
  auto& st = self->state;
  while (st.in_flight < 2 && st.written < st.total) {
    std::vector<uint8_t> buf(std::min<size_t>(64 * 1024, st.total - st.written));
    st.gen.fill(buf);
    st.sent.add(buf);
    st.written += buf.size();
    st.max_in_flight = std::max(st.max_in_flight, ++st.in_flight);
    self->request(st.conn, caf::infinite, write_atom::value, std::move(buf))
      .then(
        [=](uint64_t) {
          --self->state.in_flight;
          write_more(self);
        },
        [](caf::error&) {});
  }
  if (st.written == st.total && !st.shut) {
    st.shut = true;
    self->send(st.conn, shutdown_atom::value); // FIN after the queued writes
  }
}

/// stream_client sends `total` bytes of stream(seed) over the connection it
/// gets with (go_atom, conn), hashes what comes back, acks it at once, and
/// reports when the connection closed.
inline caf::behavior stream_client(stream_client_pointer self, uint64_t seed, size_t total,
                                   std::shared_ptr<std::promise<client_report>> done) {
  self->state.gen = netstack::testing::stream(seed);
  self->state.total = total;
  self->state.done = std::move(done);
  return {
    [=](go_atom, net_conn_actor c) {
      self->state.conn = std::move(c);
      write_more(self);
    },
    [=](data_atom, net_conn_actor c, std::vector<uint8_t>& b) {
      self->state.received.add(b);
      self->state.num_received += b.size();
      self->send(c, ack_atom::value, static_cast<uint64_t>(b.size()));
    },
    [=](eof_atom, const net_conn_actor&) {},
    [=](closed_atom, const net_conn_actor&, caf::error& e) {
      auto& st = self->state;
      st.done->set_value(client_report{st.sent.h, st.received.h, st.num_received,
                                       st.max_in_flight, e});
      self->quit();
    },
  };
}

} // namespace tf::actors::testing
