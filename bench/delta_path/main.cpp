// SPDX-License-Identifier: Apache-2.0
// delta_path: the CPU cost of each stage a delta passes on its way from the
// coordination server to a node's shard, one thread, no I/O: encode + frame
// + seal (server), open + unframe + decode (node), plan + intern, and the
// shard table's apply, plainly and with the shard's prefetch, into tables
// that already hold --n peers (at 250,000 an index slot is a cache miss).
// Prints ns per delta for each stage.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <span>
#include <vector>

#include "runtime/control_conn.hpp"
#include "runtime/map_plan.hpp"
#include "runtime/node_normalize.hpp"
#include "runtime/peer_intern.hpp"
#include "runtime/peer_table.hpp"
#include "runtime/wire_codec.hpp"
#include "tests/support/connected_conns.hpp"
#include "tests/support/synthetic.hpp"

using namespace tf;
using clock_type = std::chrono::steady_clock;

int main(int argc, char** argv) {
  size_t rounds = 100;
  size_t preload = 0;
  CLI::App app{"delta_path: CPU cost per stage of one streamed delta"};
  app.add_option("--rounds", rounds, "rounds of 500 deltas")->capture_default_str();
  app.add_option("--n", preload, "peers in the shard tables before the deltas")
    ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  constexpr size_t per_round = 500; // steady state: buffers are reused
  // An established client/server pair.
  auto conns = test::connect_in_memory();
  if (!conns) {
    std::fprintf(stderr, "delta_path: %s\n", conns.error().message().c_str());
    return 1;
  }
  auto& [client, server] = *conns;
  control_conn::received rx;
  std::vector<wire::map_response> deltas(per_round * rounds);
  for (size_t i = 0; i < deltas.size(); ++i) {
    deltas[i].peers_changed.push_back(test::make_peer(1000 + i));
    if (i > 0)
      deltas[i].peers_removed.push_back(999 + i);
  }
  // Two table sets get the same mutations: one applies them plainly, the
  // other prefetches each shard's share of a round first, as the shard
  // actor does with the deltas of one read.
  peer_table plain[2];
  peer_table warmed[2];
  std::vector<peer_ref> preloaded;
  preloaded.reserve(preload);
  for (size_t i = 0; i < preload; ++i) {
    auto n = test::make_peer(1'000'000 + i);
    static_cast<void>(normalize_node(n));
    preloaded.push_back(intern_peer(n));
    auto s = shard_of(n.id, 2);
    plain[s].upsert(preloaded.back(), 0);
    warmed[s].upsert(preloaded.back(), 0);
  }
  batch_prefetch prefetch;
  std::vector<uint8_t> wire_bytes;
  std::vector<delta_plan> plans;
  plans.reserve(per_round);
  double send_ns = 0, feed_ns = 0, plan_ns = 0, apply_ns = 0, prefetched_ns = 0;
  size_t decoded = 0, wire_len = 0;
  uint64_t gen = 0;
  auto elapsed = [](clock_type::time_point t0) {
    return std::chrono::duration<double, std::nano>(clock_type::now() - t0).count();
  };
  for (size_t round = 0; round < rounds; ++round) {
    auto batch = std::span{deltas}.subspan(round * per_round, per_round);
    // Server side: encode and frame each delta, seal them as one stream.
    wire_bytes.clear();
    auto t0 = clock_type::now();
    for (auto& d : batch)
      server.queue(d);
    static_cast<void>(server.seal_queued(wire_bytes));
    send_ns += elapsed(t0);
    wire_len += wire_bytes.size();
    // Node side, per 64 KiB read as the broker does: open, unframe and
    // decode (into the messages of the read before, as the session does),
    // then normalize, intern and split by shard, and free the records the
    // rounds before dropped.
    plans.clear();
    for (size_t off = 0; off < wire_bytes.size(); off += 65536) {
      auto len = std::min<size_t>(65536, wire_bytes.size() - off);
      rx.clear();
      t0 = clock_type::now();
      static_cast<void>(client.feed(std::span{wire_bytes.data() + off, len}, rx));
      feed_ns += elapsed(t0);
      decoded += rx.messages.size();
      t0 = clock_type::now();
      for (auto& m : rx.messages)
        plans.push_back(plan_delta(std::get<wire::map_response>(m), 2, 0));
      free_dead_peers(dead_peers_free_batch); // as the session does after a batch
      plan_ns += elapsed(t0);
    }
    // Shard tables: removes and upserts.
    auto apply = [&](peer_table* tables, bool warm) {
      auto first_gen = gen;
      for (size_t s = 0; s < 2; ++s) {
        if (warm) {
          for (auto& p : plans)
            prefetch.add(p.shards[s]);
          prefetch.run(tables[s]);
        }
        auto g = first_gen;
        for (auto& p : plans) {
          ++g;
          for (auto id : p.shards[s].removes)
            tables[s].remove(id);
          for (auto& u : p.shards[s].upserts)
            tables[s].upsert(u, g);
        }
      }
    };
    t0 = clock_type::now();
    apply(plain, false);
    apply_ns += elapsed(t0);
    t0 = clock_type::now();
    apply(warmed, true);
    prefetched_ns += elapsed(t0);
    gen += plans.size();
  }
  auto n = static_cast<double>(per_round * rounds);
  std::printf("delta_path: %zu deltas into tables of %zu peers, %zu bytes each on the wire "
              "(sealed %zu per batch)\n",
              per_round * rounds, preload, wire_len / (per_round * rounds), per_round);
  std::printf("%-34s %10s\n", "stage", "ns/delta");
  std::printf("%-34s %10.0f\n", "server: encode + frame + seal", send_ns / n);
  std::printf("%-34s %10.0f\n", "node: open + unframe + decode", feed_ns / n);
  std::printf("%-34s %10.0f\n", "node: normalize + intern + plan", plan_ns / n);
  std::printf("%-34s %10.0f\n", "shard: remove + upsert", apply_ns / n);
  std::printf("%-34s %10.0f\n", "shard: the same, prefetched", prefetched_ns / n);
  std::printf("%-34s %10.0f\n", "node total (decode..apply)", (feed_ns + plan_ns + apply_ns) / n);
  return decoded == per_round * rounds ? 0 : 1;
}
