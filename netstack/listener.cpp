// SPDX-License-Identifier: Apache-2.0
// The blocking listener and UDP socket API (see sockets.hpp). Callers are
// application threads; waits release the core lock.
#include <algorithm>
#include <cstring>

#include "netstack/sockets.hpp"
#include "netstack/wait.hpp"

namespace tf::netstack {

result<listener> listen_tcp(node_id node, const ip_endpoint& local) {
  core_guard g;
  auto core = tcp_listener_core::open_locked(node, local);
  if (!core) {
    return core.error();
  }
  return listener{std::move(*core)};
}

result<conn> listener::accept(deadline d) {
  if (!core_) {
    return make_error(errc::closed, "listener not open");
  }
  if (auto ok = detail::check_may_block(); !ok) {
    return ok.error();
  }
  core_guard g;
  auto& l = *core_;
  std::shared_ptr<tcp_core> c;
  detail::wait_locked(l.cv(), d, [&] {
    c = l.pop_locked();
    return c != nullptr || l.error_locked() != nullptr;
  });
  if (c) {
    return conn{std::move(c)};
  }
  if (const failure* err = l.error_locked()) {
    return *err;
  }
  return make_error(errc::timeout, "accept deadline passed");
}

void listener::close() {
  if (core_) {
    core_guard g;
    core_->close_locked(make_error(errc::closed, "listener closed"));
  }
}

result<packet_conn> listen_udp(node_id node, const ip_endpoint& local) {
  core_guard g;
  auto core = udp_core::open_locked(node, local);
  if (!core) {
    return core.error();
  }
  return packet_conn{std::move(*core)};
}

result<received> packet_conn::recv_from(std::span<uint8_t> buf, deadline d) {
  if (!core_) {
    return make_error(errc::closed, "socket not open");
  }
  if (auto ok = detail::check_may_block(); !ok) {
    return ok.error();
  }
  core_guard g;
  auto& u = *core_;
  std::optional<datagram> got;
  detail::wait_locked(u.cv(), d, [&] {
    got = u.pop_locked();
    return got.has_value() || u.error_locked() != nullptr;
  });
  if (got) {
    received r;
    r.from = got->from;
    r.len = std::min(buf.size(), got->payload.size());
    r.truncated = r.len < got->payload.size();
    if (r.len > 0) {
      std::memcpy(buf.data(), got->payload.data(), r.len);
    }
    return r;
  }
  if (const failure* err = u.error_locked()) {
    return *err;
  }
  return make_error(errc::timeout, "receive deadline passed");
}

result<void> packet_conn::send_to(std::span<const uint8_t> payload, const ip_endpoint& to) {
  if (!core_) {
    return make_error(errc::closed, "socket not open");
  }
  core_guard g;
  return core_->send_to_locked(payload, to);
}

void packet_conn::close() {
  if (core_) {
    core_guard g;
    core_->close_locked(make_error(errc::closed, "socket closed"));
  }
}

} // namespace tf::netstack
