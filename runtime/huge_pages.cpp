// SPDX-License-Identifier: Apache-2.0
// advise_huge_pages and release_huge_pages (see huge_pages.hpp).
#include "runtime/huge_pages.hpp"

#include <sys/mman.h>

#include <cstdint>

#include "runtime/counters.hpp"

namespace tf {

namespace {

/// whole_pages is the span of the whole huge pages inside [begin, end)
/// (empty: from >= to).
struct whole_pages {
  uintptr_t from, to;
  whole_pages(const void* begin, const void* end) noexcept
    : from((reinterpret_cast<uintptr_t>(begin) + huge_page_len - 1) & ~(huge_page_len - 1)),
      to(reinterpret_cast<uintptr_t>(end) & ~(huge_page_len - 1)) {}
  bool empty() const noexcept { return to <= from; }
  void* start() const noexcept { return reinterpret_cast<void*>(from); }
  size_t len() const noexcept { return to - from; }
};

} // namespace

bool advise_huge_pages(void* p, size_t len) noexcept {
  if (p == nullptr || len < huge_page_advice_min)
    return false;
  whole_pages pages{p, static_cast<char*>(p) + len};
  if (pages.empty())
    return false;
  if (::madvise(pages.start(), pages.len(), MADV_HUGEPAGE) != 0) {
    TF_COUNTER("huge_page_advice_refused").add();
    return false;
  }
  return true;
}

size_t release_huge_pages(const void* begin, const void* end) noexcept {
  whole_pages pages{begin, end};
  if (pages.empty())
    return 0;
  if (::madvise(pages.start(), pages.len(), MADV_DONTNEED) != 0) {
    TF_COUNTER("huge_page_release_refused").add();
    return 0;
  }
  return pages.len();
}

} // namespace tf
