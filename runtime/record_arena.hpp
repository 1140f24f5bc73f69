// SPDX-License-Identifier: Apache-2.0
// record_arena: the memory of peer records. Records come from 4 MiB chunks
// the arena maps itself (marked for transparent huge pages) and go back to
// a free list of their size class, for the next record of that size;
// chunks live for the life of the process.
//
// Why not malloc: the control session's thread allocates the records, so
// glibc puts them in that thread's arena, which grows one page per
// mprotect() call -- ~11,000 system calls and page faults for a 250k-peer
// map (`perf stat -e syscalls:sys_enter_mprotect`). Running the benchmark
// with MALLOC_ARENA_MAX=1 (the main heap, grown 128 KiB at a time) took
// the initial 250k map from 871-1,028 ms to 741-772 ms in three
// interleaved pairs; a library cannot set that for its host program. With
// this arena: 559-739 ms against 765-962 in four interleaved pairs, and
// 361 against 376 bytes of RSS per peer (no per-block header, huge pages).
//
// Thread-safe (one mutex). Under AddressSanitizer every block is a plain
// operator new, so ASan sees each record's lifetime.
#pragma once

#include <cstddef>

namespace tf {

/// record_arena_max is the largest block the arena serves itself; larger
/// ones are plain operator new (a record with hundreds of endpoints).
inline constexpr size_t record_arena_max = 1024;

/// allocate_record_block returns `len` bytes aligned to 16. Throws
/// std::bad_alloc if no memory is left.
void* allocate_record_block(size_t len);

/// free_record_block gives back a block of allocate_record_block(len).
void free_record_block(void* p, size_t len) noexcept;

/// record_arena_stats: bytes mapped for chunks and bytes on free lists.
struct record_arena_stats {
  size_t mapped = 0;
  size_t free_listed = 0;
};
record_arena_stats record_arena_usage();

} // namespace tf
