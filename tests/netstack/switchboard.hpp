// SPDX-License-Identifier: Apache-2.0
// switchboard: the in-memory link between nodes of the shared stack (the
// netstack link double). Each node's sink looks the destination up and
// queues a copy; a pump thread delivers queue batches with deliver_batch
// (or, direct, the sink calls deliver() itself; or, in_memory, it calls
// deliver_in_memory() and tells the nodes so, as the tunnel's in-process
// routes do). Packets for unknown addresses vanish (a black hole); a test
// may hold packets back and release them later (hold). Sinks run
// under the core lock and only take the switchboard's mutexes. Used by
// tests/netstack and bench/.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "netstack/stack.hpp"

namespace tf::netstack::testing {

class switchboard {
public:
  enum class delivery { pumped, direct, in_memory };

  explicit switchboard(delivery how = delivery::pumped) : how_(how) {
    if (how_ == delivery::pumped) {
      pump_ = std::thread([this] { run(); });
    }
  }
  explicit switchboard(bool direct) : switchboard(direct ? delivery::direct : delivery::pumped) {}

  ~switchboard() {
    for (auto id : ids_) {
      (void)remove_node(id);
    }
    {
      std::lock_guard<std::mutex> g(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (pump_.joinable()) {
      pump_.join();
    }
  }

  /// add registers a node reachable at v4 (and v6 if valid).
  result<node_id> add(const ip_addr& v4, const ip_addr& v6 = {}) {
    node_options opts;
    opts.v4 = v4;
    opts.v6 = v6;
    opts.output = [this](std::span<const uint8_t> pkt) { route(pkt); };
    if (how_ == delivery::in_memory) {
      opts.in_memory_to = [this](const ip_addr& remote) {
        std::shared_lock<std::shared_mutex> g(routes_mu_);
        return routes_.contains(remote);
      };
    }
    auto id = add_node(std::move(opts));
    if (id) {
      std::unique_lock<std::shared_mutex> g(routes_mu_);
      routes_[v4] = *id;
      if (v6.valid()) {
        routes_[v6] = *id;
      }
      ids_.push_back(*id);
    }
    return id;
  }

  /// forget removes the routes to a node (its packets then vanish).
  void forget(const ip_addr& a) {
    std::unique_lock<std::shared_mutex> g(routes_mu_);
    routes_.erase(a);
  }

  /// hold keeps back every packet `match` accepts (instead of delivering
  /// it) until release_held(); one rule at a time.
  void hold(std::function<bool(std::span<const uint8_t>)> match) {
    std::lock_guard<std::mutex> g(mu_);
    hold_if_ = std::move(match);
    holding_.store(hold_if_ != nullptr, std::memory_order_release);
  }

  /// release_held delivers what hold() kept back and stops holding. Call
  /// without the core lock.
  size_t release_held() {
    std::vector<std::pair<node_id, std::vector<uint8_t>>> held;
    {
      std::lock_guard<std::mutex> g(mu_);
      held.swap(held_);
      hold_if_ = nullptr;
      holding_.store(false, std::memory_order_release);
    }
    std::vector<inbound_packet> in;
    for (auto& [id, bytes] : held)
      in.push_back({id, bytes});
    deliver_batch(in);
    return held.size();
  }

  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> black_holed{0};
  /// delivered / deliver_ns: packets the pump handed to the stack and the
  /// time spent inside deliver_batch (for benchmarks).
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> deliver_ns{0};

private:
  void route(std::span<const uint8_t> pkt) {
    ++packets;
    ip_addr dst;
    if ((pkt[0] >> 4) == 4 && pkt.size() >= 20) {
      dst = ip_addr::v4(pkt[16], pkt[17], pkt[18], pkt[19]);
    } else if (pkt.size() >= 40) {
      ip_addr::bytes16 b;
      std::memcpy(b.data(), pkt.data() + 24, 16);
      dst = ip_addr::v6(b);
    }
    node_id to = 0;
    {
      std::shared_lock<std::shared_mutex> g(routes_mu_);
      auto i = routes_.find(dst);
      to = i == routes_.end() ? 0 : i->second;
    }
    if (to == 0) {
      ++black_holed;
      return;
    }
    if (holding_.load(std::memory_order_acquire)) { // no lock per packet otherwise
      std::lock_guard<std::mutex> g(mu_);
      if (hold_if_ && hold_if_(pkt)) {
        held_.emplace_back(to, std::vector<uint8_t>(pkt.begin(), pkt.end()));
        return;
      }
    }
    if (how_ == delivery::direct) {
      deliver(to, pkt);
      return;
    }
    if (how_ == delivery::in_memory) {
      deliver_in_memory(to, pkt);
      return;
    }
    bool first = false;
    {
      std::lock_guard<std::mutex> g(mu_);
      first = queue_.empty();
      queue_.emplace_back(to, std::vector<uint8_t>(pkt.begin(), pkt.end()));
    }
    if (first) {
      cv_.notify_one();
    }
  }

  void run() {
    std::deque<std::pair<node_id, std::vector<uint8_t>>> batch;
    std::vector<inbound_packet> in;
    for (;;) {
      {
        std::unique_lock<std::mutex> g(mu_);
        cv_.wait(g, [&] { return stop_ || !queue_.empty(); });
        if (stop_ && queue_.empty()) {
          return;
        }
        batch.swap(queue_);
      }
      in.clear();
      for (auto& [id, bytes] : batch) {
        in.push_back({id, bytes});
      }
      auto t0 = std::chrono::steady_clock::now();
      deliver_batch(in);
      auto dt = std::chrono::steady_clock::now() - t0;
      deliver_ns += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(dt).count());
      delivered += in.size();
      batch.clear();
    }
  }

  delivery how_;
  std::vector<node_id> ids_;
  // guards: routes_ (read by sinks under the core lock).
  std::shared_mutex routes_mu_;
  absl::flat_hash_map<ip_addr, node_id> routes_;
  // guards: queue_, hold_if_, held_, stop_. Lock order: core lock, then mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<node_id, std::vector<uint8_t>>> queue_;
  std::function<bool(std::span<const uint8_t>)> hold_if_;
  std::atomic<bool> holding_{false};  // hold_if_ is set (read without mu_)
  std::vector<std::pair<node_id, std::vector<uint8_t>>> held_;
  bool stop_ = false;
  std::thread pump_;
};

/// v4 / v6 build test addresses 100.64.x.y and fd7a:115c:a1e0::x:y for n.
inline ip_addr v4(uint32_t n) {
  return ip_addr::v4(100, static_cast<uint8_t>(64 + (n >> 16)), static_cast<uint8_t>(n >> 8),
                     static_cast<uint8_t>(n));
}

inline ip_addr v6(uint32_t n) {
  ip_addr::bytes16 b{0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0};
  b[12] = static_cast<uint8_t>(n >> 24);
  b[13] = static_cast<uint8_t>(n >> 16);
  b[14] = static_cast<uint8_t>(n >> 8);
  b[15] = static_cast<uint8_t>(n);
  return ip_addr::v6(b);
}

/// node_pair is two nodes, a and b, on a switchboard of their own, with
/// addresses derived from `base` (give each test binary its own base).
struct node_pair {
  switchboard sb;
  node_id a = 0;
  node_id b = 0;
  ip_addr a4, a6, b4, b6;

  explicit node_pair(uint32_t base, bool direct = false)
    : node_pair(base, direct ? switchboard::delivery::direct : switchboard::delivery::pumped) {}
  node_pair(uint32_t base, switchboard::delivery how)
    : sb(how), a4(v4(base + 1)), a6(v6(base + 1)), b4(v4(base + 2)), b6(v6(base + 2)) {
    auto x = sb.add(a4, a6);
    auto y = sb.add(b4, b6);
    if (!x.ok() || !y.ok()) {
      throw std::runtime_error("node_pair: cannot add the nodes");
    }
    a = *x;
    b = *y;
  }
};

} // namespace tf::netstack::testing
