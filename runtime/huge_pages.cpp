// SPDX-License-Identifier: Apache-2.0
// advise_huge_pages (see huge_pages.hpp).
#include "runtime/huge_pages.hpp"

#include <sys/mman.h>

#include <cstdint>

#include "runtime/counters.hpp"

namespace tf {

bool advise_huge_pages(void* p, size_t len) noexcept {
  constexpr uintptr_t huge = uintptr_t{2} << 20;
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

} // namespace tf
