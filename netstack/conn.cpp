// SPDX-License-Identifier: Apache-2.0
// The blocking TCP API: conn and dial_tcp (see sockets.hpp). Callers are
// application threads; every step takes the core lock and waits on the
// connection's condition variable with the lock released. Reads copy
// without the lock.
#include <algorithm>
#include <string>

#include "netstack/bind.hpp"
#include "netstack/sockets.hpp"
#include "netstack/wait.hpp"

namespace tf::netstack {

namespace {

failure not_open() {
  return make_error(errc::closed, "connection not open");
}

} // namespace

std::shared_ptr<tcp_core> conn::release() && {
  if (core_) {
    core_guard g;
    core_->set_receive_buffer_locked(tcp_core::window);
  }
  return std::move(core_);
}

result<size_t> conn::read(std::span<uint8_t> buf, deadline d) {
  if (!core_) {
    return not_open();
  }
  if (auto ok = detail::check_may_block(); !ok) {
    return ok.error();
  }
  core_guard g;
  tcp_core& c = *core_;
  c.set_receive_buffer_locked(receive_buffer);
  bool ready = detail::wait_locked(c.cv(), d, [&] {
    return c.readable_locked() > 0 || c.eof_locked() || c.error_locked() != nullptr;
  });
  if (c.readable_locked() > 0) {
    // The copy runs without the core lock: the sender's thread goes on
    // feeding the stack meanwhile. The taken bytes are this thread's.
    thread_local std::vector<rx_slice> taken;
    size_t n = c.take_locked(buf.size(), taken);
    {
      core_unguard unlocked;
      tcp_core::copy_taken(taken, buf);
    }
    c.finish_read_locked(taken, true);
    return n;
  }
  if (const failure* err = c.error_locked()) {
    return *err;
  }
  if (c.eof_locked()) {
    return size_t{0};
  }
  (void)ready;
  return make_error(errc::timeout, "read deadline passed");
}

result<size_t> conn::write(std::span<const uint8_t> data, deadline d) {
  if (!core_) {
    return not_open();
  }
  if (auto ok = detail::check_may_block(); !ok) {
    return ok.error();
  }
  core_guard g;
  tcp_core& c = *core_;
  c.widen_send_buffer_locked();
  size_t done = 0;
  while (done < data.size()) {
    if (const failure* err = c.error_locked()) {
      return done > 0 ? result<size_t>(done) : result<size_t>(*err);
    }
    if (c.write_shut_locked()) {
      return make_error(errc::closed, "write after shutdown_write");
    }
    done += c.write_locked(data.subspan(done));
    if (done == data.size()) {
      break;
    }
    size_t want = std::min(tcp_core::write_low_water, data.size() - done);
    bool ready = detail::wait_locked(c.cv(), d, [&] {
      return c.writable_locked() >= want || c.error_locked() != nullptr
             || c.write_shut_locked();
    });
    if (!ready) {
      return done > 0 ? result<size_t>(done)
                      : result<size_t>(make_error(errc::timeout, "write deadline passed"));
    }
  }
  return done;
}

result<void> conn::shutdown_write() {
  if (!core_) {
    return not_open();
  }
  core_guard g;
  return core_->shutdown_write_locked();
}

void conn::close() {
  if (core_) {
    core_guard g;
    core_->close_locked();
  }
}

void conn::abort() {
  if (core_) {
    core_guard g;
    core_->abort_locked();
  }
}

result<conn> dial_tcp(node_id node, const ip_endpoint& remote, deadline d) {
  if (auto ok = detail::check_may_block(); !ok) {
    return ok.error();
  }
  core_guard g;
  auto* n = detail::find_node_locked(node);
  if (n == nullptr) {
    return make_error(errc::not_found, "no such node");
  }
  if (auto ok = detail::check_remote(*n, remote); !ok) {
    return ok.error();
  }
  ip_endpoint dst{remote.addr.unmap(), remote.port};
  const ip_addr_t* local = n->local_for(dst.addr);
  tcp_pcb* pcb = tcp_new_ip_type(IP_GET_TYPE(local));
  if (pcb == nullptr) {
    return make_error(errc::internal, "out of memory for a connection");
  }
  if (!detail::bind_dial_port_locked(*n, pcb, *local)) {
    tcp_close(pcb);
    return make_error(errc::address_space_exhausted, "no free local port for " + dst.to_string());
  }
  auto core = tcp_core::attach_locked(n, pcb, tcp_core::phase::connecting);
  if (auto ok = core->connect_locked(dst); !ok) {
    return ok.error();
  }
  tcp_core& c = *core;
  detail::wait_locked(c.cv(), d, [&] { return c.phase_locked() != tcp_core::phase::connecting; });
  if (c.phase_locked() == tcp_core::phase::connecting) {
    c.abort_locked();
    return make_error(errc::timeout, "dial " + dst.to_string() + ": deadline passed");
  }
  if (const failure* err = c.error_locked()) {
    return *err;
  }
  return conn{std::move(core)};
}

} // namespace tf::netstack
