// SPDX-License-Identifier: Apache-2.0
// The fd bridge (see fd_bridge.hpp): one epoll thread pumps all bridged
// connections. Connection callbacks (core lock held) only mark an entry
// ready under ready_mu_; the bridge thread alone owns the entries and never
// holds ready_mu_ while taking the core lock. Lock order: core lock, then
// ready_mu_. Never blocks on a socket (all bridge-side fds are non-blocking).
#include "netstack/fd_bridge.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include "netstack/core_lock.hpp"
#include "runtime/counters.hpp"

namespace tf::netstack {

namespace {

constexpr size_t chunk = 64 * 1024;

// entry is one bridged connection. Owned and touched by the bridge thread only.
struct entry {
  uint64_t id = 0;
  std::shared_ptr<tcp_core> core;
  int fd = -1;                  // our end, non-blocking
  std::vector<uint8_t> to_fd;   // taken from lwIP (unacked), not yet written to fd
  size_t to_fd_off = 0;
  size_t to_ack = 0;            // written to fd, not yet acked to lwIP
  std::vector<uint8_t> to_net;  // read from fd, not yet taken by lwIP
  bool fd_eof = false;          // the user shut down writing
  bool net_eof_sent = false;    // we shut down writing towards the user
  uint32_t mask = 0;            // current epoll interest
};

class bridge_service {
public:
  bridge_service() {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    evfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev);
    std::thread([this] { run(); }).detach(); // lives as long as the process
  }

  result<int> add(std::shared_ptr<tcp_core> core) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      TF_COUNTER("netstack_bridge_socketpair_failed").add();
      return make_error(errc::io_error, "socketpair failed");
    }
    fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
    auto e = std::make_unique<entry>();
    e->id = next_id_.fetch_add(1);
    e->fd = sv[1];
    e->core = std::move(core);
    uint64_t id = e->id;
    {
      core_guard g;
      e->core->set_events_locked(conn_events{
        [this, id](size_t) { wake(id); },
        [this, id](size_t) { wake(id); },
        [this, id](const failure*) { wake(id); },
      });
    }
    connections_.fetch_add(1);
    {
      std::lock_guard<std::mutex> g(ready_mu_);
      adds_.push_back(std::move(e));
      ready_.insert(id);
    }
    kick();
    return sv[0];
  }

  bridge_stats stats() const {
    return {connections_.load(), buffered_.load()};
  }

private:
  void wake(uint64_t id) {
    bool first = false;
    {
      std::lock_guard<std::mutex> g(ready_mu_);
      first = ready_.empty();
      ready_.insert(id);
    }
    if (first) {
      kick();
    }
  }

  void kick() {
    uint64_t one = 1;
    [[maybe_unused]] auto n = write(evfd_, &one, sizeof(one));
  }

  void run();
  void pump(entry& e);
  bool net_to_fd(entry& e, bool& want_out);
  bool fd_to_net(entry& e, bool& want_in);
  long send_some(entry& e, const uint8_t* data, size_t len);
  void set_mask(entry& e, uint32_t mask);
  void retire(entry& e);

  int epfd_ = -1;
  int evfd_ = -1;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<size_t> connections_{0};
  std::atomic<size_t> buffered_{0};
  // guards: ready_, adds_. Taken inside the core lock by connection callbacks.
  std::mutex ready_mu_;
  absl::flat_hash_set<uint64_t> ready_;
  std::vector<std::unique_ptr<entry>> adds_;
  // Bridge thread only.
  absl::flat_hash_map<uint64_t, std::unique_ptr<entry>> entries_;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(chunk);
};

void bridge_service::run() {
  std::vector<epoll_event> events(256);
  absl::flat_hash_set<uint64_t> todo;
  std::vector<std::unique_ptr<entry>> adds;
  for (;;) {
    int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == 0) {
        uint64_t v;
        [[maybe_unused]] auto r = read(evfd_, &v, sizeof(v));
      } else {
        todo.insert(events[i].data.u64);
      }
    }
    {
      std::lock_guard<std::mutex> g(ready_mu_);
      adds.swap(adds_);
      todo.insert(ready_.begin(), ready_.end());
      ready_.clear();
    }
    for (auto& e : adds) {
      uint64_t id = e->id;
      entries_.emplace(id, std::move(e));
    }
    adds.clear();
    for (uint64_t id : todo) {
      auto i = entries_.find(id);
      if (i == entries_.end()) {
        continue;
      }
      pump(*i->second);
      if (i->second->fd < 0) {
        entries_.erase(i);
      }
    }
    todo.clear();
  }
}

void bridge_service::pump(entry& e) {
  bool want_out = false;
  bool want_in = false;
  if (!net_to_fd(e, want_out) || !fd_to_net(e, want_in)) {
    retire(e);
    return;
  }
  if (e.fd_eof && e.net_eof_sent && e.to_net.empty() && e.to_fd.empty()) {
    retire(e); // both directions finished: close gracefully
    return;
  }
  set_mask(e, (want_in ? EPOLLIN : 0u) | (want_out ? EPOLLOUT : 0u));
}

