// SPDX-License-Identifier: Apache-2.0
// The counter registry. guards: registry_mutex guards the map; the counters
// themselves are atomics and are never destroyed.
#include "runtime/counters.hpp"

#include <memory>
#include <mutex>

namespace tf {

namespace {

struct registry {
  std::mutex mtx; // guards: counters
  std::map<std::string, std::unique_ptr<counter>, std::less<>> counters;
};

registry& the_registry() {
  static auto* reg = new registry; // intentionally leaked: counters outlive statics
  return *reg;
}

} // namespace

counter& get_counter(std::string_view name) {
  auto& reg = the_registry();
  std::lock_guard<std::mutex> guard{reg.mtx};
  auto i = reg.counters.find(name);
  if (i == reg.counters.end())
    i = reg.counters.emplace(std::string{name}, std::make_unique<counter>()).first;
  return *i->second;
}

uint64_t counter_value(std::string_view name) {
  auto& reg = the_registry();
  std::lock_guard<std::mutex> guard{reg.mtx};
  auto i = reg.counters.find(name);
  return i == reg.counters.end() ? 0 : i->second->value();
}

std::map<std::string, uint64_t> snapshot_counters() {
  auto& reg = the_registry();
  std::lock_guard<std::mutex> guard{reg.mtx};
  std::map<std::string, uint64_t> out;
  for (auto& [name, c] : reg.counters)
    out.emplace(name, c->value());
  return out;
}

} // namespace tf
