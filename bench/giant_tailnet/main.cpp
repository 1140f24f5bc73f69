// SPDX-License-Identifier: Apache-2.0
// giant_tailnet: Tailscale's BenchmarkGiantTailnet over tailfleet's real
// control channel. A fake control (as testcontrol's AltMapStream) speaking
// the real protocol over loopback TCP sends one ephemeral node a full
// netmap of N synthetic peers, then deltas that add a fresh peer and remove
// the previous one. Prints a table (or JSON lines with --json).
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>

#include "bench/giant_tailnet/driver.hpp"
#include "bench/giant_tailnet/stats.hpp"
#include "bench/giant_tailnet/tcp_floor.hpp"
#include "nodes/actor_system_setup.hpp"
#include "nodes/local_client.hpp"
#include "nodes/server.hpp"
#include "nodes/spinning_multiplexer.hpp"
#include "runtime/control_channel.hpp"
#include "runtime/control_conn.hpp"
#include "runtime/frame.hpp"
#include "runtime/peer_intern.hpp"
#include "runtime/wire_codec.hpp"
#include "tests/support/fake_control.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/synthetic.hpp"

namespace tf::bench {
namespace {

using namespace std::chrono;

/// seed_ms are Tailscale's published medians (ms/op) after the O(1) change.
const std::map<size_t, std::pair<double, double>> seed_ms = {
  {10000, {0.11, 0.13}}, {50000, {0.11, 0.13}}, {100000, {0.12, 0.13}}, {250000, {0.12, 0.15}}};

struct row {
  size_t n = 0;
  std::string variant;
  size_t ops = 0;
  double median_us = 0;
  double p99_us = 0;
  double initial_apply_ms = 0;
  double bytes_per_peer = 0;
  double index_bytes_per_peer = 0;
  double seed_us = -1;
  // tcp-floor only: the medians of its two halves, measured before and
  // after the size's variants (a gap shows the machine changed state).
  double floor_before_us = -1;
  double floor_after_us = -1;
  // tcp-floor only: the one-way crossing (tcp_one_way), measured in the
  // same two halves.
  double one_way_us = -1;
  double one_way_p99_us = -1;
  // tcp-floor only: the ping-pong's median with its threads pinned to one
  // CPU and to two (a placement the unpinned floor may or may not have
  // had); -1 where the process may not use enough CPUs.
  double floor_one_cpu_us = -1;
  double floor_two_cpus_us = -1;
  // CPU time of the whole process (every thread: user + system) per op,
  // spins included: what the latency costs.
  double cpu_us_per_op = 0;
};

/// process_cpu_us is this process's CPU time so far (user + system).
double process_cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + t.tv_usec; };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

struct options {
  std::vector<size_t> sizes{10000, 50000, 100000, 250000};
  size_t ops = 2000;
  size_t full_rebuild_ops = 20;
  size_t shards = 2;
  bool json = false;
  bool driver_thread = false;  // run_spec::own_thread
  std::vector<std::string> variants{"no-watcher", "bus-watcher", "pipelined", "full-rebuild"};

