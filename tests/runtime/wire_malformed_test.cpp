// SPDX-License-Identifier: Apache-2.0
// Tables for what the wire decoder refuses: every truncation, a table of
// malformed inputs (each with its errc, its detail and one counter bump) and
// the decode limits. Single-threaded.
#define CAF_SUITE wire_malformed
#include <caf/test/unit_test_impl.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "runtime/counters.hpp"
#include "runtime/wire_codec.hpp"
#include "runtime/wire_msgpack.hpp"
#include "tests/runtime/wire_test_util.hpp"

using namespace tf;
using namespace tf::wire;
using namespace tf::wire::test_util;

CAF_TEST(truncated_at_every_byte) {
  auto canonical = encode(sample_map_response());
  auto handle = msgpack::unpack(reinterpret_cast<const char*>(canonical.data()),
                                canonical.size());
  std::vector<uint8_t> widened;
  wide(handle.get(), false, widened);
  for (const auto* bytes : {&canonical, &widened}) {
    CAF_MESSAGE("encoding of " << bytes->size() << " bytes");
    for (size_t len = 0; len < bytes->size(); ++len) {
      auto before = rejected();
      auto got = decode(std::span<const uint8_t>{bytes->data(), len});
      if (got.ok() || got.code() != errc::malformed_message || rejected() != before + 1) {
        CAF_FAIL("prefix of " << len << " bytes: got " << to_string(got.code())
                              << "; want malformed_message and one counter bump");
      }
    }
    CAF_CHECK(decode(*bytes).ok());
  }
}

