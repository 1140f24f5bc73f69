// SPDX-License-Identifier: Apache-2.0
// Tables for the wire codec: round trips of every message with every field
// set, the byte layout, the field-count guard, forward compatibility, the
// widest legal encodings and the 250k-peer timing print. Single-threaded.
#define CAF_SUITE wire_codec
#include <caf/test/unit_test_impl.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/wire_codec.hpp"
#include "runtime/wire_msgpack.hpp"
#include "tests/runtime/wire_test_util.hpp"
#include "tests/support/synthetic.hpp"

using namespace tf;
using namespace tf::wire;
using namespace tf::wire::test_util;

CAF_TEST(round_trip_every_message) {
  struct {
    const char* name;
    message input;
  } cases[] = {
    {"register_request", sample_register_request()},
    {"register_request defaults", register_request{}},
    {"register_response", sample_register_response()},
    {"register_response defaults", register_response{}},
    {"map_request", sample_map_request()},
    {"map_request defaults", map_request{}},
    {"map_response", sample_map_response()},
    {"map_response defaults", map_response{}},
    {"map_response extremes", extremes()},
    {"control_error", control_error{errc::not_authorized, "node is not authorized"}},
    {"control_error defaults", control_error{}},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto bytes = encode(c.input);
    auto got = decode(bytes);
    CAF_REQUIRE(got.ok());
    CAF_CHECK(*got == c.input);
    CAF_CHECK_EQUAL(got->index(), c.input.index());
    // decode_into fills a default message in place, the same way.
    message in_place;
    CAF_REQUIRE(decode_into(bytes, in_place).ok());
    CAF_CHECK(in_place == c.input);
    // A truncated copy fails the same way through either entry.
    auto cut = std::span{bytes}.first(bytes.size() - 1);
    message partial;
    CAF_CHECK(!decode_into(cut, partial).ok());
    CAF_CHECK(!decode(cut).ok());
    // encode_to appends after what is already there.
    std::vector<uint8_t> out{0xaa};
    encode_to(c.input, out);
    CAF_REQUIRE_EQUAL(out.size(), bytes.size() + 1);
    CAF_CHECK(std::equal(bytes.begin(), bytes.end(), out.begin() + 1));
  }
}

CAF_TEST(round_trip_hellos) {
  client_hello ch{7};
  auto ch_back = decode_client_hello(encode(ch));
  CAF_REQUIRE(ch_back.ok());
  CAF_CHECK(*ch_back == ch);
  server_hello sh{9, errc::unsupported_version};
  auto sh_back = decode_server_hello(encode(sh));
  CAF_REQUIRE(sh_back.ok());
  CAF_CHECK(*sh_back == sh);
  // A hello is a bare struct array: [version] / [version, error_code].
  CAF_CHECK(encode(ch) == raw({0x91, 0x07}));
  CAF_CHECK(encode(sh) == raw({0x92, 0x09, 0x04}));
  auto bad = decode_server_hello(raw({0x91, 0x01}));
  CAF_CHECK_EQUAL(bad.code(), errc::malformed_message);
  auto bad_client = decode_client_hello(raw({0x91, 0xa1, 'x'}));
  CAF_CHECK_EQUAL(bad_client.code(), errc::malformed_message);
}

CAF_TEST(encoding_is_array_form) {
  // [kind, [code, message]] with errc as uint8: a fixed byte layout.
  auto bytes = encode(control_error{errc::not_authorized, "no"});
  CAF_CHECK(bytes == raw({0x92, 0x05, 0x92, 35, 0xa2, 'n', 'o'}));
  // Keys are bin 32; addresses bin 4 / bin 16; prefixes [addr, bits].
  map_request req;
  req.node_key = node_public_key{key_of(0)};
  req.endpoints = {endpoint("1.2.3.4:80")};
  auto enc = encode(req);
  auto handle = msgpack::unpack(reinterpret_cast<const char*>(enc.data()), enc.size());
  msgpack::object root = handle.get();
  auto& key = at(root, {body, 1});
  CAF_CHECK_EQUAL(key.type, msgpack::type::BIN);
  CAF_CHECK_EQUAL(key.via.bin.size, 32u);
  auto& ep = at(root, {body, 5, 0});
  CAF_CHECK_EQUAL(ep.via.array.size, 2u);
  CAF_CHECK_EQUAL(at(ep, {0}).via.bin.size, 4u);
  CAF_CHECK_EQUAL(at(ep, {1}).via.u64, 80u);
}

