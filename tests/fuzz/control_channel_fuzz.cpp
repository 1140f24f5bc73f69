// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes into control channels. Mode 0 feeds a
// fresh server; mode 1 a server after a valid record 1 and accept(); mode 2
// a client after initiate(); mode 3 seals the input on an established pair
// and checks the server reads it back. Chunk sizes come from the input.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "runtime/control_channel.hpp"

using namespace tf;

namespace {

machine_private_key fixed_key(uint8_t seed) {
  key_bytes k;
  for (size_t i = 0; i < k.size(); ++i) {
    k[i] = static_cast<uint8_t>(seed + i);
  }
  return machine_private_key{k};
}

/// feed hands `data` to `ch` in chunks of `chunk` bytes (0 = all at once),
/// stopping at the first error. Checks that an error is final.
void feed(control_channel& ch, std::span<const uint8_t> data, size_t chunk) {
  std::vector<uint8_t> app;
  while (!data.empty()) {
    size_t n = chunk == 0 ? data.size() : std::min(chunk, data.size());
    auto r = ch.receive(data.first(n), app);
    if (!r) {
      if (ch.current_phase() != control_channel::phase::failed
          || ch.receive({}, app).code() != r.code()) {
        std::abort();
      }
      return;
    }
    data = data.subspan(n);
  }
  if (ch.current_phase() == control_channel::phase::awaiting_accept) {
    (void) ch.accept({});
    (void) ch.receive({}, app);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  static const auto client_key = fixed_key(1);
  static const auto server_key = fixed_key(101);
  static const auto server_pub = server_key.public_key();
  uint8_t mode = data[0] % 4;
  size_t chunk = data[1];
  std::span<const uint8_t> input{data + 2, size - 2};
  auto client = control_channel::client(client_key, server_pub);
  auto server = control_channel::server(server_key);
  std::vector<uint8_t> app;
  switch (mode) {
    case 0:
      feed(server, input, chunk);
      break;
    case 1: {
      auto rec1 = client.initiate({});
      if (!rec1 || !server.receive(*rec1, app) || !server.accept({})) {
        std::abort();
      }
      feed(server, input, chunk);
      break;
    }
    case 2:
      if (!client.initiate(input.first(std::min<size_t>(input.size(), 8)))) {
        std::abort();
      }
      feed(client, input, chunk);
      break;
    default: {
      auto rec1 = client.initiate({});
      if (!rec1 || !server.receive(*rec1, app)) {
        std::abort();
      }
      auto rec2 = server.accept({});
      if (!rec2 || !client.receive(*rec2, app)) {
        std::abort();
      }
      // Repeat the input to cross record boundaries now and then.
      std::vector<uint8_t> plain(input.begin(), input.end());
      for (size_t i = 0; i < chunk % 4 && !input.empty(); ++i) {
        plain.resize(plain.size() + 70000 % (input.size() * 10 + 1), data[1]);
      }
      std::vector<uint8_t> wire;
      if (!client.seal(plain, wire)) {
        std::abort();
      }
      size_t step = chunk == 0 ? wire.size() : chunk * 97;
      for (size_t pos = 0; pos < wire.size(); pos += step) {
        size_t n = std::min(step, wire.size() - pos);
        if (!server.receive(std::span{wire}.subspan(pos, n), app)) {
          std::abort();
        }
      }
      if (app != plain) {
        std::abort();
      }
    }
  }
  return 0;
}
