// SPDX-License-Identifier: Apache-2.0
// Every atom of tailfleet's actors, in one place (CAF 0.17 atoms: at most 10
// characters). Constants only.
#pragma once

#include <caf/atom.hpp>

namespace tf::actors {

// -- peer-map shards ------------------------------------------------------
using load_atom = caf::atom_constant<caf::atom("load")>;          // full netmap part
using apply_atom = caf::atom_constant<caf::atom("apply")>;        // delta batch
using lookup_atom = caf::atom_constant<caf::atom("lookup")>;      // one peer
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;  // all peers
using profiles_atom = caf::atom_constant<caf::atom("profiles")>;  // user profiles
using await_atom = caf::atom_constant<caf::atom("await")>;        // test hook
using visible_atom = caf::atom_constant<caf::atom("visible")>;    // await answer
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;    // credit is back
using halt_applied_atom = caf::atom_constant<caf::atom("halted")>; // session: reads are off
using link_atom = caf::atom_constant<caf::atom("link")>;        // data-path peer_link
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;  // data-path lookup

// -- bus and watchers -----------------------------------------------------
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using unwatch_atom = caf::atom_constant<caf::atom("unwatch")>;
using notify_atom = caf::atom_constant<caf::atom("notify")>;
using initial_atom = caf::atom_constant<caf::atom("initial")>;   // header of the first notify
using part_atom = caf::atom_constant<caf::atom("part")>;         // a shard's share of it
using lagged_atom = caf::atom_constant<caf::atom("lagged")>;     // terminal error
using direct_atom = caf::atom_constant<caf::atom("direct")>;     // watcher -> shard: go direct
using drained_atom = caf::atom_constant<caf::atom("drained")>;   // the switch's marker, both ways
using publish_atom = caf::atom_constant<caf::atom("publish")>;
using view_atom = caf::atom_constant<caf::atom("view")>;

// -- node and control session ---------------------------------------------
using up_atom = caf::atom_constant<caf::atom("up")>;
using close_atom = caf::atom_constant<caf::atom("close")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using whois_atom = caf::atom_constant<caf::atom("whois")>;
using peer_atom = caf::atom_constant<caf::atom("peer")>;
using control_atom = caf::atom_constant<caf::atom("control")>;   // session -> node events
using logout_atom = caf::atom_constant<caf::atom("logout")>;
using connect_atom = caf::atom_constant<caf::atom("connect")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using key_atom = caf::atom_constant<caf::atom("key")>;
using dataplane_atom = caf::atom_constant<caf::atom("dataplane")>; // node's netstack id

// -- actor face of netstack connections (net_conn, net_listener) ----------
// (close_atom above also closes a connection or listener; stats_atom asks a
// listener for its net_listener_stats.)
using accept_atom = caf::atom_constant<caf::atom("accept")>;     // listener -> owner (request)
using data_atom = caf::atom_constant<caf::atom("data")>;         // conn -> owner: bytes
using eof_atom = caf::atom_constant<caf::atom("eof")>;           // conn -> owner: peer's FIN
using ack_atom = caf::atom_constant<caf::atom("ack")>;           // owner -> conn: bytes consumed
using write_atom = caf::atom_constant<caf::atom("write")>;       // owner -> conn (request)
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>; // owner -> conn: half-close
using abort_atom = caf::atom_constant<caf::atom("abort")>;       // owner -> conn: reset
using closed_atom = caf::atom_constant<caf::atom("closed")>;     // -> owner, exactly once
using net_ready_atom = caf::atom_constant<caf::atom("netready")>; // internal: callback news

// -- coordination server ---------------------------------------------------
using admin_atom = caf::atom_constant<caf::atom("admin")>;     // admin API call
using alt_atom = caf::atom_constant<caf::atom("alt")>;         // alt map stream message

} // namespace tf::actors