/// Guard: aggregate_fields counts a struct's members at compile time and
/// num_fields is the codec's decision. wire_msgpack.hpp static_asserts they
/// agree, so adding a field without a codec decision breaks the build; this
/// test also checks that pack writes exactly num_fields elements.
template <class T>
void check_field_count(const char* name) {
  CAF_MESSAGE("struct " << name);
  CAF_CHECK_EQUAL(aggregate_fields<T>(), size_t{num_fields<T>});
  msgpack::sbuffer buf;
  msgpack::pack(buf, T{});
  auto handle = msgpack::unpack(buf.data(), buf.size());
  CAF_REQUIRE_EQUAL(handle.get().type, msgpack::type::ARRAY);
  CAF_CHECK_EQUAL(handle.get().via.array.size, num_fields<T>);
}

CAF_TEST(guard_every_field_has_a_codec_decision) {
  check_field_count<hostinfo>("hostinfo");
  check_field_count<node>("node");
  check_field_count<user_profile>("user_profile");
  check_field_count<dns_config>("dns_config");
  check_field_count<peer_change>("peer_change");
  check_field_count<register_request>("register_request");
  check_field_count<register_response>("register_response");
  check_field_count<map_request>("map_request");
  check_field_count<map_response>("map_response");
  check_field_count<control_error>("control_error");
  check_field_count<client_hello>("client_hello");
  check_field_count<server_hello>("server_hello");
  // The pinned counts (change them only together with the codec).
  CAF_CHECK_EQUAL(num_fields<node>, 16u);
  CAF_CHECK_EQUAL(num_fields<map_response>, 13u);
  CAF_CHECK_EQUAL(num_fields<register_request>, 7u);
  CAF_CHECK_EQUAL(num_fields<register_response>, 9u);
}

CAF_TEST(forward_compatible_with_appended_fields) {
  struct {
    const char* name;
    message input;
    edit_fn edit;
  } cases[] = {
    {"register_request body and hostinfo", sample_register_request(),
     [](msgpack::object& r, msgpack::zone& z) {
       append_fields(at(r, {body, 6}), z);
       append_fields(at(r, {body}), z);
     }},
    {"map_response body, self, peer, patch", sample_map_response(),
     [](msgpack::object& r, msgpack::zone& z) {
       append_fields(at(r, {body, mr_self}), z);
       append_fields(at(r, {body, mr_peers, 1}), z);
       append_fields(at(r, {body, 8, 0}), z);
       append_fields(at(r, {body, 4}), z);
       append_fields(at(r, {body, 11, 0}), z);
       append_fields(at(r, {body}), z);
     }},
    {"envelope", control_error{errc::timeout, "slow"},
     [](msgpack::object& r, msgpack::zone& z) { append_fields(r, z); }},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto bytes = edited(c.input, c.edit);
    CAF_CHECK_GREATER(bytes.size(), encode(c.input).size());
    auto got = decode(bytes);
    CAF_REQUIRE(got.ok());
    CAF_CHECK(*got == c.input);
  }
  // A newer server_hello with a third field still decodes.
  auto sh = decode_server_hello(raw({0x93, 0x01, 0x00, 0xa1, 'x'}));
  CAF_REQUIRE(sh.ok());
  CAF_CHECK_EQUAL(sh->version, 1);
}

CAF_TEST(widest_encodings_decode_the_same) {
  message cases[] = {sample_map_response(), extremes(), sample_register_request(),
                     sample_register_response(), sample_map_request()};
  for (auto& m : cases) {
    for (bool signed_ints : {false, true}) {
      CAF_MESSAGE("case kind " << m.index() << (signed_ints ? " signed" : " unsigned"));
      auto bytes = encode(m);
      auto handle = msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      std::vector<uint8_t> widened;
      wide(handle.get(), signed_ints, widened);
      CAF_CHECK_GREATER(widened.size(), bytes.size());
      auto got = decode(widened);
      CAF_REQUIRE(got.ok());
      CAF_CHECK(*got == m);
    }
  }
}

CAF_TEST(large_tailnet_timing) {
  // 250,000 peers shaped like Tailscale's largetailnet synthetic peers.
  constexpr size_t num_peers = 250'000;
  map_response r;
  r.seq = 1;
  r.self = test::make_peer(0);
  r.peers.emplace();
  r.peers->reserve(num_peers);
  for (size_t i = 1; i <= num_peers; ++i) {
    r.peers->push_back(test::make_peer(i));
  }
  message m{std::move(r)};
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  auto bytes = encode(m);
  auto t1 = clock::now();
  auto got = decode(bytes);
  auto t2 = clock::now();
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  CAF_MESSAGE("250k peers: " << bytes.size() << " bytes; encode " << ms(t1 - t0)
                             << " ms; decode " << ms(t2 - t1) << " ms; total "
                             << ms(t2 - t0) << " ms");
  CAF_REQUIRE(got.ok());
  CAF_CHECK(*got == m);
  auto& peers = *std::get<map_response>(*got).peers;
  CAF_CHECK_EQUAL(peers.size(), num_peers);
  CAF_CHECK_EQUAL(peers.back().name, "peer-250000.largetailnet.ts.net");
}
