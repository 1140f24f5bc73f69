// SPDX-License-Identifier: Apache-2.0
// netstack_bulk: bulk TCP between two nodes of the shared lwIP stack in one
// process over the in-memory switchboard (no encryption), and the cost of
// lwIP's linear pcb demux with many connections. Prints tables; timings
// live here, never in tests.
//
//   netstack_bulk [MiB=1024]          bulk A->B: blocking API and callbacks
//   netstack_bulk demux [N...]        round-robin segments over N connections
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "netstack/netstack.hpp"
#include "tests/netstack/switchboard.hpp"

using namespace tf;
using namespace tf::netstack;
using namespace tf::netstack::testing;
using namespace std::chrono_literals;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct pair_of_nodes {
  switchboard sb;
  node_id a = 0;
  node_id b = 0;
  ip_addr b4 = v4(0x7002);
  pair_of_nodes() {
    a = *sb.add(v4(0x7001), v6(0x7001));
    b = *sb.add(b4, v6(0x7002));
  }
};

// bulk_blocking: a writer thread on A, a reader thread on B (blocking API).
void bulk_blocking(size_t total) {
  pair_of_nodes p;
  auto l = listen_tcp(p.b, {ip_addr{}, 5001});
  auto reader = std::async(std::launch::async, [&] {
    auto s = l->accept(after(10s));
    std::vector<uint8_t> buf(256 * 1024);
    size_t got = 0;
    while (s) {
      auto n = s->read(buf, after(30s));
      if (!n || *n == 0) {
        break;
      }
      got += *n;
    }
    return got;
  });
  auto c = dial_tcp(p.a, {p.b4, 5001}, after(5s));
  std::vector<uint8_t> chunk(256 * 1024, 0x5a);
  auto t0 = std::chrono::steady_clock::now();
  for (size_t sent = 0; sent < total; sent += chunk.size()) {
    (void)c->write(chunk, after(30s));
  }
  (void)c->shutdown_write();
  size_t got = reader.get();
  double s = seconds_since(t0);
  std::printf("| blocking API (writer + reader threads) | %6zu MiB | %6.2f s | %6.2f Gbit/s | %llu pkts, %.0f ns in deliver/pkt |\n",
              got >> 20, s, got * 8 / s / 1e9, static_cast<unsigned long long>(p.sb.delivered.load()),
              double(p.sb.deliver_ns.load()) / double(std::max<uint64_t>(1, p.sb.delivered.load())));
}

// bulk_callbacks: A refills its send buffer from on_writable, B consumes in
// on_data (the callback face: no application threads at all).
void bulk_callbacks(size_t total) {
  pair_of_nodes p;
  std::atomic<size_t> got{0};
  std::atomic<bool> finished{false};
  std::promise<void> done;
  std::shared_ptr<tcp_core> server;
  std::shared_ptr<tcp_listener_core> lc;
  {
    core_guard g;
    lc = *tcp_listener_core::open_locked(p.b, {ip_addr{}, 5002});
    lc->set_on_accept_locked([&](std::shared_ptr<tcp_core> c) {
      server = c;
      tcp_core* raw = c.get();
      c->set_events_locked({[&, raw](size_t) {
                              static thread_local std::vector<uint8_t> sink(65536);
                              while (size_t n = raw->read_locked(sink, true)) {
                                if ((got += n) >= total && !finished.exchange(true)) {
                                  done.set_value();
                                }
                              }
                            },
                            nullptr, nullptr});
    });
  }
  auto c = dial_tcp(p.a, {p.b4, 5002}, after(5s));
  auto core = std::move(*c).release();
  std::vector<uint8_t> chunk(65536, 0xa5);
  size_t sent = 0;
  tcp_core* raw = core.get();
  auto push = [&, raw](size_t) {
    while (sent < total) {
      size_t n = raw->write_locked({chunk.data(), std::min(chunk.size(), total - sent)});
      if (n == 0) {
        break;
      }
      sent += n;
    }
  };
  auto t0 = std::chrono::steady_clock::now();
  {
    core_guard g;
    core->set_events_locked({nullptr, push, nullptr});
    push(0);
  }
  done.get_future().wait_for(120s);
  double s = seconds_since(t0);
  std::printf("| callbacks (no application threads)     | %6zu MiB | %6.2f s | %6.2f Gbit/s | %llu pkts, %.0f ns in deliver/pkt |\n",
              got.load() >> 20, s, got.load() * 8 / s / 1e9,
              static_cast<unsigned long long>(p.sb.delivered.load()),
              double(p.sb.deliver_ns.load()) / double(std::max<uint64_t>(1, p.sb.delivered.load())));
  core_guard g;
  core->set_events_locked({});
  if (server) {
    server->set_events_locked({});
  }
}