  bool wants(variant v) const {
    return std::find(variants.begin(), variants.end(), variant_name(v)) != variants.end();
  }
};

/// pipelined_rounds is how often the pipelined variant sends its `ops`
/// deltas: one round is a single sample, and a scheduler hiccup of a
/// millisecond moves it by half a microsecond per delta, so the table shows
/// the median round and (as p99) the slowest.
constexpr size_t pipelined_rounds = 5;

/// wire_delta_len is the size on the wire of one benchmark delta (its
/// frame, sealed in one record): what the TCP floor's frames carry, for a
/// fair comparison.
size_t wire_delta_len() {
  wire::map_response r;
  r.peers_changed.push_back(test::make_peer(250002));
  r.peers_removed.push_back(250001);
  return control_record_len(wire::encode(r).size() + frame_header_len);
}

std::vector<row> run_size(caf::actor_system& sys, const options& opt, size_t n) {
  std::vector<row> rows;
  // The floor is measured for each size, half right before its variants and
  // half right after, so a ratio compares the node with the machine in the
  // state it ran in (this host's floor moves between 12 and 125 us).
  auto floor_ops = std::min<size_t>(opt.ops, 2000);
  constexpr size_t floor_warmup = 200; // round trips before each half's clock starts
  auto floor_len = wire_delta_len();
  // -- the synthetic tailnet: self is id 1, peers 2..n+1, fresh ids after.
  auto initial = std::make_shared<std::vector<wire::node>>();
  size_t total_ops = 2 * opt.ops + pipelined_rounds * opt.ops + opt.full_rebuild_ops;
  auto fresh = std::make_shared<std::vector<wire::node>>();
  fresh->reserve(total_ops);
  for (size_t i = 0; i < total_ops; ++i)
    fresh->push_back(test::make_peer(n + 2 + i));
  auto control = fake_control::listen();
  if (!control)
    throw std::runtime_error(control.error().message());
  // RSS before the synthetic map exists: the growth measured after the map
  // was sent and applied is what the node keeps (the map itself is freed).
  auto rss_before = rss_bytes();
  wire::map_response full;
  full.peers.emplace();
  full.peers->reserve(n);
  for (wire::node_id id = 2; id <= n + 1; ++id)
    full.peers->push_back(test::make_peer(id));
  full.dns = wire::dns_config{};
  full.domain = test::synthetic_domain;
  full.user_profiles.push_back({test::synthetic_user, "bench@largetailnet", "Bench", ""});

  server node{sys, test::node_options(**control, "largetailnet-bench", opt.shards)};
  if (auto ok = node.start(); !ok)
    throw std::runtime_error("start: " + ok.error().message());
  auto sent_at = (*control)->serve_node(std::move(full));
  if (!sent_at)
    throw std::runtime_error("fake control: " + sent_at.error().message());
  auto st = node.up(seconds(120));
  if (!st)
    throw std::runtime_error("up: " + st.error().message());
  auto lc = node.local_client();
  lc.timeout = seconds(120);
  auto status = lc.status(); // answered by the shards after their full load
  auto applied_at = steady_clock::now();
  if (!status || status->num_peers != n)
    throw std::runtime_error("initial netmap not applied");
  double initial_ms = duration<double, std::milli>(applied_at - *sent_at).count();
  auto rss_after = rss_bytes();
  size_t index_bytes = 0;
  size_t record_bytes = 0;
  {
    caf::scoped_actor self{sys};
    self->request(node.actor(), seconds(60), actors::stats_atom::value)
      .receive(
        [&](std::vector<actors::shard_stats>& all) {
          for (auto& s : all) {
            index_bytes += s.index_bytes;
            record_bytes += s.record_bytes;
          }
        },
        [](caf::error&) {});
  }
  if (!opt.json)
    std::printf("N=%zu: RSS %+.0f MB; per peer: records %.0f B, shard indexes %.0f B, intern "
                "table %.0f B\n",
                n, (static_cast<double>(rss_after) - static_cast<double>(rss_before)) / 1e6,
                static_cast<double>(record_bytes) / static_cast<double>(n),
                static_cast<double>(index_bytes) / static_cast<double>(n),
                static_cast<double>(interned_peer_table_bytes()) / static_cast<double>(n));
  double bytes_per_peer = static_cast<double>(rss_after - rss_before) / static_cast<double>(n);

  size_t used = 0;
  wire::node_id previous = 0;
  // run_once runs one driver and returns its samples (one per op; one per
  // run for pipelined).
  auto run_once = [&](variant v, size_t ops) {
    run_spec rs;
    rs.kind = v;
    rs.control = control->get();
    rs.node = node.actor();
    rs.peers = fresh;
    rs.first = used;
    rs.ops = ops;
    rs.previous = previous;
    rs.done = std::make_shared<std::promise<std::vector<double>>>();
    rs.own_thread = opt.driver_thread;
    auto result = rs.done->get_future();
    auto d = spawn_driver(sys, rs);
    caf::anon_send(d, actors::tick_atom::value);
    auto samples = result.get();
    used += ops;
    previous = (*fresh)[used - 1].id;
    return samples;
  };
  auto run = [&](variant v, size_t ops) {
    auto rounds = v == variant::pipelined ? pipelined_rounds : 1;
    std::vector<double> samples;
    auto cpu0 = process_cpu_us();
    for (size_t k = 0; k < rounds; ++k) {
      auto got = run_once(v, ops);
      samples.insert(samples.end(), got.begin(), got.end());
    }
    row r;
    r.cpu_us_per_op = (process_cpu_us() - cpu0) / static_cast<double>(ops * rounds);
    r.n = n;
    r.variant = variant_name(v);
    r.ops = ops;
    r.median_us = percentile(samples, 50);
    r.p99_us = percentile(samples, 99);
    r.initial_apply_ms = initial_ms;
    r.bytes_per_peer = bytes_per_peer;
    r.index_bytes_per_peer = static_cast<double>(index_bytes) / static_cast<double>(n);
    if (auto s = seed_ms.find(n); s != seed_ms.end()) {
      if (v == variant::no_watcher)
        r.seed_us = s->second.first * 1000;
      if (v == variant::bus_watcher)
        r.seed_us = s->second.second * 1000;
    }
    rows.push_back(r);
  };
  auto reader_spin = caf::get_or(sys.config(), io_spin_key, default_io_spin);
  auto floor_cpu0 = process_cpu_us();
  auto before = tcp_ping_pong(floor_len, floor_ops / 2, floor_warmup);
  auto floor_cpu = process_cpu_us() - floor_cpu0;
  auto one_way = tcp_one_way(floor_len, floor_ops / 2, floor_warmup, reader_spin);
  for (auto v : {variant::no_watcher, variant::bus_watcher, variant::pipelined})
    if (opt.wants(v))
      run(v, opt.ops);
  floor_cpu0 = process_cpu_us();
  auto after = tcp_ping_pong(floor_len, floor_ops - floor_ops / 2, floor_warmup);
  floor_cpu += process_cpu_us() - floor_cpu0;
  auto one_way_after = tcp_one_way(floor_len, floor_ops - floor_ops / 2, floor_warmup, reader_spin);
  one_way.insert(one_way.end(), one_way_after.begin(), one_way_after.end());
  auto pinned_ops = std::max<size_t>(floor_ops / 4, 1);
  auto one_cpu = tcp_ping_pong(floor_len, pinned_ops, floor_warmup, floor_placement::one_cpu);
  auto two_cpus = tcp_ping_pong(floor_len, pinned_ops, floor_warmup, floor_placement::two_cpus);
  auto floor_samples = before;
  floor_samples.insert(floor_samples.end(), after.begin(), after.end());
  if (opt.wants(variant::full_rebuild))
    run(variant::full_rebuild, opt.full_rebuild_ops);
  row floor;
  floor.n = n;
  floor.variant = "tcp-floor";
  floor.ops = floor_ops;
  floor.floor_before_us = percentile(before, 50);
  floor.floor_after_us = percentile(after, 50);
  floor.median_us = percentile(floor_samples, 50);
  floor.one_way_us = percentile(one_way, 50);
  floor.one_way_p99_us = percentile(one_way, 99);
  if (!one_cpu.empty())
    floor.floor_one_cpu_us = percentile(one_cpu, 50);
  if (!two_cpus.empty())
    floor.floor_two_cpus_us = percentile(two_cpus, 50);
  floor.cpu_us_per_op = floor_cpu / static_cast<double>(floor_ops + 2 * floor_warmup);
  floor.p99_us = percentile(floor_samples, 99);
  floor.initial_apply_ms = initial_ms;
  floor.bytes_per_peer = bytes_per_peer;
  floor.index_bytes_per_peer = static_cast<double>(index_bytes) / static_cast<double>(n);
  rows.push_back(floor);
  // The node logs out when it closes: the fake control confirms it.
  std::thread logout{[&] { (*control)->answer_logout(seconds(5)); }};
  static_cast<void>(node.close());
  logout.join();
  return rows;
}

void print_json(const row& r) {
  nlohmann::json j{{"n", r.n},
                   {"variant", r.variant},
                   {"ops", r.ops},
                   {"us_per_op", r.median_us},
                   {"p99_us", r.p99_us},
                   {"initial_apply_ms", r.initial_apply_ms},
                   {"bytes_per_peer", r.bytes_per_peer},
                   {"index_bytes_per_peer", r.index_bytes_per_peer},
                   {"cpu_us_per_op", r.cpu_us_per_op}};
  if (r.seed_us >= 0)
    j["seed_us"] = r.seed_us;
  if (r.floor_before_us >= 0) {
    j["floor_before_us"] = r.floor_before_us;
    j["floor_after_us"] = r.floor_after_us;
    j["one_way_us"] = r.one_way_us;
    j["one_way_p99_us"] = r.one_way_p99_us;
    if (r.floor_one_cpu_us >= 0)
      j["floor_one_cpu_us"] = r.floor_one_cpu_us;
    if (r.floor_two_cpus_us >= 0)
      j["floor_two_cpus_us"] = r.floor_two_cpus_us;
  }
  std::cout << j.dump() << std::endl;
}

void print_table(const std::vector<row>& rows) {
  std::printf("\n%8s  %-13s %6s %11s %11s %11s %9s %9s %12s %11s %11s\n", "N", "variant",
              "ops", "median us", "p99 us", "x floor", "x 1-cpu", "seed us", "initial ms",
              "bytes/peer", "cpu us/op");
  // By N: each size has its own floor, unpinned (x floor) and with its
  // threads pinned to one CPU (x 1-cpu).
  std::map<size_t, double> floor_of;
  std::map<size_t, double> one_cpu_floor_of;
  for (auto& r : rows)
    if (r.variant == "tcp-floor") {
      floor_of[r.n] = r.median_us;
      one_cpu_floor_of[r.n] = r.floor_one_cpu_us;
    }
  auto ratio = [](double us, double floor) {
    char out[32] = "-";
    if (floor > 0)
      std::snprintf(out, sizeof(out), "%.2f", us / floor);
    return std::string{out};
  };
  for (auto& r : rows) {
    char seed[32] = "-";
    if (r.seed_us >= 0)
      std::snprintf(seed, sizeof(seed), "%.0f", r.seed_us);
    std::printf("%8zu  %-13s %6zu %11.1f %11.1f %11s %9s %9s %12.1f %11.0f %11.1f\n", r.n,
                r.variant.c_str(), r.ops, r.median_us, r.p99_us,
                ratio(r.median_us, floor_of[r.n]).c_str(),
                ratio(r.median_us, one_cpu_floor_of[r.n]).c_str(), seed, r.initial_apply_ms,
                r.bytes_per_peer, r.cpu_us_per_op);
  }
  std::printf("\ntcp-floor halves (median us, before / after each size's variants):");
  for (auto& r : rows)
    if (r.floor_before_us >= 0)
      std::printf("  %zu: %.1f / %.1f", r.n, r.floor_before_us, r.floor_after_us);
  std::printf("\ntcp one-way crossing (median / p99 us: write, epoll, read; no work, no reply):");
  for (auto& r : rows)
    if (r.one_way_us >= 0)
      std::printf("  %zu: %.1f / %.1f", r.n, r.one_way_us, r.one_way_p99_us);
  std::printf("\ntcp-floor pinned (median us, both threads on one CPU / on two CPUs; - where the"
              " process may not use enough CPUs):");
  for (auto& r : rows)
    if (r.floor_before_us >= 0) {
      std::printf("  %zu: ", r.n);
      if (r.floor_one_cpu_us >= 0)
        std::printf("%.1f", r.floor_one_cpu_us);
      else
        std::printf("-");
      if (r.floor_two_cpus_us >= 0)
        std::printf(" / %.1f", r.floor_two_cpus_us);
      else
        std::printf(" / -");
    }
  std::printf("\n");
}

} // namespace
} // namespace tf::bench