CAF_TEST(malformed_input_is_rejected_with_a_reason) {
  auto set = [](std::initializer_list<size_t> path, auto value) {
    return [path, value](msgpack::object& r, msgpack::zone& z) {
      at(r, path) = msgpack::object(value, z);
    };
  };
  auto bin = [](size_t n) { return std::vector<char>(n, 1); };
  // control_error [1, "x", [[[[...nil...]]]]]: the appended field nests 100 deep.
  auto deep = raw({0x92, 0x05, 0x93, 0x01, 0xa1, 'x'});
  deep.insert(deep.end(), 100, 0x91);
  deep.push_back(0xc0);
  auto deep_map = raw({0x92, 0x05, 0x93, 0x01, 0xa1, 'x'});
  for (int i = 0; i < 100; ++i) {
    deep_map.insert(deep_map.end(), {0x81, 0x01});
  }
  deep_map.push_back(0xc0);
  auto valid = encode(sample_map_response());
  auto trailing = valid;
  trailing.push_back(0x00);
  auto mr = sample_map_response();
  auto rr = sample_register_request();
  auto mq = sample_map_request();
  struct {
    const char* name;
    std::vector<uint8_t> input;
    errc want;
    const char* detail; // must appear in the failure's detail
  } cases[] = {
    {"empty", {}, errc::malformed_message, "truncated"},
    {"invalid msgpack byte", raw({0xc1}), errc::malformed_message, "byte 0xc1 is never used"},
    {"not an array", raw({0xa1, 'x'}), errc::malformed_message, "want array (kind, body)"},
    {"map form", raw({0x81, 0x01, 0x90}), errc::malformed_message, "got map of 1"},
    {"unknown kind", raw({0x92, 0x09, 0x90}), errc::malformed_message, "unknown message kind 9"},
    {"kind zero", raw({0x92, 0x00, 0x90}), errc::malformed_message, "unknown message kind 0"},
    {"kind not an int", raw({0x92, 0xa1, 'x', 0x90}), errc::malformed_message,
     "message.kind: want unsigned int"},
    {"kind too big", raw({0x92, 0xcd, 0x01, 0x05, 0x90}), errc::malformed_message,
     "value 261 exceeds 255"},
    {"body not an array", raw({0x92, 0x05, 0xa1, 'x'}), errc::malformed_message,
     "message.control_error: want array of at least 2 fields (control_error); got str"},
    {"short struct", raw({0x92, 0x05, 0x91, 0x01}), errc::malformed_message,
     "got array of 1"},
    {"wrong field type", raw({0x92, 0x05, 0x92, 0xa1, 'x', 0xa1, 'y'}),
     errc::malformed_message, "control_error.code: want unsigned int; got str"},
    {"errc above uint8", raw({0x92, 0x05, 0x92, 0xcd, 0x01, 0x2c, 0xa1, 'y'}),
     errc::malformed_message, "value 300 exceeds 255"},
    {"31-byte key", edited(rr, set({body, 1}, bin(31))), errc::malformed_message,
     "register_request.node_key: want bin of 32 bytes (key); got bin of 31 bytes"},
    {"33-byte key", edited(mr, set({body, mr_peers, 0, nd_key}, bin(33))),
     errc::malformed_message, "map_response.peers[0].key: want bin of 32 bytes"},
    {"key as str", edited(rr, set({body, 2}, std::string(32, 'k'))), errc::malformed_message,
     "old_node_key: want bin of 32 bytes (key); got str of 32 bytes"},
    {"5-byte address", edited(mr, set({body, mr_peers, 1, nd_addresses, 0, 0}, bin(5))),
     errc::malformed_message,
     "map_response.peers[1].addresses[0].addr: want bin of 4 or 16 bytes (address); got bin of 5"},
    {"v4 bits 33", edited(mr, set({body, mr_self, nd_addresses, 0, 1}, 33)),
     errc::malformed_message, "self.addresses[0].bits: value 33 exceeds 32"},
    {"v6 bits 129", edited(mr, set({body, mr_self, nd_addresses, 1, 1}, 129)),
     errc::malformed_message, "self.addresses[1].bits: value 129 exceeds 128"},
    {"prefix of 3", edited(mr, set({body, mr_self, nd_addresses, 0}, std::vector<int>{1, 2, 3})),
     errc::malformed_message, "want array of 2 (address, bits)"},
    {"port above 65535", edited(mr, set({body, mr_self, nd_endpoints, 0, 1}, 70000)),
     errc::malformed_message, "self.endpoints[0].port: value 70000 exceeds 65535"},
    {"int64 overflow", edited(mr, set({body, mr_self, nd_key_expiry},
                                      std::numeric_limits<uint64_t>::max())),
     errc::malformed_message, "key_expiry: value 18446744073709551615 exceeds int64"},
    {"negative id", edited(mr, set({body, mr_peers, 0, 0}, -1)), errc::malformed_message,
     "peers[0].id: want unsigned int; got negative int"},
    {"optional of wrong type", edited(mr, set({body, mr_self, nd_online}, std::string{"yes"})),
     errc::malformed_message, "self.online: want bool; got str"},
    {"bool as int", edited(mr, set({body, 1}, 1)), errc::malformed_message,
     "keep_alive: want bool; got unsigned int"},
    {"peers not an array", edited(mr, set({body, mr_peers}, 7)), errc::malformed_message,
     "map_response.peers: want array; got unsigned int"},
    {"junk peer", edited(mr, set({body, mr_peers, 1}, true)), errc::malformed_message,
     "peers[1]: want array of at least 16 fields (node); got bool"},
    {"pair of 1", edited(mr, set({body, 9, 0}, std::vector<int>{2})), errc::malformed_message,
     "online_change[0]: want array of 2 (node id, bool)"},
    {"huge array32 header", raw({0x92, 0x04, 0xdd, 0xff, 0xff, 0xff, 0xff}),
     errc::malformed_message, "array of 4294967295 exceeds the decode limit 4194304"},
    {"huge array16 header", raw({0x92, 0x04, 0xdc, 0xff, 0xff, 0xc0}), errc::malformed_message,
     "truncated input: array of 65535 with 1 bytes left"},
    {"peer count beyond the bytes", edited(mr, set({body, mr_peers}, std::vector<bool>(100, true))),
     errc::malformed_message, "map_response.peers: truncated input: array of 100 needs at least 8300 bytes"},
    {"huge str header", raw({0x92, 0x05, 0x92, 0x01, 0xdb, 0x7f, 0xff, 0xff, 0xff}),
     errc::malformed_message, "str of 2147483647 exceeds the decode limit 65536"},
    {"str over max_str", encode(control_error{errc::timeout, std::string(70'000, 'x')}),
     errc::malformed_message, "str of 70000 exceeds the decode limit 65536"},
    {"deep nesting", deep, errc::malformed_message,
     "control_error.(appended fields): nesting deeper than 16"},
    {"deep map nesting", deep_map, errc::malformed_message, "nesting deeper than 16"},
    {"float where an int belongs", raw({0x92, 0x05, 0x92, 0xca, 0, 0, 0, 0, 0xa1, 'y'}),
     errc::malformed_message, "control_error.code: want unsigned int; got float"},
    {"ext where a str belongs", raw({0x92, 0x05, 0x92, 0x01, 0xd4, 0x01, 0x02}),
     errc::malformed_message, "control_error.message: want str; got ext"},
    {"trailing garbage", trailing, errc::malformed_message, "1 trailing bytes"},
    {"register_request version 2", edited(rr, set({body, 0}, 2)), errc::unsupported_version,
     "register_request.version: version 2 is not supported"},
    {"map_request version 0", edited(mq, set({body, 0}, 0)), errc::unsupported_version,
     "map_request.version: version 0 is not supported"},
    {"map_request version not an int", edited(mq, set({body, 0}, std::string{"1"})),
     errc::malformed_message, "map_request.version: want unsigned int"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto before = rejected();
    auto got = decode(c.input);
    CAF_REQUIRE(!got.ok());
    CAF_CHECK_EQUAL(got.code(), c.want);
    auto detail = got.error().detail;
    if (detail.find(c.detail) == std::string::npos) {
      CAF_FAIL("got detail \"" << detail << "\"; want it to contain \"" << c.detail << "\"");
    }
    CAF_CHECK_EQUAL(rejected(), before + 1);
  }
}

CAF_TEST(decode_limits_are_enforced) {
  map_response r;
  r.peers_removed.assign(20, 1);
  r.domain = "example.ts.net";
  auto bytes = encode(r);
  CAF_CHECK(decode(bytes).ok());
  struct {
    const char* name;
    decode_limits limits;
    bool ok;
  } cases[] = {
    {"defaults", {}, true},
    {"array of 20 at limit 20", {20, 16, 64, 64, 16}, true},
    {"array of 20 over limit 19", {19, 16, 64, 64, 16}, false},
    {"str of 14 over limit 13", {64, 16, 13, 64, 16}, false},
    {"depth 3 at limit 3", {64, 16, 64, 64, 3}, true},
    {"depth 3 over limit 2", {64, 16, 64, 64, 2}, false},
    {"bin limit does not touch str", {64, 16, 64, 0, 16}, true},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto got = decode(bytes, c.limits);
    CAF_CHECK_EQUAL(got.ok(), c.ok);
    if (!c.ok) {
      CAF_CHECK_EQUAL(got.code(), errc::malformed_message);
    }
  }
}