// demux: N connections A->B, B echoes in its callbacks. Round-robin: every
// round sends one 100-byte segment on each connection in turn (the worst
// order for lwIP's move-to-front lists). Sparse: request/response on one
// random connection at a time while the others idle.
void demux(size_t num) {
  pair_of_nodes p;
  std::atomic<size_t> got{0};
  std::atomic<bool> echo{false};
  std::vector<std::shared_ptr<tcp_core>> servers;
  std::shared_ptr<tcp_listener_core> lc;
  {
    core_guard g;
    lc = *tcp_listener_core::open_locked(p.b, {ip_addr{}, 5003});
    lc->set_on_accept_locked([&](std::shared_ptr<tcp_core> c) {
      tcp_core* raw = c.get();
      c->set_events_locked({[&, raw](size_t) {
                              uint8_t buf[512];
                              while (size_t n = raw->read_locked(buf, true)) {
                                got += n;
                                if (echo) {
                                  raw->write_locked({buf, n});
                                }
                              }
                            },
                            nullptr, nullptr});
      servers.push_back(std::move(c));
    });
  }
  std::vector<conn> clients;
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < num; ++i) {
    clients.push_back(std::move(*dial_tcp(p.a, {p.b4, 5003}, after(10s))));
  }
  double dial_s = seconds_since(t0);
  std::this_thread::sleep_for(300ms); // let delayed ACKs settle
  size_t rounds = std::max<size_t>(2, 200000 / num);
  uint8_t msg[100] = {};
  uint64_t d0 = p.sb.delivered.load();
  uint64_t ns0 = p.sb.deliver_ns.load();
  size_t want = got.load() + rounds * num * sizeof(msg);
  t0 = std::chrono::steady_clock::now();
  for (size_t r = 0; r < rounds; ++r) {
    for (auto& c : clients) {
      (void)c.write(msg, after(10s));
    }
  }
  while (got.load() < want && seconds_since(t0) < 60) {
    std::this_thread::sleep_for(1ms);
  }
  double s = seconds_since(t0);
  uint64_t pkts = p.sb.delivered.load() - d0;
  double ns = double(p.sb.deliver_ns.load() - ns0);
  // Sparse request/response after everything went idle.
  echo = true;
  std::this_thread::sleep_for(1200ms);
  size_t requests = 4000;
  uint64_t seed = 12345;
  uint8_t back[100];
  auto t1 = std::chrono::steady_clock::now();
  size_t ok = 0;
  for (size_t r = 0; r < requests; ++r) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    conn& c = clients[(seed >> 33) % num];
    (void)c.write(msg, after(10s));
    size_t n = 0;
    while (n < sizeof(back)) {
      auto k = c.read({back + n, sizeof(back) - n}, after(10s));
      if (!k || *k == 0) {
        break;
      }
      n += *k;
    }
    ok += n == sizeof(back) ? 1 : 0;
  }
  double rr_us = seconds_since(t1) * 1e6 / double(requests);
  std::printf("| %6zu | %7.1f ms | %7.0f | %8.2f | %8.1f us (%zu ok) |\n", num, dial_s * 1e3,
              ns / double(std::max<uint64_t>(1, pkts)), double(rounds * num) / s / 1e3, rr_us, ok);
  core_guard g;
  for (auto& c : servers) {
    c->set_events_locked({});
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "demux") {
    std::vector<size_t> counts;
    for (int i = 2; i < argc; ++i) {
      counts.push_back(std::strtoul(argv[i], nullptr, 10));
    }
    if (counts.empty()) {
      counts = {1, 100, 1000, 5000, 10000};
    }
    std::printf("| conns | dial all | round-robin: ns/pkt in deliver | round-robin: k segments/s | sparse request/response |\n");
    std::printf("|---|---|---|---|---|\n");
    for (size_t n : counts) {
      demux(n);
    }
    return 0;
  }
  size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1024;
  std::printf("bulk TCP A->B, one process, MTU %zu, in-memory link (pump thread, batched deliver)\n", mtu);
  std::printf("| face | data | time | throughput | link |\n|---|---|---|---|---|\n");
  bulk_blocking(mib << 20);
  bulk_callbacks(mib << 20);
  return 0;
}
