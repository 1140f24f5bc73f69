// SPDX-License-Identifier: Apache-2.0
// The node actor's queries over its shards: peer lookups, status, netmap
// snapshots and statistics. Each fans out to at most K shards and gathers
// the replies; only the node actor runs this code.
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <functional>

#include "actors/errors.hpp"
#include "actors/node_internal.hpp"
#include "runtime/map_plan.hpp"
#include "runtime/node_normalize.hpp"

namespace tf::actors {

namespace {

constexpr auto query_timeout = std::chrono::seconds(10);

// gather sends `msg...` to every shard, folds the replies into a Result with
// `merge`, and answers with `finish(result)` once all shards replied (a
// shard that failed to reply is skipped).
template <class Reply, class Result, class... Ts>
caf::typed_response_promise<Result>
gather(node_pointer self, Result init, std::function<void(Result&, Reply&)> merge,
       std::function<void(Result&)> finish, Ts... msg) {
  auto rp = self->make_response_promise<Result>();
  struct accumulator {
    Result value;
    size_t left;
  };
  auto& shards = self->state.shards;
  auto acc = std::make_shared<accumulator>(accumulator{std::move(init), shards.size()});
  auto done = [=]() mutable {
    if (--acc->left != 0)
      return;
    finish(acc->value);
    rp.deliver(std::move(acc->value));
  };
  for (auto& s : shards)
    self->request(s, query_timeout, msg...)
      .then([=](Reply& r) mutable {
              merge(acc->value, r);
              done();
            },
            [=](caf::error&) mutable { done(); });
  return rp;
}

} // namespace

bus::status make_status(const node_actor_state& st) {
  bus::status s;
  s.state = st.state;
  s.self = st.self_node;
  if (st.self_node)
    for (auto& p : st.self_node->addresses)
      if (p.bits == p.addr.bit_len())
        s.tailnet_ips.push_back(p.addr);
  s.magic_dns_suffix = st.domain;
  s.num_peers = st.num_peers;
  s.last_error = st.last_error;
  return s;
}

caf::result<bus::status> status_with_peer_count(node_pointer self) {
  auto init = make_status(self->state);
  init.num_peers = 0; // counted live from the shards
  return gather<shard_stats, bus::status>(
    self, std::move(init), [](bus::status& s, shard_stats& st) { s.num_peers += st.num_peers; },
    [](bus::status&) {}, stats_atom::value);
}

caf::result<peer_hit> lookup_peer(node_pointer self, peer_query q) {
  auto& shards = self->state.shards;
  if (q.kind == peer_query::by::id)
    return self->delegate(shards[shard_of(q.id, shards.size())], lookup_atom::value, q);
  if (q.kind == peer_query::by::name)
    q.name = magic_dns_fqdn(q.name, self->state.domain);
  if (q.kind == peer_query::by::addr)
    q.addr = q.addr.unmap();
  return gather<peer_hit, peer_hit>(
    self, peer_hit{},
    [](peer_hit& best, peer_hit& h) {
      // Two shards may both claim an address or name while control moves it
      // between peers: the newest mutation wins.
      if (h.rec && (!best.rec || h.gen > best.gen
                    || (h.gen == best.gen && h.rec->id() > best.rec->id())))
        best = std::move(h);
    },
    [](peer_hit&) {}, lookup_atom::value, q);
}

caf::result<bus::netmap_snapshot> netmap_snapshot(node_pointer self) {
  auto& st = self->state;
  bus::netmap_snapshot init;
  init.self = st.self_node;
  init.domain = st.domain;
  init.dns = st.dns;
  return gather<std::vector<peer_ref>, bus::netmap_snapshot>(
    self, std::move(init),
    [](bus::netmap_snapshot& nm, std::vector<peer_ref>& part) {
      nm.peers.insert(nm.peers.end(), std::make_move_iterator(part.begin()),
                      std::make_move_iterator(part.end()));
    },
    [](bus::netmap_snapshot& nm) {
      std::sort(nm.peers.begin(), nm.peers.end(),
                [](const peer_ref& a, const peer_ref& b) { return a->id() < b->id(); });
    },
    snapshot_atom::value);
}

caf::result<std::vector<shard_stats>> shard_statistics(node_pointer self) {
  return gather<shard_stats, std::vector<shard_stats>>(
    self, std::vector<shard_stats>{},
    [](std::vector<shard_stats>& all, shard_stats& s) { all.push_back(s); },
    [](std::vector<shard_stats>&) {}, stats_atom::value);
}

} // namespace tf::actors