long bridge_service::send_some(entry& e, const uint8_t* data, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = send(e.fd, data + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      return -1; // the user closed their end
    }
  }
  return static_cast<long>(done);
}

// net_to_fd moves bytes lwIP received into the socketpair, acking each byte
// to lwIP only after it was written. false: the connection is finished.
bool bridge_service::net_to_fd(entry& e, bool& want_out) {
  if (!e.to_fd.empty()) {
    long n = send_some(e, e.to_fd.data() + e.to_fd_off, e.to_fd.size() - e.to_fd_off);
    if (n < 0) {
      return false;
    }
    e.to_fd_off += static_cast<size_t>(n);
    e.to_ack += static_cast<size_t>(n);
    buffered_.fetch_sub(static_cast<size_t>(n));
    if (e.to_fd_off < e.to_fd.size()) {
      want_out = true;
      return true;
    }
    e.to_fd = {};
    e.to_fd_off = 0;
  }
  for (;;) {
    size_t got = 0;
    bool eof = false;
    bool failed = false;
    {
      core_guard g;
      e.core->ack_locked(e.to_ack);
      got = e.core->read_locked(buf_, false);
      eof = e.core->eof_locked();
      failed = e.core->error_locked() != nullptr;
    }
    e.to_ack = 0;
    if (got == 0) {
      if (failed) {
        return false;
      }
      if (eof && !e.net_eof_sent) {
        shutdown(e.fd, SHUT_WR);
        e.net_eof_sent = true;
      }
      return true;
    }
    long n = send_some(e, buf_.data(), got);
    if (n < 0) {
      return false;
    }
    e.to_ack = static_cast<size_t>(n);
    if (static_cast<size_t>(n) < got) {
      e.to_fd.assign(buf_.begin() + n, buf_.begin() + static_cast<long>(got));
      buffered_.fetch_add(e.to_fd.size());
      want_out = true;
      return true;
    }
  }
}

// fd_to_net moves bytes the user wrote into lwIP, reading the socketpair
// only as far as lwIP's send buffer has room. false: finished.
bool bridge_service::fd_to_net(entry& e, bool& want_in) {
  while (!e.fd_eof) {
    size_t room = 0;
    {
      core_guard g;
      if (!e.to_net.empty()) {
        size_t k = e.core->write_locked(e.to_net);
        e.to_net.erase(e.to_net.begin(), e.to_net.begin() + static_cast<long>(k));
        buffered_.fetch_sub(k);
      }
      if (e.core->error_locked() != nullptr) {
        return false;
      }
      room = e.to_net.empty() ? e.core->writable_locked() : 0;
    }
    if (room == 0) {
      return true; // on_writable wakes us when lwIP's send buffer drains
    }
    ssize_t n = recv(e.fd, buf_.data(), std::min(room, chunk), MSG_DONTWAIT);
    if (n > 0) {
      core_guard g;
      size_t k = e.core->write_locked({buf_.data(), static_cast<size_t>(n)});
      if (k < static_cast<size_t>(n)) {
        e.to_net.assign(buf_.begin() + static_cast<long>(k), buf_.begin() + n);
        buffered_.fetch_add(e.to_net.size());
      }
    } else if (n == 0) {
      e.fd_eof = true;
      core_guard g;
      (void)e.core->shutdown_write_locked();
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      want_in = true;
      return true;
    } else if (errno != EINTR) {
      return false;
    }
  }
  return true;
}

void bridge_service::set_mask(entry& e, uint32_t mask) {
  if (mask == e.mask) {
    return;
  }
  epoll_event ev{};
  ev.events = mask;
  ev.data.u64 = e.id;
  if (mask == 0) {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, e.fd, nullptr); // no HUP spinning while idle
  } else {
    epoll_ctl(epfd_, e.mask == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, e.fd, &ev);
  }
  e.mask = mask;
}

void bridge_service::retire(entry& e) {
  {
    core_guard g;
    e.core->set_events_locked({});
    e.core->close_locked();
  }
  e.core.reset();
  set_mask(e, 0);
  close(e.fd);
  e.fd = -1;
  buffered_.fetch_sub(e.to_fd.size() - e.to_fd_off + e.to_net.size());
  connections_.fetch_sub(1);
}

bridge_service& service() {
  static bridge_service& s = *new bridge_service;
  return s;
}

} // namespace

result<int> bridge_fd(conn c) {
  auto core = std::move(c).release();
  if (!core) {
    return make_error(errc::closed, "connection not open");
  }
  return service().add(std::move(core));
}

bridge_stats fd_bridge_stats() {
  return service().stats();
}

} // namespace tf::netstack
