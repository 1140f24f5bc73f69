// SPDX-License-Identifier: Apache-2.0
// Shared by the wire codec test suites: sample messages with every field set,
// tree surgery on encodings (edit a field, append fields, widen every form)
// and small byte helpers. Test-only; single-threaded.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "runtime/counters.hpp"
#include "runtime/wire_codec.hpp"
#include "runtime/wire_msgpack.hpp"

namespace tf::wire::test_util {

// -- sample values: every field differs from its default --------------------

inline key_bytes key_of(uint8_t seed) {
  key_bytes k;
  for (size_t i = 0; i < k.size(); ++i) {
    k[i] = static_cast<uint8_t>(seed + i);
  }
  return k;
}

inline ip_prefix prefix(const char* text) {
  return *ip_prefix::parse(text);
}

inline ip_endpoint endpoint(const char* text) {
  return *ip_endpoint::parse(text);
}

inline hostinfo sample_host() {
  return {"laptop", "linux", {"tag:a", "tag:b"}};
}

inline node sample_node(node_id id) {
  node n;
  n.id = id;
  n.stable_id = "nSTABLE" + std::to_string(id);
  n.name = "host-" + std::to_string(id) + ".example.ts.net";
  n.key = node_public_key{key_of(static_cast<uint8_t>(id))};
  n.machine = machine_public_key{key_of(static_cast<uint8_t>(100 + id))};
  n.key_expiry = 1'900'000'000;
  n.addresses = {prefix("100.64.0.7/32"), prefix("fd7a:115c:a1e0::6440:7/128")};
  n.allowed_ips = {prefix("100.64.0.7/32"), prefix("10.0.0.0/8"), prefix("fd00::/8")};
  n.endpoints = {endpoint("192.0.2.1:41641"), endpoint("[2001:db8::1]:41642")};
  n.user = 42;
  n.tags = {"tag:server"};
  n.hostname = "host-" + std::to_string(id);
  n.created = 1'700'000'000;
  n.online = false;
  n.last_seen = 1'700'000'100;
  n.machine_authorized = false;
  return n;
}

inline user_profile sample_user() {
  return {7, "alice@example.com", "Alice", "https://example.com/alice.png"};
}

inline peer_change sample_patch() {
  return {5, std::vector<ip_endpoint>{endpoint("198.51.100.2:1")}, true, 1'700'000'200,
          node_public_key{key_of(9)}, -1};
}

inline register_request sample_register_request() {
  return {protocol_version, node_public_key{key_of(1)}, node_public_key{key_of(2)},
          "tskey-auth-secret", true, 1'800'000'000, sample_host()};
}

inline register_response sample_register_response() {
  return {errc::auth_key_expired, "auth key expired", true, true, "https://login.example",
          77, "nSTABLE77", sample_user(), true};
}

inline map_request sample_map_request() {
  return {protocol_version, node_public_key{key_of(3)}, false, true, sample_host(),
          {endpoint("192.0.2.9:41641")}};
}

inline map_response sample_map_response() {
  map_response r;
  r.seq = 9;
  r.keep_alive = true;
  r.self = sample_node(1);
  r.peers = std::vector<node>{sample_node(2), sample_node(3)};
  r.dns = dns_config{false, {"100.100.100.100"}, {"example.ts.net"}, {"host-1.example.ts.net"}};
  r.domain = "example.ts.net";
  r.peers_changed = {sample_node(4)};
  r.peers_removed = {5, 6};
  r.peers_changed_patch = {sample_patch()};
  r.online_change = {{2, true}, {3, false}};
  r.peer_seen_change = {{2, false}};
  r.user_profiles = {sample_user()};
  r.control_time = 1'700'000'000'123;
  return r;
}

/// extremes puts boundary values where the encoding changes width.
inline map_response extremes() {
  map_response r;
  r.seq = std::numeric_limits<uint64_t>::max();
  node n = sample_node(2);
  n.id = std::numeric_limits<uint64_t>::max();
  n.key_expiry = std::numeric_limits<int64_t>::min();
  n.created = std::numeric_limits<int64_t>::max();
  n.endpoints = {endpoint("0.0.0.0:65535"), ip_endpoint{}};
  n.allowed_ips = {prefix("0.0.0.0/0"), prefix("::/0"), ip_prefix{}};
  n.name = std::string(300, 'x');
  r.self = n;
  r.peers = std::vector<node>{}; // present and empty: "no peers", not "unchanged"
  r.control_time = -1;
  return r;
}

inline uint64_t rejected() {
  return counter_value("wire_decode_rejected");
}

// -- tree surgery: unpack an encoding, edit it, pack it again -----------------

using edit_fn = std::function<void(msgpack::object& root, msgpack::zone& z)>;

inline std::vector<uint8_t> edited(const message& m, const edit_fn& edit) {
  auto bytes = encode(m);
  auto handle = msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  msgpack::object root = handle.get();
  edit(root, *handle.zone());
  msgpack::sbuffer buf;
  msgpack::pack(buf, root);
  return {reinterpret_cast<const uint8_t*>(buf.data()),
          reinterpret_cast<const uint8_t*>(buf.data()) + buf.size()};
}

/// at walks array indices from `o`.
inline msgpack::object& at(msgpack::object& o, std::initializer_list<size_t> path) {
  msgpack::object* cur = &o;
  for (auto i : path) {
    cur = &cur->via.array.ptr[i];
  }
  return *cur;
}

/// append_fields adds two fields a later version might send.
inline void append_fields(msgpack::object& arr, msgpack::zone& z) {
  auto n = arr.via.array.size;
  auto* items = static_cast<msgpack::object*>(
    z.allocate_align(sizeof(msgpack::object) * (n + 2), alignof(msgpack::object)));
  std::copy(arr.via.array.ptr, arr.via.array.ptr + n, items);
  items[n] = msgpack::object(std::string{"from the future"}, z);
  items[n + 1] = msgpack::object(std::vector<int>{1, 2, 3}, z);
  arr.via.array.ptr = items;
  arr.via.array.size = n + 2;
}

inline std::vector<uint8_t> raw(std::initializer_list<int> bytes) {
  std::vector<uint8_t> out;
  for (int b : bytes) {
    out.push_back(static_cast<uint8_t>(b));
  }
  return out;
}

/// wide re-encodes a tree in the widest msgpack forms (int64 or uint64,
/// str32, bin32, array32, map32): legal but never what we send, so decoding
/// it exercises every non-fast path of the reader.
inline void wide(const msgpack::object& o, bool signed_ints, std::vector<uint8_t>& out) {
  auto be = [&out](uint64_t v, int len) {
    for (int i = len - 1; i >= 0; --i) {
      out.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
  };
  switch (o.type) {
    case msgpack::type::POSITIVE_INTEGER:
      out.push_back(signed_ints && o.via.u64 <= INT64_MAX ? 0xd3 : 0xcf);
      be(o.via.u64, 8);
      break;
    case msgpack::type::NEGATIVE_INTEGER:
      out.push_back(0xd3);
      be(static_cast<uint64_t>(o.via.i64), 8);
      break;
    case msgpack::type::STR:
      out.push_back(0xdb);
      be(o.via.str.size, 4);
      out.insert(out.end(), o.via.str.ptr, o.via.str.ptr + o.via.str.size);
      break;
    case msgpack::type::BIN:
      out.push_back(0xc6);
      be(o.via.bin.size, 4);
      out.insert(out.end(), o.via.bin.ptr, o.via.bin.ptr + o.via.bin.size);
      break;
    case msgpack::type::ARRAY:
      out.push_back(0xdd);
      be(o.via.array.size, 4);
      for (uint32_t i = 0; i < o.via.array.size; ++i) {
        wide(o.via.array.ptr[i], signed_ints, out);
      }
      break;
    default: {
      msgpack::sbuffer buf;
      msgpack::pack(buf, o);
      out.insert(out.end(), buf.data(), buf.data() + buf.size());
    }
  }
}

// Positions inside map_response and node (see wire_msgpack.hpp field order).
inline constexpr size_t body = 1, mr_self = 2, mr_peers = 3, nd_key = 3, nd_addresses = 6,
                 nd_endpoints = 8, nd_key_expiry = 5, nd_online = 13;

} // namespace tf::wire::test_util
