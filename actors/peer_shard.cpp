// SPDX-License-Identifier: Apache-2.0
// The shard actor's behaviour. Its peer_table, profiles, watchers and
// awaiters are touched only by this actor.
#include "actors/peer_shard.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include "actors/send_from.hpp"
#include "runtime/bus_interest.hpp"
#include "runtime/counters.hpp"
#include "runtime/peer_table.hpp"

namespace tf::actors {

namespace {

// A watcher whose notifies go to an actor starts out sending them through
// the watcher (which holds back changes until its first notify is out) and
// then, at the watcher's request, to that actor directly: one hop fewer per
// notify. The switch keeps this shard's notifies in order: on the request
// the shard holds new notifies and sends the watcher a marker; when the
// marker comes back, the watcher has passed on everything sent before it,
// and the held notifies go out directly, first.
struct shard_watcher {
  enum class path { via_watcher, holding, direct };

  watcher_actor handle;
  bus::watch_mask mask = 0;
  std::shared_ptr<bus::watch_flow> flow;
  path route = path::via_watcher;
  caf::actor sink;                 // holding, direct: where notifies go
  std::vector<bus::notify> held;   // holding: not sent yet, in order
};

struct peer_shard_state {
  static inline const char* name = "tf.peer_shard";

  size_t index = 0;
  std::shared_ptr<credit_window> credit;
  peer_table table;
  absl::flat_hash_map<wire::user_id, profile_ptr> profiles;  // never pruned
  absl::flat_hash_map<uint64_t, shard_watcher> watchers;
  bus::interest_table interest;
  absl::flat_hash_map<wire::node_id, std::vector<caf::actor>> awaiting;
  std::shared_ptr<peer_link> link;  // the node's data path (null: none yet)
  shard_stats stats;

  // Per-delta scratch: what a delta message touches (for prefetch), and
  // the notify being built for each matched watcher.
  batch_prefetch prefetch;
  std::vector<std::pair<uint64_t, bus::notify>> outbox;
  std::vector<bus::watcher_id> matched;

  void store_profiles(const std::vector<profile_ptr>& ps) {
    for (auto& p : ps)
      if (p)
        profiles[p->id] = p;
  }

  profile_ptr profile_of(const peer_record& r) const {
    auto i = profiles.find(r.user());
    return i == profiles.end() ? nullptr : i->second;
  }

  bus::notify& outbox_for(uint64_t w) {
    for (auto& [id, n] : outbox)
      if (id == w)
        return n;
    return outbox.emplace_back(w, bus::notify{}).second;
  }

  // route calls `add(notify&, mask)` for every watcher interested in `r`.
  template <class F>
  void route(const peer_record& r, F&& add) {
    if (interest.empty())
      return;
    matched.clear();
    interest.matches(r, matched);
    for (auto w : matched) {
      auto i = watchers.find(w);
      if (i != watchers.end())
        add(outbox_for(w), i->second.mask);
    }
  }

