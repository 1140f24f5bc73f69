// SPDX-License-Identifier: Apache-2.0
// The node actor's lifecycle: load identity, resolve control, run the
// session, follow the backend state, close (logging ephemeral nodes out).
// Queries live in node_queries.cpp. Only the node actor touches its state.
#include "actors/node.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/control_session.hpp"
#include "actors/errors.hpp"
#include "actors/node_internal.hpp"
#include "actors/peer_shard.hpp"
#include "runtime/counters.hpp"
#include "runtime/node_state.hpp"

#include <algorithm>
#include <thread>

namespace tf::actors {

namespace {

using namespace std::chrono;

// shard_window bounds the messages (each up to one 64 KiB read of deltas)
// the control session may have queued at one shard.
constexpr int32_t shard_window = 16;

void publish(node_pointer self, bus::notify n) {
  self->send(self->state.bus, publish_atom::value, std::move(n));
}

void update_view(node_pointer self) {
  auto& st = self->state;
  node_view v;
  v.state = st.state;
  v.self = st.self_node;
  v.domain = st.domain;
  v.dns = st.dns;
  v.status = std::make_shared<const bus::status>(make_status(st));
  self->send(st.bus, view_atom::value, std::move(v));
}

void answer_up_waiters(node_pointer self) {
  auto& st = self->state;
  if (st.state != ipn_state::running && !st.fatal)
    return;
  for (auto& rp : st.up_waiters) {
    if (st.fatal)
      rp.deliver(to_caf(make_error(st.fatal_code, st.last_error)));
    else
      rp.deliver(make_status(st));
  }
  st.up_waiters.clear();
}

void refresh_state(node_pointer self) {
  auto& st = self->state;
  st.facts.current = st.state;
  auto next = next_state(st.facts);
  if (next != st.state) {
    st.cfg.log->info("state {} -> {}", to_string(st.state), to_string(next));
    st.state = next;
    update_view(self);
    bus::notify n;
    n.state = next;
    publish(self, std::move(n));
  }
  answer_up_waiters(self);
}

void fail_fatal(node_pointer self, const failure& f) {
  auto& st = self->state;
  st.fatal = true;
  st.fatal_code = f.code;
  st.last_error = f.message();
  st.cfg.user_log->error("{}", st.last_error);
  bus::notify n;
  n.err_message = st.last_error;
  publish(self, std::move(n));
  refresh_state(self);
  answer_up_waiters(self);
}

// resolve_control_async looks the control endpoint up and sends the
// outcome to the node as (key_atom, resolved_control).
void resolve_control_async(node_pointer self, milliseconds delay = milliseconds{0}) {
  auto& st = self->state;
  if (auto cached = cached_control(st.cfg.control_url);
      delay.count() == 0 && cached && (!st.cfg.control_key || *st.cfg.control_key == cached->key)) {
    self->send(self, key_atom::value, resolved_control{*cached});
    return;
  }
  // The lookup blocks (HTTP, DNS): give it a thread of its own.
  node_actor me = self;
  auto url = st.cfg.control_url;
  auto pinned = st.cfg.control_key;
  auto timeout = st.cfg.control_timeout;
  // `delay` is a spawn argument, not a capture: CAF 0.17 dereferences a null
  // argument tuple when a function actor has no arguments, which the
  // sanitizer build (TF_SANITIZE: -fno-sanitize-recover=undefined) aborts on.
  self->system().spawn<caf::detached>(
    [me, url, pinned, timeout](caf::event_based_actor* fetcher, milliseconds delay) {
      std::this_thread::sleep_for(delay);
      fetcher->send(me, key_atom::value, resolved_control{resolve_control(url, pinned, timeout)});
      fetcher->quit();
    },
    delay);
}

wire::register_request make_registration(const node_actor_state& st, bool with_auth_key) {
  wire::register_request r;
  r.node_key = st.node_key.public_key();
  if (with_auth_key)
    r.auth_key = st.cfg.auth_key;
  r.ephemeral = st.cfg.ephemeral;
  r.host.hostname = st.cfg.hostname;
  r.host.os = "linux";
  r.host.request_tags = st.cfg.advertise_tags;
  std::sort(r.host.request_tags.begin(), r.host.request_tags.end());
  r.host.request_tags.erase(std::unique(r.host.request_tags.begin(), r.host.request_tags.end()),
                            r.host.request_tags.end());
  if (st.old_node_key)
    r.old_node_key = st.old_node_key->public_key();
  return r;
}

void start_session(node_pointer self, const control_endpoint& ep) {
  auto& st = self->state;
  control_session_config cfg;
  cfg.node = caf::actor_cast<caf::actor>(self);
  cfg.shards = st.shards;
  cfg.credits = st.credits;
  cfg.host = ep.host;
  cfg.port = ep.port;
  cfg.machine_key = st.persisted->machine_key;
  cfg.server_key = ep.key;
  cfg.registration = make_registration(st, st.use_auth_key);
  cfg.log = st.cfg.log;
  if (st.cfg.tunnel)
    cfg.endpoints = st.cfg.tunnel->local_endpoints();
  st.session = spawn_control_session(self->system(), std::move(cfg));
}

// begin loads the node's identity and decides how it joins.
void begin(node_pointer self) {
  auto& st = self->state;
  auto loaded = load_node_state(*st.cfg.store);
  if (!loaded) {
    st.facts.store_healthy = false;
    fail_fatal(self, loaded.error());
    return;
  }
  st.persisted = std::move(*loaded);
  auto& enrolled = st.persisted->enrolled;
  bool same_control = enrolled && enrolled->control_url == st.cfg.control_url;
  if (same_control && !st.cfg.force_login) {
    st.node_key = enrolled->node_key;
    st.facts.has_node_key = true;
    if (!st.cfg.auth_key.empty())
      st.cfg.user_log->info("Authkey is set; but state is {}. Ignoring authkey. Re-run with "
                            "TSNET_FORCE_LOGIN=1 to force use of authkey.",
                            to_string(next_state(st.facts)));
  } else {
    if (same_control)
      st.old_node_key = enrolled->node_key; // forced login rotates the key
    st.node_key = node_private_key::generate();
    if (st.cfg.auth_key.empty()) {
      st.facts.login_pending = true;
      refresh_state(self);
      st.cfg.user_log->warn("To start this tailfleet node, restart with TS_AUTHKEY set "
                            "(this control server has no interactive login).");
      return;
    }
    st.use_auth_key = true;
    st.facts.login_pending = true;
  }
  refresh_state(self);
  resolve_control_async(self);
}

void on_registered(node_pointer self, const wire::register_response& r) {
  auto& st = self->state;
  enrollment e;
  e.node_key = st.node_key;
  e.node_id = r.id;
  e.stable_id = r.stable_id;
  e.control_url = st.cfg.control_url;
  e.user = r.user;
  if (st.persisted->enrolled)
    e.name = st.persisted->enrolled->name;
  if (auto ok = save_enrollment(*st.cfg.store, e); !ok) {
    fail_fatal(self, ok.error());
    return;
  }
  st.persisted->enrolled = e;
  st.old_node_key.reset();
  st.facts.login_pending = false;
  st.facts.logged_out = false;
  st.facts.has_node_key = true;
  st.facts.machine_authorized = r.machine_authorized;
  bus::notify n;
  n.login_finished = true;
  publish(self, std::move(n));
  refresh_state(self);
}

void on_self(node_pointer self, control_event& ev) {
  auto& st = self->state;
  if (ev.self) {
    st.self_node = ev.self;
    st.facts.machine_authorized = ev.self->machine_authorized;
    auto& en = st.persisted->enrolled;
    if (en && en->name != ev.self->name) {
      en->name = ev.self->name;
      if (auto ok = save_enrollment(*st.cfg.store, *en); !ok)
        st.cfg.log->warn("cannot persist name: {}", ok.error().message());
    }
  }
  if (!ev.domain.empty())
    st.domain = ev.domain;
  if (ev.dns)
    st.dns = *ev.dns;
  update_view(self);
  if (ev.self) {
    bus::notify n;
    n.self_change = st.self_node;
    publish(self, std::move(n));
  }
}

void on_control(node_pointer self, control_event& ev) {
  auto& st = self->state;
  switch (ev.what) {
    case control_event::kind::connected:
      st.cfg.log->debug("control: connected");
      break;
    case control_event::kind::registered:
      on_registered(self, ev.reg);
      break;
    case control_event::kind::fatal:
      if (ev.err.code == errc::handshake_failed && !st.cfg.control_key) {
        // The server's key may have changed: look it up again.
        st.last_error = ev.err.message();
        st.cfg.log->info("control: {}; looking the server key up again", st.last_error);
        forget_control(st.cfg.control_url);
        self->send_exit(st.session, caf::exit_reason::user_shutdown);
        st.session = nullptr;
        resolve_control_async(self, seconds(1));
        break;
      }
      if (ev.err.code == errc::auth_key_invalid || ev.err.code == errc::auth_key_used
          || ev.err.code == errc::auth_key_expired || ev.err.code == errc::auth_key_missing)
        st.facts.login_pending = true;
      fail_fatal(self, ev.err);
      break;
    case control_event::kind::netmap:
      st.num_peers = ev.num_peers;
      st.facts.have_netmap = true;
      on_self(self, ev);
      sync_data_plane(self); // before Running is announced: up() may dial
      refresh_state(self);
      st.cfg.user_log->info("{}: {} with {} peers", st.cfg.hostname, to_string(st.state),
                            ev.num_peers);
      break;
    case control_event::kind::self_changed:
      on_self(self, ev);
      sync_data_plane(self);
      refresh_state(self);
      break;
    case control_event::kind::disconnected:
      st.last_error = ev.err.message();
      st.cfg.log->info("control: {}; reconnecting", st.last_error);
      break;
    case control_event::kind::logged_out:
      st.facts.logged_out = true;
      st.facts.have_netmap = false;
      if (!st.cfg.ephemeral)
        if (auto ok = clear_enrollment(*st.cfg.store); !ok)
          st.cfg.log->warn("cannot clear enrollment: {}", ok.error().message());
      refresh_state(self);
      break;
  }
}

void shutdown(node_pointer self) {
  auto& st = self->state;
  sync_data_plane(self); // closing: detaches
  if (st.session)
    self->send_exit(st.session, caf::exit_reason::user_shutdown);
  for (auto& s : st.shards)
    self->send_exit(s, caf::exit_reason::user_shutdown);
  self->send_exit(st.bus, caf::exit_reason::user_shutdown);
  for (auto& rp : st.up_waiters)
    rp.deliver(to_caf(make_error(errc::closed, "node closed")));
  st.up_waiters.clear();
  self->quit();
}

caf::result<bool> close_node(node_pointer self) {
  auto& st = self->state;
  if (st.closing)
    return to_caf(make_error(errc::closed, "close already called"));
  st.closing = true;
  st.facts.want_running = false;
  if (!(st.cfg.ephemeral && st.session)) {
    shutdown(self);
    return true;
  }
  // Ephemeral nodes log out, so control deletes them at once (tsnet does
  // the same with a 5 s budget).
  auto rp = self->make_response_promise<bool>();
  self->request(st.session, st.cfg.logout_timeout, logout_atom::value)
    .then(
      [=](bool ok) mutable {
        if (!ok)
          self->state.cfg.log->warn("logout refused or connection down");
        shutdown(self);
        rp.deliver(ok);
      },
      [=](caf::error& err) mutable {
        self->state.cfg.log->warn("logout: {}", self->system().render(err));
        shutdown(self);
        rp.deliver(false);
      });
  return rp;
}

node_actor::behavior_type node_impl(node_pointer self, node_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  for (size_t i = 0; i < std::max<size_t>(st.cfg.num_shards, 1); ++i) {
    st.credits.push_back(std::make_shared<credit_window>(shard_window));
    st.shards.push_back(spawn_peer_shard(self->system(), i, st.credits.back()));
  }
  st.bus = spawn_bus(self->system(), st.shards);
  begin(self);
  return {
    [=](up_atom) -> caf::result<bus::status> {
      auto& st = self->state;
      if (st.fatal)
        return to_caf(make_error(st.fatal_code, st.last_error));
      if (st.closing)
        return to_caf(make_error(errc::closed, "node closed"));
      if (st.state == ipn_state::running)
        return make_status(st);
      auto rp = self->make_response_promise<bus::status>();
      st.up_waiters.push_back(rp);
      return rp;
    },
    [=](close_atom) { return close_node(self); },
    [=](status_atom) { return status_with_peer_count(self); },
    [=](lookup_atom, peer_query& q) { return lookup_peer(self, std::move(q)); },
    [=](snapshot_atom) { return netmap_snapshot(self); },
    [=](watch_atom, watch_request& req) {
      return self->delegate(self->state.bus, watch_atom::value, std::move(req));
    },
    [=](unwatch_atom, uint64_t id) { self->send(self->state.bus, unwatch_atom::value, id); },
    [=](control_atom, control_event& ev) { on_control(self, ev); },
    [=](key_atom, resolved_control& rc) {
      auto& st = self->state;
      if (st.closing)
        return;
      if (!rc.endpoint) {
        auto& err = rc.endpoint.error();
        if (err.code == errc::bad_key || err.code == errc::invalid_argument) {
          fail_fatal(self, err);
          return;
        }
        st.last_error = err.message();
        st.cfg.user_log->warn("control {}: {}; retrying", st.cfg.control_url, st.last_error);
        resolve_control_async(self, seconds(1));
        return;
      }
      start_session(self, *rc.endpoint);
    },
    [=](await_atom, wire::node_id id, caf::actor& who) {
      auto& shards = self->state.shards;
      self->send(shards[shard_of(id, shards.size())], await_atom::value, id, std::move(who));
    },
    [=](resolve_atom, const tunnel::resolve_request& req) { resolve_for_tunnel(self, req); },
    [=](dataplane_atom) -> caf::result<uint64_t> {
      if (self->state.stack_id == 0)
        return to_caf(make_error(errc::not_running, "the node has no tailnet address yet"));
      return self->state.stack_id;
    },
    [=](stats_atom) { return shard_statistics(self); },
  };
}

} // namespace

node_actor spawn_node(caf::actor_system& sys, node_config cfg) {
  return sys.spawn(node_impl, std::move(cfg));
}

} // namespace tf::actors
