// SPDX-License-Identifier: Apache-2.0
// built_with_asan tells code that trades promptness of frees for speed
// (the packet-block arena, the dead-record graveyard) to free at once under
// AddressSanitizer, so ASan still sees every block. Compile-time; any thread.
#pragma once

namespace tf {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool built_with_asan = true; // gcc
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool built_with_asan = true; // clang
#else
inline constexpr bool built_with_asan = false;
#endif
#else
inline constexpr bool built_with_asan = false;
#endif

} // namespace tf