  void add_profile_once(bus::notify& n, const peer_record& r) {
    auto p = profile_of(r);
    if (!p)
      return;
    for (auto& have : n.user_profiles)
      if (have.id == p->id)
        return;
    n.user_profiles.push_back(*p);
  }
};

using shard_pointer = peer_shard_actor::stateful_pointer<peer_shard_state>;

// send_notify hands one notify to watcher `w` by its current path. False
// if the watcher is gone (its flow closed, or it lagged and was told).
bool send_notify(shard_pointer self, uint64_t w, shard_watcher& sw, bus::notify&& n) {
  auto& st = self->state;
  auto admitted = bus::watch_flow::admit::closed;
  switch (sw.route) {
    case shard_watcher::path::holding:
      if (sw.held.size() < static_cast<size_t>(bus::max_pending)) {
        sw.held.push_back(std::move(n));
        return true;
      }
      admitted = sw.flow->close_lagging() ? bus::watch_flow::admit::send_terminal_error
                                          : bus::watch_flow::admit::closed;
      break;
    case shard_watcher::path::via_watcher:
      admitted = sw.flow->admit_and_send(
        [&] { self->send(sw.handle, notify_atom::value, std::move(n)); });
      break;
    case shard_watcher::path::direct:
      admitted = sw.flow->admit_and_send([&] {
        tell_as(self, sw.sink, notify_atom::value, std::move(n), bus::flow_ticket{sw.flow});
      });
      break;
  }
  switch (admitted) {
    case bus::watch_flow::admit::send:
      ++st.stats.notifies_sent;
      return true;
    case bus::watch_flow::admit::send_terminal_error:
      // Through the watcher, behind everything admitted before the close.
      TF_COUNTER("bus_watchers_closed_lagging").add();
      self->send(sw.handle, lagged_atom::value);
      [[fallthrough]];
    case bus::watch_flow::admit::closed:
      st.interest.remove(w);
      return false;
  }
  return false;
}

void send_outbox(shard_pointer self) {
  auto& st = self->state;
  for (auto& [w, n] : st.outbox) {
    auto i = st.watchers.find(w);
    if (i != st.watchers.end() && !send_notify(self, w, i->second, std::move(n)))
      st.watchers.erase(i);
  }
  st.outbox.clear();
}

// start_direct: the watcher `w` asks for its notifies to go to `sink`.
void start_direct(shard_pointer self, uint64_t w, caf::actor& sink) {
  auto& st = self->state;
  auto i = st.watchers.find(w);
  if (i == st.watchers.end() || i->second.route != shard_watcher::path::via_watcher || !sink)
    return;
  i->second.sink = std::move(sink);
  i->second.route = shard_watcher::path::holding;
  self->send(i->second.handle, drained_atom::value);
}

// finish_direct: the marker is back; what this shard held goes out first.
void finish_direct(shard_pointer self, uint64_t w) {
  auto& st = self->state;
  auto i = st.watchers.find(w);
  if (i == st.watchers.end() || i->second.route != shard_watcher::path::holding)
    return;
  auto& sw = i->second;
  sw.route = shard_watcher::path::direct;
  auto held = std::move(sw.held);
  sw.held.clear();
  for (auto& n : held)
    if (!send_notify(self, w, sw, std::move(n))) {
      st.watchers.erase(i);
      return;
    }
}

void wake_awaiters(shard_pointer self, wire::node_id id) {
  auto& st = self->state;
  auto i = st.awaiting.find(id);
  if (i == st.awaiting.end())
    return;
  for (auto& a : i->second)
    tell_as(self, a, visible_atom::value, id);
  st.awaiting.erase(i);
}

void apply_batch(shard_pointer self, shard_batch& batch) {
  auto& st = self->state;
  for (auto id : batch.removes) {
    auto gone = st.table.remove(id);
    if (!gone) {
      ++st.stats.unknown_ids;
      TF_COUNTER("peer_remove_unknown_id").add();
      continue;
    }
    ++st.stats.removes;
    if (st.link)
      st.link->removed(id);
    st.route(*gone, [&](bus::notify& n, bus::watch_mask) { n.peers_removed.push_back(id); });
  }
  for (auto& rec : batch.upserts) {
    st.table.upsert(rec, batch.gen);
    ++st.stats.upserts;
    if (st.link)
      st.link->upserted(rec);
    st.route(*rec, [&](bus::notify& n, bus::watch_mask) {
      n.peers_changed.push_back(rec);
      st.add_profile_once(n, *rec);
    });
    wake_awaiters(self, rec->id());
  }
  for (auto& change : batch.patches) {
    auto rec = st.table.patch(change, batch.gen);
    if (!rec) {
      ++st.stats.unknown_ids;
      TF_COUNTER("peer_patch_unknown_id").add();
      continue;
    }
    ++st.stats.patches;
    if (st.link)
      st.link->upserted(rec);
    st.route(*rec, [&](bus::notify& n, bus::watch_mask m) {
      // Without the patch bit, a patch is promoted to the whole new peer.
      if (m & bus::notify_peer_patches)
        n.peer_patches.push_back(change);
      else
        n.peers_changed.push_back(rec);
    });
  }
  ++st.stats.deltas_applied;
  send_outbox(self); // one notify per map response and watcher
}

void apply_delta(shard_pointer self, shard_delta& d) {
  auto& st = self->state;
  st.store_profiles(d.profiles);
  // Overlap the cache misses of everything the message touches (several
  // deltas of a stream, or the index slots of one delta's peers); below
  // peer_table::prefetch_min_peers the table fits a cache and this does
  // nothing. For one delta at 250k peers: 0.2-0.4 us less per
  // giant_tailnet op in eight of eight in-run A/B runs.
  for (auto& batch : d.batches)
    st.prefetch.add(batch);
  st.prefetch.run(st.table);
  for (auto& batch : d.batches)
    apply_batch(self, batch);
}

// load_part applies one part of a full netmap. Interested watchers hear
// how the map differs from what the shard held (a reconnect may have missed
// removals); the last part drops the peers the map no longer has.
void load_part(shard_pointer self, shard_load& l) {
  auto& st = self->state;
  st.store_profiles(l.profiles);
  if (l.part == 0)
    st.table.begin_load(l.expected);
  for (auto& rec : l.peers) {
    auto what = st.table.upsert(rec, l.gen);
    if (what != peer_table::upsert_result::unchanged && st.link)
      st.link->upserted(rec);
    if (what != peer_table::upsert_result::unchanged)
      st.route(*rec, [&](bus::notify& n, bus::watch_mask) {
        n.peers_changed.push_back(rec);
        st.add_profile_once(n, *rec);
      });
    wake_awaiters(self, rec->id());
  }
  if (l.last) {
    st.table.remove_older_than(l.gen, [&](const peer_record& gone) {
      if (st.link)
        st.link->removed(gone.id());
      st.route(gone, [&](bus::notify& n, bus::watch_mask) {
        n.peers_removed.push_back(gone.id());
      });
    });
    ++st.stats.full_loads;
  }
  send_outbox(self);
}

void register_watcher(shard_pointer self, watcher_registration& reg) {
  auto& st = self->state;
  if (reg.want_snapshot) {
    initial_part part;
    part.watcher_id = reg.id;
    part.peers.reserve(st.table.size());
    absl::flat_hash_map<wire::user_id, bool> seen_users;
    st.table.for_each([&](const peer_table::entry& e) {
      part.peers.push_back(e.rec);
      if (seen_users.emplace(e.rec->user(), true).second)
        if (auto p = st.profile_of(*e.rec))
          part.profiles.push_back(p);
    });
    self->send(reg.handle, part_atom::value, std::move(part));
  } else if (reg.want_changes) {
    initial_part part;
    part.watcher_id = reg.id;
    self->send(reg.handle, part_atom::value, std::move(part));
  }
  if (reg.want_changes) {
    st.interest.add(reg.id, reg.interest);
    auto& sw = st.watchers[reg.id];
    sw.handle = reg.handle;
    sw.mask = reg.mask;
    sw.flow = std::move(reg.flow);
  }
}

peer_hit lookup(const peer_shard_state& st, const peer_query& q) {
  const peer_table::entry* e = nullptr;
  switch (q.kind) {
    case peer_query::by::id: e = st.table.find(q.id); break;
    case peer_query::by::addr: e = st.table.find_by_addr(q.addr); break;
    case peer_query::by::key: e = st.table.find_by_key(q.key); break;
    case peer_query::by::name: e = st.table.find_by_name(q.name); break;
  }
  if (!e)
    return {};
  return peer_hit{e->rec, e->gen, st.profile_of(*e->rec)};
}

// finished returns one credit to the session that sent the current message.
void finished(shard_pointer self) {
  if (self->state.credit && self->state.credit->consumed())
    caf::anon_send(caf::actor_cast<caf::actor>(self->current_sender()), resume_atom::value);
}

peer_shard_actor::behavior_type peer_shard_impl(shard_pointer self, size_t index,
                                                std::shared_ptr<credit_window> credit) {
  self->state.index = index;
  self->state.credit = std::move(credit);
  return {
    [=](load_atom, shard_load& l) {
      load_part(self, l);
      finished(self);
    },
    [=](apply_atom, shard_delta& d) {
      apply_delta(self, d);
      finished(self);
    },
    [=](profiles_atom, std::vector<profile_ptr>& ps) {
      self->state.store_profiles(ps);
      finished(self);
    },
    [=](lookup_atom, const peer_query& q) { return lookup(self->state, q); },
    [=](link_atom, std::shared_ptr<peer_link>& l) { self->state.link = std::move(l); },
    [=](resolve_atom, const peer_query& q, uint64_t request) {
      if (self->state.link)
        self->state.link->answer(request, lookup(self->state, q).rec);
    },
    [=](snapshot_atom) {
      std::vector<peer_ref> out;
      out.reserve(self->state.table.size());
      self->state.table.for_each([&](const peer_table::entry& e) { out.push_back(e.rec); });
      return out;
    },
    [=](watch_atom, watcher_registration& reg) { register_watcher(self, reg); },
    [=](unwatch_atom, uint64_t id) {
      self->state.interest.remove(id);
      self->state.watchers.erase(id);
    },
    [=](direct_atom, uint64_t id, caf::actor& sink) { start_direct(self, id, sink); },
    [=](drained_atom, uint64_t id) { finish_direct(self, id); },
    [=](await_atom, wire::node_id id, const caf::actor& who) {
      if (self->state.table.find(id))
        caf::anon_send(who, visible_atom::value, id);
      else
        self->state.awaiting[id].push_back(who);
    },
    [=](stats_atom) {
      auto& st = self->state;
      auto s = st.stats;
      s.num_peers = st.table.size();
      s.index_bytes = st.table.index_bytes();
      s.record_bytes = st.table.record_bytes();
      s.evictions_skipped = st.table.evictions_skipped();
      s.num_watchers = st.watchers.size();
      s.num_profiles = st.profiles.size();
      return s;
    },
  };
}

} // namespace

peer_shard_actor spawn_peer_shard(caf::actor_system& sys, size_t index,
                                  std::shared_ptr<credit_window> credit) {
  return sys.spawn(peer_shard_impl, index, std::move(credit));
}

} // namespace tf::actors
