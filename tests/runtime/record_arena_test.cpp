// SPDX-License-Identifier: Apache-2.0
// record_arena: blocks are 16-aligned, never overlap while live (across
// chunks too), a freed block is the next block of its size class, blocks
// over record_arena_max are plain heap blocks, and two threads allocating
// and freeing at once keep their blocks intact. Under AddressSanitizer the
// arena hands out plain heap blocks: the reuse check does not apply.
#define CAF_SUITE record_arena
#include <caf/test/unit_test_impl.hpp>

#include <cstdint>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/record_arena.hpp"
#include "runtime/sanitizers.hpp"

using namespace tf;

namespace {

struct block {
  unsigned char* p;
  size_t len;
};

block fill(size_t len, unsigned char pattern) {
  auto* p = static_cast<unsigned char*>(allocate_record_block(len));
  std::memset(p, pattern, len);
  return {p, len};
}

bool intact(const block& b, unsigned char pattern) {
  for (size_t i = 0; i < b.len; ++i)
    if (b.p[i] != pattern)
      return false;
  return true;
}

} // namespace

CAF_TEST(blocks_are_aligned_and_disjoint_across_chunks) {
  auto before = record_arena_usage();
  std::vector<block> blocks;
  // 12,000 blocks of up to 1 KiB (~6 MiB): more than one 4 MiB chunk.
  for (size_t i = 0; i < 12000; ++i)
    blocks.push_back(fill(1 + (i * 37) % record_arena_max, static_cast<unsigned char>(i)));
  bool aligned = true;
  bool ok = true;
  for (size_t i = 0; i < blocks.size(); ++i) {
    aligned = aligned && reinterpret_cast<uintptr_t>(blocks[i].p) % 16 == 0;
    ok = ok && intact(blocks[i], static_cast<unsigned char>(i));
  }
  CAF_CHECK(aligned);
  CAF_CHECK(ok);
  if (!built_with_asan)
    CAF_CHECK_GREATER_OR_EQUAL(record_arena_usage().mapped, before.mapped + (size_t{4} << 20));
  for (auto& b : blocks)
    free_record_block(b.p, b.len);
}

CAF_TEST(a_freed_block_is_the_next_of_its_size_class) {
  auto a = fill(100, 1);
  auto listed = record_arena_usage().free_listed;
  free_record_block(a.p, a.len);
  if (built_with_asan)
    return;
  CAF_CHECK_EQUAL(record_arena_usage().free_listed, listed + 112); // 97..112 bytes
  auto other_class = fill(200, 2);
  CAF_CHECK(other_class.p != a.p);
  listed = record_arena_usage().free_listed;
  auto same_class = fill(97, 3);
  CAF_CHECK(same_class.p == a.p);
  CAF_CHECK_EQUAL(record_arena_usage().free_listed + 112, listed);
  free_record_block(other_class.p, other_class.len);
  free_record_block(same_class.p, same_class.len);
}

CAF_TEST(blocks_over_the_largest_class_are_heap_blocks) {
  auto mapped = record_arena_usage().mapped;
  auto listed = record_arena_usage().free_listed;
  auto big = fill(record_arena_max + 1, 7);
  CAF_CHECK(intact(big, 7));
  free_record_block(big.p, big.len);
  CAF_CHECK_EQUAL(record_arena_usage().mapped, mapped);
  CAF_CHECK_EQUAL(record_arena_usage().free_listed, listed);
}

CAF_TEST(two_threads_allocate_and_free_at_once) {
  auto work = [](unsigned char pattern, bool* ok) {
    std::vector<block> live;
    for (size_t i = 0; i < 50'000; ++i) {
      live.push_back(fill(16 + (i * 53) % 600, pattern));
      if (live.size() > 64) {
        auto b = live[i % live.size()];
        *ok = *ok && intact(b, pattern);
        free_record_block(b.p, b.len);
        live[i % live.size()] = live.back();
        live.pop_back();
      }
    }
    for (auto& b : live) {
      *ok = *ok && intact(b, pattern);
      free_record_block(b.p, b.len);
    }
  };
  bool ok1 = true;
  bool ok2 = true;
  std::thread t1{work, 0x5a, &ok1};
  std::thread t2{work, 0xa5, &ok2};
  t1.join();
  t2.join();
  CAF_CHECK(ok1);
  CAF_CHECK(ok2);
}
