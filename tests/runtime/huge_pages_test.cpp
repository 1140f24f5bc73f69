// SPDX-License-Identifier: Apache-2.0
// advise_huge_pages: a large block's 2 MiB-aligned inside is marked for
// transparent huge pages (its own mapping, "THPeligible: 1" in
// /proc/self/smaps, when the kernel offers THP), its unaligned edges and
// small blocks are not; a kernel without THP refuses and it is counted.
#define CAF_SUITE huge_pages
#include <caf/test/unit_test_impl.hpp>

#include <sys/mman.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "runtime/counters.hpp"
#include "runtime/huge_pages.hpp"

using namespace tf;

namespace {

constexpr uintptr_t two_mib = uintptr_t{2} << 20;

/// thp_mode reads the kernel's THP mode: "always", "madvise" or "never".
std::string thp_mode() {
  std::ifstream f{"/sys/kernel/mm/transparent_hugepage/enabled"};
  std::string line;
  std::getline(f, line);
  auto open = line.find('['), close = line.find(']');
  if (open == std::string::npos || close == std::string::npos)
    return "never";
  return line.substr(open + 1, close - open - 1);
}

/// thp_eligible returns the THPeligible value of the mapping that holds
/// `addr` in /proc/self/smaps (-1 if not found).
int thp_eligible(uintptr_t addr) {
  std::ifstream f{"/proc/self/smaps"};
  std::string line;
  bool inside = false;
  while (std::getline(f, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head{line};
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo <= addr && addr < hi;
      continue;
    }
    if (inside && line.rfind("THPeligible:", 0) == 0)
      return std::stoi(line.substr(12));
  }
  return -1;
}

} // namespace

CAF_TEST(a_large_blocks_aligned_inside_is_marked_and_nothing_else) {
  // 10 MiB at an offset of 1 MiB from a 2 MiB boundary: the marked part is
  // [2, 10) MiB of the mapping, the first MiB and the last are not.
  size_t map_len = 12u << 20;
  void* map = ::mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CAF_REQUIRE(map != MAP_FAILED);
  auto base = (reinterpret_cast<uintptr_t>(map) + two_mib - 1) & ~(two_mib - 1);
  auto* block = reinterpret_cast<void*>(base + (1u << 20));
  size_t block_len = 10u << 20;
  CAF_REQUIRE(base + (1u << 20) + block_len <= reinterpret_cast<uintptr_t>(map) + map_len);
  auto refused = counter_value("huge_page_advice_refused");
  auto mode = thp_mode();
  CAF_MESSAGE("transparent huge pages: " << mode);
  if (mode != "never") {
    CAF_CHECK(advise_huge_pages(block, block_len));
    CAF_CHECK_EQUAL(thp_eligible(base + two_mib), 1);          // inside
    CAF_CHECK_EQUAL(thp_eligible(base + 5 * two_mib - 1), 1);  // last inside byte
    if (mode == "madvise") { // with "always" all memory is eligible
      CAF_CHECK_EQUAL(thp_eligible(base + (1u << 20)), 0);     // leading edge
      CAF_CHECK_EQUAL(thp_eligible(base + 5 * two_mib), 0);    // trailing edge
    }
    CAF_CHECK_EQUAL(counter_value("huge_page_advice_refused"), refused);
  } else {
    CAF_MESSAGE("this kernel offers no transparent huge pages: refusal path");
    CAF_CHECK(!advise_huge_pages(block, block_len));
    CAF_CHECK_EQUAL(counter_value("huge_page_advice_refused"), refused + 1);
  }
  // Small blocks, and blocks with no whole aligned page inside, are left alone.
  CAF_CHECK(!advise_huge_pages(block, huge_page_advice_min - 1));
  CAF_CHECK(!advise_huge_pages(nullptr, 64u << 20));
  ::munmap(map, map_len);
}
