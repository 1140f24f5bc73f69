// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes into the wire decoders (message, both
// hellos; default and tight limits). An accepted input must be valid msgpack
// to msgpack-cxx as well (differential check of our reader), and must
// re-encode to bytes that decode to the same value.
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
  // Tight limits: whatever they accept, the defaults accept too.
  wire::decode_limits tight{8, 2, 16, 32, 5};
  auto small = wire::decode(bytes, tight);
  if (small.ok()) {
    auto full = wire::decode(bytes);
    check(full.ok() && *full == *small);
  }
  return 0;
}
