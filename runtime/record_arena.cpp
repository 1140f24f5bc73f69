// SPDX-License-Identifier: Apache-2.0
// record_arena (see record_arena.hpp). guards: the arena's mutex guards its
// chunk cursor and free lists; any thread.
#include "runtime/record_arena.hpp"

#include <sys/mman.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <new>

#include "runtime/huge_pages.hpp"
#include "runtime/sanitizers.hpp"

namespace tf {

namespace {

constexpr size_t granule = 16;
constexpr size_t num_classes = record_arena_max / granule;
constexpr size_t chunk_len = size_t{4} << 20;

size_t class_of(size_t len) noexcept {
  return (len + granule - 1) / granule - 1; // 1..16 bytes: class 0
}

/// class_len is the block size of class `k`.
size_t class_len(size_t k) noexcept {
  return (k + 1) * granule;
}

/// on_heap: blocks the arena leaves to operator new/delete.
bool on_heap(size_t len) noexcept {
  return built_with_asan || len > record_arena_max || len == 0;
}

struct free_block {
  free_block* next;
};

struct arena {
  std::mutex mtx; // guards: everything below
  std::array<free_block*, num_classes> free{};
  char* cursor = nullptr; // the current chunk's unused part
  char* end = nullptr;
  record_arena_stats stats;
};

arena& the_arena() {
  static auto* a = new arena; // process lifetime: records may outlive main
  return *a;
}

/// carve takes `len` bytes from the current chunk, mapping a new one when
/// it is used up (the rest of the old one is left unused: < 1 KiB).
void* carve(arena& a, size_t len) {
  if (static_cast<size_t>(a.end - a.cursor) < len) {
    void* chunk = ::mmap(nullptr, chunk_len, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (chunk == MAP_FAILED)
      throw std::bad_alloc{};
    advise_huge_pages(chunk, chunk_len);
    a.cursor = static_cast<char*>(chunk);
    a.end = a.cursor + chunk_len;
    a.stats.mapped += chunk_len;
  }
  void* p = a.cursor;
  a.cursor += len;
  return p;
}

} // namespace

void* allocate_record_block(size_t len) {
  if (on_heap(len))
    return ::operator new(len);
  auto k = class_of(len);
  auto& a = the_arena();
  std::lock_guard<std::mutex> guard{a.mtx};
  if (auto* b = a.free[k]) {
    a.free[k] = b->next;
    a.stats.free_listed -= class_len(k);
    return b;
  }
  return carve(a, class_len(k));
}

void free_record_block(void* p, size_t len) noexcept {
  if (on_heap(len)) {
    ::operator delete(p);
    return;
  }
  auto k = class_of(len);
  auto& a = the_arena();
  std::lock_guard<std::mutex> guard{a.mtx};
  auto* b = static_cast<free_block*>(p);
  b->next = a.free[k];
  a.free[k] = b;
  a.stats.free_listed += class_len(k);
}

record_arena_stats record_arena_usage() {
  auto& a = the_arena();
  std::lock_guard<std::mutex> guard{a.mtx};
  return a.stats;
}

} // namespace tf
