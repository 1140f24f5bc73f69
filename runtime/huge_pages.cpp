// SPDX-License-Identifier: Apache-2.0
// advise_huge_pages (see huge_pages.hpp).
#include "runtime/huge_pages.hpp"

#include <sys/mman.h>

#include <cstdint>

#include "runtime/counters.hpp"

namespace tf {

bool advise_huge_pages(void* p, size_t len) noexcept {
  constexpr uintptr_t huge = huge_page_len;
  if (p == nullptr || len < huge_page_advice_min)
    return false;
  auto begin = (reinterpret_cast<uintptr_t>(p) + huge - 1) & ~(huge - 1);
  auto end = (reinterpret_cast<uintptr_t>(p) + len) & ~(huge - 1);
  if (end <= begin)
    return false;
  if (::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE) != 0) {
    TF_COUNTER("huge_page_advice_refused").add();
    return false;
  }
  return true;
}

size_t release_huge_pages(const void* begin, const void* end) noexcept {
  constexpr uintptr_t huge = huge_page_len;
  auto from = (reinterpret_cast<uintptr_t>(begin) + huge - 1) & ~(huge - 1);
  auto to = reinterpret_cast<uintptr_t>(end) & ~(huge - 1);
  if (to <= from)
    return 0;
  if (::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED) != 0) {
    TF_COUNTER("huge_page_release_refused").add();
    return 0;
  }
  return to - from;
}

} // namespace tf