int main(int argc, char** argv) {
  using namespace tf::bench;
  options opt;
  std::string sizes;
  CLI::App app{"giant_tailnet: cost of one peer add+remove delta in a tailnet of N peers"};
  app.add_option("--n", opt.sizes, "tailnet sizes, comma-separated")->delimiter(',');
  app.add_option("--ops", opt.ops, "operations per variant")->capture_default_str();
  app.add_option("--full-rebuild-ops", opt.full_rebuild_ops,
                 "operations of the (slow) full-rebuild variant")
    ->capture_default_str();
  app.add_option("--shards", opt.shards, "peer-map shards of the node")->capture_default_str();
  app.add_flag("--json", opt.json, "one JSON object per line");
  app.add_option("--variants", opt.variants, "variants to run (default: all)")->delimiter(',');
  app.add_flag("--driver-thread", opt.driver_thread,
               "the driver on a thread of its own (a detached actor), as a control server "
               "in another process would be");
  long io_spin_us = -1;
  app.add_option("--io-spin-us", io_spin_us,
                 "how long the I/O thread polls before it sleeps (default: tailfleet's)");
  long io_run_next_us = -1;
  app.add_option("--io-run-next-us", io_run_next_us,
                 "how long a round of actors readied by the I/O thread may run there "
                 "(0: on the workers; default: tailfleet's)");
  std::vector<std::string> caf_args;
  app.add_option("--caf", caf_args, "CAF options, e.g. --caf=--scheduler.max-threads=2");
  CLI11_PARSE(app, argc, argv);

  caf::actor_system_config cfg;
  if (!caf_args.empty()) {
    std::vector<char*> args{argv[0]};
    for (auto& a : caf_args)
      args.push_back(a.data());
    if (auto err = cfg.parse(static_cast<int>(args.size()), args.data()))
      std::cerr << "bad CAF option\n";
  }
  if (io_spin_us >= 0)
    tf::set_io_spin(cfg, caf::timespan{std::chrono::microseconds{io_spin_us}});
  if (io_run_next_us >= 0)
    tf::set_io_run_next(cfg, caf::timespan{std::chrono::microseconds{io_run_next_us}});
  tf::configure_actor_system(cfg);
  caf::actor_system sys{cfg};

  std::vector<row> all;
  for (auto n : opt.sizes) {
    try {
      auto rows = run_size(sys, opt, n);
      for (auto& r : rows) {
        if (opt.json)
          print_json(r);
        all.push_back(r);
      }
    } catch (const std::exception& e) {
      std::cerr << "giant_tailnet: N=" << n << ": " << e.what() << "\n";
      return 1;
    }
  }
  if (!opt.json) {
    std::printf("machine: %u cores, %zu CAF workers; delta frame %zu bytes on the wire\n",
                std::thread::hardware_concurrency(), sys.scheduler().num_workers(),
                wire_delta_len());
    print_table(all);
  }
  return 0;
}
