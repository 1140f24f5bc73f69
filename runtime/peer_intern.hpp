// SPDX-License-Identifier: Apache-2.0
// The process-wide table of interned peer records: nodes in one process that
// see the same peer (same content) share one record. Thread-safe: the table
// is split into stripes, each guarded by its own mutex; a record leaves the
// table when its last reference goes.
#pragma once

#include <cstddef>

#include "runtime/peer_record.hpp"
#include "runtime/sanitizers.hpp"

namespace tf {

/// intern_peer returns the shared record whose content equals `n`, creating
/// it if there is none. `n` must be normalized (normalize_node()).
peer_ref intern_peer(const wire::node& n);

/// prefetch_interned_peer starts the cache misses of a later intern_peer
/// of a node with id `id`: call it for a batch of nodes before interning
/// them, or before normalizing one.
void prefetch_interned_peer(wire::node_id id);

/// release_interned_peer removes `r` (whose count just reached zero) from
/// the table and frees it, at once or later, in free_dead_peers()
/// (peer_frees_deferred: until then the table lists it, dead, and
/// intern_peer replaces it if its content comes again). Called by
/// peer_record::release only.
void release_interned_peer(const peer_record* r) noexcept;

/// peer_frees_deferred: released records wait, still listed, until
/// free_dead_peers() frees them -- the control session calls it after each
/// batch of deltas it handed to the shards, once dead_peers_free_batch wait.
/// At most max_dead_peers_waiting wait (the release that would exceed it
/// frees them, counted as peer_frees_at_bound). Not under AddressSanitizer,
/// which should see a use after the last release.
inline constexpr bool peer_frees_deferred = !built_with_asan;
inline constexpr size_t max_dead_peers_waiting = 1024;
inline constexpr size_t dead_peers_free_batch = 64;

/// dead_peers_waiting counts released records not freed yet.
size_t dead_peers_waiting();

/// free_dead_peers frees the released records now, on this thread, if at
/// least `at_least` wait. Best called by the thread that interns most (a
/// thread freeing while another allocates makes both wait on the record
/// allocator's lock), outside a delta's critical path: it costs a few
/// hundred nanoseconds per record.
void free_dead_peers(size_t at_least = 1);

/// interned_peer_count is the number of live records in the process (it
/// visits every record: for tests and statistics).
size_t interned_peer_count();

/// interned_peer_listed is the number of records the table lists: the live
/// ones and the dead that wait to be freed.
size_t interned_peer_listed();

/// interned_peer_table_bytes estimates the table's own memory (not records).
size_t interned_peer_table_bytes();

} // namespace tf
