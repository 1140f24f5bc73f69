// SPDX-License-Identifier: Apache-2.0
// Synthetic peer construction. Pure functions.
#include "tests/support/synthetic.hpp"

#include <algorithm>
#include <cstring>
#include <random>

#include "runtime/keys.hpp"

namespace tf::test {

namespace {

// synthetic_key fills a key from a per-thread PRNG seeded once from the
// system: distinct keys without a getrandom call per key (which was a third
// of the time to build a 250k-peer tailnet).
void synthetic_key(key_bytes& k) {
  thread_local std::mt19937_64 rng{[] {
    uint64_t seed = 0;
    random_bytes(&seed, sizeof(seed));
    return seed;
  }()};
  for (size_t i = 0; i < k.size(); i += 8) {
    auto v = rng();
    std::memcpy(k.data() + i, &v, std::min<size_t>(8, k.size() - i));
  }
}

} // namespace

ip_addr synthetic_v4(wire::node_id id) {
  return ip_addr::v4(100, static_cast<uint8_t>(100 + (id >> 16)), static_cast<uint8_t>(id >> 8),
                     static_cast<uint8_t>(id));
}

ip_addr synthetic_v6(wire::node_id id) {
  ip_addr::bytes16 b{0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0};
  b[13] = static_cast<uint8_t>(id >> 16);
  b[14] = static_cast<uint8_t>(id >> 8);
  b[15] = static_cast<uint8_t>(id);
  return ip_addr::v6(b);
}

wire::node make_peer_with(wire::node_id id, const ip_addr& v4, const std::string& host,
                          const std::string& domain) {
  wire::node n;
  n.id = id;
  n.stable_id = "peer-" + std::to_string(id);
  n.name = host + "." + domain;
  key_bytes k;
  synthetic_key(k);
  n.key = node_public_key{k};
  synthetic_key(k);
  n.machine = machine_public_key{k};
  n.key_expiry = 1'900'000'000;
  n.addresses = {ip_prefix::host(v4), ip_prefix::host(synthetic_v6(id))};
  n.user = synthetic_user;
  n.hostname = host;
  n.created = 1'700'000'000;
  n.machine_authorized = true;
  return n;
}

wire::node make_peer(wire::node_id id, const std::string& domain) {
  return make_peer_with(id, synthetic_v4(id), "peer-" + std::to_string(id), domain);
}

} // namespace tf::test
