// SPDX-License-Identifier: Apache-2.0
// Random receiver indices (wireguard-go device/indextable.go semantics).
// Confined to the owner of the devices sharing the table.
#include "runtime/wg/index_table.hpp"

#include "runtime/keys.hpp"

namespace tf::wg {

uint32_t index_table::allocate(session* owner) {
  for (;;) {
    uint32_t index = 0;
    random_bytes(&index, sizeof(index));
    if (index != 0 && map_.try_emplace(index, owner).second) {
      return index;
    }
  }
}

void index_table::release(uint32_t index) noexcept {
  if (index != 0) {
    map_.erase(index);
  }
}

session* index_table::find(uint32_t index) const noexcept {
  auto i = map_.find(index);
  return i == map_.end() ? nullptr : i->second;
}

} // namespace tf::wg
