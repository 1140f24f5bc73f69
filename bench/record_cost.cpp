// SPDX-License-Identifier: Apache-2.0
// record_cost: what sealing and opening one control record costs, by size,
// one thread, no I/O. First libsodium's ChaCha20-Poly1305 alone by plaintext
// length (runtime/aead), which shows the cost per 64-byte block outside
// whole 256-byte chunks; then the control channel's seal + receive by
// application bytes, with the record padding control_record_padding picks.
// Prints ns per call (best of --repeats runs of --calls calls).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "runtime/aead.hpp"
#include "runtime/control_channel.hpp"
#include "runtime/keys.hpp"

using namespace tf;
using clock_type = std::chrono::steady_clock;

namespace {

/// best_ns runs `fn` `calls` times, `repeats` times over, and returns the
/// fastest run's time per call.
template <class Fn>
double best_ns(size_t repeats, size_t calls, Fn&& fn) {
  double best = 1e300;
  for (size_t r = 0; r < repeats; ++r) {
    auto start = clock_type::now();
    for (size_t i = 0; i < calls; ++i)
      fn();
    std::chrono::duration<double, std::nano> took = clock_type::now() - start;
    best = std::min(best, took.count() / static_cast<double>(calls));
  }
  return best;
}

void fail(const char* what) {
  std::fprintf(stderr, "record_cost: %s\n", what);
  std::exit(1);
}

} // namespace

int main(int argc, char** argv) {
  size_t repeats = 5;
  size_t calls = 20'000;
  CLI::App app{"record_cost: ns to seal and open one control record, by size"};
  app.add_option("--repeats", repeats, "runs per size (the best counts)")->capture_default_str();
  app.add_option("--calls", calls, "calls per run")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (repeats == 0 || calls == 0)
    fail("--repeats and --calls must be positive");

  std::printf("ChaCha20-Poly1305 (libsodium), one call:\n");
  std::printf("%10s %10s %10s\n", "plaintext", "seal ns", "open ns");
  std::vector<uint8_t> key(aead_key_len, 7);
  for (size_t len : {64, 65, 128, 129, 192, 193, 208, 255, 256, 257, 320, 448, 512, 1024}) {
    std::vector<uint8_t> plain(len, 1), sealed(len + aead_tag_len), opened(len);
    double seal = best_ns(repeats, calls, [&] {
      if (!chacha_seal(sealed, aead_key{key.data(), aead_key_len}, 1, {}, plain))
        fail("seal failed");
    });
    double open = best_ns(repeats, calls, [&] {
      if (!chacha_open(opened, aead_key{key.data(), aead_key_len}, 1, {}, sealed))
        fail("open failed");
    });
    std::printf("%10zu %10.0f %10.0f\n", len, seal, open);
  }

  std::printf("\ncontrol channel, one record (a delta's frame, header included, is 208 bytes):\n");
  std::printf("%10s %10s %10s %10s %10s\n", "app bytes", "padding", "record", "seal ns",
              "receive ns");
  auto server_key = machine_private_key::generate();
  auto client = control_channel::client(machine_private_key::generate(), server_key.public_key());
  auto server = control_channel::server(server_key);
  std::vector<uint8_t> app_out;
  auto rec1 = client.initiate({});
  if (!rec1 || !server.receive(*rec1, app_out))
    fail("handshake record 1");
  auto rec2 = server.accept({});
  if (!rec2 || !client.receive(*rec2, app_out))
    fail("handshake record 2");
  for (size_t len : {16, 100, 180, 208, 230, 300, 1000, 4000}) {
    std::vector<uint8_t> msg(len, 3), wire;
    wire.reserve(len + 512);
    app_out.reserve(len + 512);
    // Seal and receive alternate so that the nonces stay in step.
    double seal_total = 0, receive_total = 0;
    for (size_t r = 0; r < repeats; ++r) {
      double s = 0, rcv = 0;
      for (size_t i = 0; i < calls; ++i) {
        wire.clear();
        app_out.clear();
        auto t0 = clock_type::now();
        if (!server.seal(msg, wire))
          fail("seal failed");
        auto t1 = clock_type::now();
        if (!client.receive(wire, app_out) || app_out.size() != len)
          fail("receive failed");
        auto t2 = clock_type::now();
        s += std::chrono::duration<double, std::nano>(t1 - t0).count();
        rcv += std::chrono::duration<double, std::nano>(t2 - t1).count();
      }
      seal_total = r == 0 ? s : std::min(seal_total, s);
      receive_total = r == 0 ? rcv : std::min(receive_total, rcv);
    }
    std::printf("%10zu %10zu %10zu %10.0f %10.0f\n", len, control_record_padding(len),
                wire.size(), seal_total / static_cast<double>(calls),
                receive_total / static_cast<double>(calls));
  }
  return 0;
}
