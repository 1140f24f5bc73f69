// SPDX-License-Identifier: Apache-2.0
// huge_pages: transparent huge pages for a node's largest blocks (a full
// map's frame: ~50 MB at 250k peers).
//
// Debian's kernels default to THP "madvise": only memory a program marks
// gets 2 MiB pages. On 4 KiB pages a 250k-peer map's frame is ~12,800 page
// faults. Marking a block costs one madvise() and no memory beyond the
// block's own pages: only the whole 2 MiB-aligned pages inside the block
// are marked, and a block under huge_page_advice_min is left alone.
// (Marking the shards' index tables too, through an allocator, showed no
// difference in the op: at 250k most of them are under 4 MB each.)
//
// A pure function; any thread.
#pragma once

#include <cstddef>

namespace tf {

/// huge_page_len is the size of a transparent huge page on x86-64.
inline constexpr size_t huge_page_len = size_t{2} << 20;

/// huge_page_advice_min is the smallest block worth marking.
inline constexpr size_t huge_page_advice_min = size_t{4} << 20;

/// advise_huge_pages marks the 2 MiB-aligned pages inside [p, p + len) for
/// transparent huge pages if len >= huge_page_advice_min. Returns whether it
/// marked any. A kernel without THP refuses (counted as
/// huge_page_advice_refused) and nothing changes.
bool advise_huge_pages(void* p, size_t len) noexcept;

/// release_huge_pages gives the whole 2 MiB-aligned pages inside
/// [begin, end) back to the kernel (MADV_DONTNEED): the block stays
/// allocated and reads as zeros there. For a large block whose front is
/// spent while its back is still in use: a full map's frame, whose pages
/// then serve the records decoded from it (see encoded_peers). Returns the
/// bytes given back.
size_t release_huge_pages(const void* begin, const void* end) noexcept;

} // namespace tf
