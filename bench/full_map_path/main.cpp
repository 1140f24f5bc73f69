// SPDX-License-Identifier: Apache-2.0
// full_map_path: the CPU cost of each stage a full netmap passes on a
// node's control session, one thread, no I/O: open (decrypt) + unframe,
// the first decode (which checks and skips the peer list, decode_deferring),
// the peer list's decode in parts (encoded_peers::next_part), and normalize
// + intern + split by shard (plan_full). Prints ms per map and ns per peer
// for each stage: the first map (into an empty intern table, as a node's
// first map in a process) and the median of --rounds maps after it.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <span>
#include <vector>

#include "runtime/control_conn.hpp"
#include "runtime/map_plan.hpp"
#include "runtime/wire_codec.hpp"
#include "tests/support/connected_conns.hpp"
#include "tests/support/synthetic.hpp"

using namespace tf;
using clock_type = std::chrono::steady_clock;

namespace {

struct stage_times {
  double open_ms = 0, first_decode_ms = 0, parts_ms = 0, plan_ms = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

int fail(const char* step) {
  std::fprintf(stderr, "full_map_path: %s failed\n", step);
  return 1;
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

} // namespace

int main(int argc, char** argv) {
  size_t n = 250'000;
  size_t rounds = 5;
  size_t part_len = 16'384; // map_fanout's default part
  CLI::App app{"full_map_path: CPU cost per stage of one full netmap on a node"};
  app.add_option("--n", n, "peers in the map")->capture_default_str();
  app.add_option("--rounds", rounds, "maps measured (after one warm-up)")->capture_default_str();
  app.add_option("--part", part_len, "peers decoded per part")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  // An established client/server pair.
  auto conns = test::connect_in_memory();
  if (!conns)
    return fail("the in-memory handshake");
  auto& [client, server] = *conns;
  client.defer_full_peers(); // as a node's session does
  control_conn::received rx;
  // Each round seals a fresh map: sealed bytes open only once.
  std::vector<uint8_t> sealed;
  auto seal_map = [&] {
    wire::map_response full;
    full.peers.emplace();
    full.peers->reserve(n);
    for (wire::node_id id = 2; id <= n + 1; ++id)
      full.peers->push_back(test::make_peer(id));
    full.domain = test::synthetic_domain;
    sealed.clear();
    return server.send(full, sealed);
  };
  std::vector<stage_times> times;
  stage_times first_map;
  std::vector<wire::node> part;
  size_t planned = 0;
  for (size_t round = 0; round <= rounds; ++round) {
    if (!seal_map())
      return fail("sealing the map");
    stage_times t;
    rx.clear();
    // Open + unframe, 64 KiB per read as the broker does. The session
    // decodes as soon as the frame is whole; here the first decode is timed
    // apart by feeding all but the last read's bytes first.
    auto t0 = clock_type::now();
    size_t off = 0;
    constexpr size_t read_len = 65536;
    for (; off + read_len < sealed.size(); off += read_len)
      if (!client.feed(std::span{sealed.data() + off, read_len}, rx))
        return fail("opening a read");
    t.open_ms = ms_since(t0);
    t0 = clock_type::now();
    if (!client.feed(std::span{sealed.data() + off, sealed.size() - off}, rx))
      return fail("opening the last read");
    t.first_decode_ms = ms_since(t0);
    if (rx.full_peers.size() != 1)
      return fail("deferring the peer list");
    auto& peers = rx.full_peers.front();
    while (peers.remaining() > 0) {
      t0 = clock_type::now();
      if (!peers.next_part(part, part_len))
        return fail("decoding a part");
      t.parts_ms += ms_since(t0);
      t0 = clock_type::now();
      auto plan = plan_full(part, 2);
      planned += plan.shards[0].size() + plan.shards[1].size();
      t.plan_ms += ms_since(t0);
    }
    if (round > 0)
      times.push_back(t);
    else
      first_map = t;
  }
  auto column = [&](double stage_times::*field) {
    std::vector<double> v;
    for (auto& t : times)
      v.push_back(t.*field);
    return median(v);
  };
  std::printf("full_map_path: a map of %zu peers, %zu bytes sealed; the first map, then the "
              "median of %zu\n",
              n, sealed.size(), times.size());
  std::printf("%-44s %10s %10s %10s %10s\n", "stage", "first ms", "ns/peer", "median ms",
              "ns/peer");
  auto row = [&](const char* name, double first_ms, double ms) {
    auto per_peer = [&](double v) { return v * 1e6 / static_cast<double>(n); };
    std::printf("%-44s %10.1f %10.0f %10.1f %10.0f\n", name, first_ms, per_peer(first_ms), ms,
                per_peer(ms));
  };
  auto open = column(&stage_times::open_ms);
  auto first = column(&stage_times::first_decode_ms);
  auto parts = column(&stage_times::parts_ms);
  auto plan = column(&stage_times::plan_ms);
  auto& f = first_map;
  row("node: open + unframe (all but the last read)", f.open_ms, open);
  row("node: last read + first decode (skips peers)", f.first_decode_ms, first);
  row("node: peers decoded in parts", f.parts_ms, parts);
  row("node: normalize + intern + split (plan_full)", f.plan_ms, plan);
  row("node total", f.open_ms + f.first_decode_ms + f.parts_ms + f.plan_ms,
      open + first + parts + plan);
  return planned == n * (rounds + 1) ? 0 : 1;
}
