// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes into the wire decoders (message, both
// hellos; default and tight limits). An accepted input must be valid msgpack
// to msgpack-cxx as well (differential check of our reader), and must
// re-encode to bytes that decode to the same value; a full map's peer list
// left encoded and decoded in parts gives the same value and errors.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include <msgpack.hpp>

#include "runtime/wire_codec.hpp"

using namespace tf;

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

/// valid_msgpack asks msgpack-cxx whether `bytes` is exactly one value.
bool valid_msgpack(std::span<const uint8_t> bytes) {
  try {
    size_t off = 0;
    auto handle = msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size(), off);
    return off == bytes.size();
  } catch (const std::exception&) {
    return false;
  }
}

template <class Decode>
void round_trip(std::span<const uint8_t> bytes, Decode decode_fn) {
  auto got = decode_fn(bytes);
  if (!got.ok()) {
    check(got.code() == errc::malformed_message || got.code() == errc::unsupported_version);
    check(!got.error().detail.empty());
    return;
  }
  check(valid_msgpack(bytes));
  auto again = wire::encode(*got);
  auto back = decode_fn(again);
  check(back.ok());
  check(*back == *got);
  check(wire::encode(*back) == again); // encoding is deterministic
}

/// deferred_matches_decode: a full map's peer list left encoded
/// (decode_deferring) and decoded in parts of 3 into reused nodes gives
/// what decode() gives, and fails exactly when decode() fails.
void deferred_matches_decode(std::span<const uint8_t> bytes) {
  auto eager = wire::decode(bytes);
  std::vector<uint8_t> frame(bytes.begin(), bytes.end());
  wire::message m;
  wire::encoded_peers peers;
  if (!wire::decode_deferring(frame, m, peers).ok()) {
    check(!eager.ok());
    return;
  }
  std::vector<wire::node> all;
  std::vector<wire::node> part;
  while (peers.remaining() > 0) {
    auto got = peers.next_part(part, 3);
    if (!got.ok()) {
      check(!eager.ok() && got.code() == eager.code());
      check(peers.remaining() == 0);
      return;
    }
    all.insert(all.end(), part.begin(), part.end());
  }
  if (auto* r = std::get_if<wire::map_response>(&m); r && r->is_full())
    r->peers = std::move(all);
  check(eager.ok() && *eager == m);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes{data, size};
  round_trip(bytes, [](std::span<const uint8_t> b) { return wire::decode(b); });
  round_trip(bytes, [](std::span<const uint8_t> b) {
    return wire::decode_client_hello(b);
  });
  round_trip(bytes, [](std::span<const uint8_t> b) {
    return wire::decode_server_hello(b);
  });
  deferred_matches_decode(bytes);
  // Tight limits: whatever they accept, the defaults accept too.
  wire::decode_limits tight{8, 2, 16, 32, 5};
  auto small = wire::decode(bytes, tight);
  if (small.ok()) {
    auto full = wire::decode(bytes);
    check(full.ok() && *full == *small);
  }
  return 0;
}
