// SPDX-License-Identifier: Apache-2.0
// The node actor's side of the data plane: attaching to its tunnel once
// control gave it addresses (and again when they change), detaching when it
// closes, and fanning the tunnel's peer lookups out to the shards. Only the
// node actor runs this.
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/node_internal.hpp"
#include "runtime/counters.hpp"

namespace tf::actors {

namespace {

void detach(node_pointer self) {
  auto& st = self->state;
  if (st.stack_id == 0)
    return;
  st.cfg.tunnel->detach(st.stack_id);
  st.stack_id = 0;
  st.attached_v4 = {};
  st.attached_v6 = {};
}

} // namespace

void sync_data_plane(node_pointer self) {
  auto& st = self->state;
  if (!st.cfg.tunnel)
    return;
  if (st.closing || !st.self_node) {
    detach(self);
    return;
  }
  ip_addr v4;
  ip_addr v6;
  for (auto& p : st.self_node->addresses) {
    if (p.addr.is_v4() && !v4.valid())
      v4 = p.addr;
    else if (p.addr.is_v6() && !v6.valid())
      v6 = p.addr;
  }
  if (st.stack_id != 0 && v4 == st.attached_v4 && v6 == st.attached_v6)
    return;
  detach(self);
  if (!v4.valid())
    return;
  tunnel::node_binding b;
  b.key = st.node_key;
  b.v4 = v4;
  b.v6 = v6;
  b.answers_per_request = st.shards.size();
  b.in_memory_peers = st.cfg.in_memory_peers;
  node_actor me = self;
  b.resolve = [me](const tunnel::resolve_request& req) {
    caf::anon_send(me, resolve_atom::value, req);
  };
  auto att = st.cfg.tunnel->attach(std::move(b));
  if (!att) {
    TF_COUNTER("node_dataplane_attach_failed").add();
    st.cfg.user_log->error("{}: data plane: {}", st.cfg.hostname, att.error().message());
    return;
  }
  st.stack_id = att->stack_id;
  st.attached_v4 = v4;
  st.attached_v6 = v6;
  for (auto& s : st.shards)
    self->send(s, link_atom::value, att->link);
  st.cfg.log->info("data plane: attached as {} (UDP port {})", v4.to_string(),
                   st.cfg.tunnel->port());
}

void resolve_for_tunnel(node_pointer self, const tunnel::resolve_request& req) {
  auto q = req.by_key ? peer_query::of_key(req.key) : peer_query::of_addr(req.addr);
  for (auto& s : self->state.shards)
    self->send(s, resolve_atom::value, q, req.id);
}

} // namespace tf::actors
