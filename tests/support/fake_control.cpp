// SPDX-License-Identifier: Apache-2.0
// The benchmark's fake control. Blocking socket I/O on whichever thread
// currently owns the object.
#include "tests/support/fake_control.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "runtime/tcp_listen.hpp"
#include "tests/support/synthetic.hpp"

namespace tf::test {

namespace {

void set_blocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
}

} // namespace

result<std::unique_ptr<fake_control>> fake_control::listen() {
  auto sock = listen_tcp("127.0.0.1", 0);
  if (!sock)
    return sock.error();
  std::unique_ptr<fake_control> out{new fake_control};
  out->listen_fd_ = sock->fd;
  out->port_ = sock->port;
  set_blocking(out->listen_fd_);
  out->key_ = machine_private_key::generate();
  out->public_key_ = out->key_.public_key();
  return out;
}

fake_control::~fake_control() {
  if (fd_ >= 0)
    ::close(fd_);
  if (listen_fd_ >= 0)
    ::close(listen_fd_);
}

std::string fake_control::url() const {
  return "tcp://127.0.0.1:" + std::to_string(port_);
}

result<void> fake_control::write_all(const std::vector<uint8_t>& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return make_error(errc::io_error, std::string{"fake control: send: "} + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return {};
}

result<wire::message> fake_control::read_message() {
  while (rx_next_ >= rx_.messages.size()) {
    rx_.clear();
    rx_next_ = 0;
    uint8_t buf[65536];
    auto n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0)
      return make_error(errc::connection_lost, "fake control: the node hung up");
    if (auto ok = conn_->feed(std::span{buf, static_cast<size_t>(n)}, rx_); !ok)
      return ok.error();
    if (!rx_.to_send.empty())
      if (auto ok = write_all(rx_.to_send); !ok)
        return ok.error();
  }
  return std::move(rx_.messages[rx_next_++]);
}

result<std::chrono::steady_clock::time_point> fake_control::serve_node(wire::map_response full) {
  fd_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd_ < 0)
    return make_error(errc::io_error, std::string{"fake control: accept: "} + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  conn_.emplace(control_conn::server(key_));
  for (;;) {
    auto msg = read_message();
    if (!msg)
      return msg.error();
    std::vector<uint8_t> out;
    if (std::holds_alternative<wire::register_request>(*msg)) {
      wire::register_response r;
      r.id = self_id;
      r.stable_id = "self";
      r.machine_authorized = true;
      r.user = {test::synthetic_user, "bench@largetailnet", "Bench", ""};
      if (auto ok = conn_->send(r, out); !ok)
        return ok.error();
      if (auto ok = write_all(out); !ok)
        return ok.error();
      continue;
    }
    auto* req = std::get_if<wire::map_request>(&*msg);
    if (!req || !req->stream)
      continue;
    wire::node self;
    self.id = self_id;
    self.stable_id = "self";
    self.name = "largetailnet-bench." + std::string{test::synthetic_domain};
    self.key = req->node_key;
    self.addresses = {ip_prefix::host(ip_addr::v4(100, 64, 0, 1)),
                      ip_prefix::host(test::synthetic_v6(1))};
    self.user = test::synthetic_user;
    self.hostname = "largetailnet-bench";
    self.machine_authorized = true;
    full.self = std::move(self);
    // The clock starts when the map is ready to go, as a server's would
    // after it built (encoded and sealed) the map.
    if (auto ok = conn_->send(full, out); !ok)
      return ok.error();
    auto at = std::chrono::steady_clock::now();
    if (auto ok = write_all(out); !ok)
      return ok.error();
    return at;
  }
}

namespace {

// stream_in_chunks queues a chunk of messages at a time with `queue(i)`,
// seals it into `out` and hands that to `write`: the node decodes one chunk
// while the next is prepared, as it would from a server.
template <class Queue, class Write>
result<void> stream_in_chunks(control_conn& conn, size_t count, std::vector<uint8_t>& out,
                              Queue&& queue, Write&& write) {
  constexpr size_t chunk = 64;
  for (size_t i = 0; i < count; i += chunk) {
    for (size_t j = i; j < std::min(count, i + chunk); ++j)
      queue(j);
    out.clear();
    if (auto ok = conn.seal_queued(out); !ok)
      return ok;
    if (auto ok = write(out); !ok)
      return ok;
  }
  return {};
}

} // namespace

result<void> fake_control::send(std::span<const wire::message> batch) {
  return stream_in_chunks(
    *conn_, batch.size(), tx_, [&](size_t i) { conn_->queue(batch[i]); },
    [&](const std::vector<uint8_t>& out) { return write_all(out); });
}

result<void> fake_control::send_encoded(std::span<const std::vector<uint8_t>> batch) {
  return stream_in_chunks(
    *conn_, batch.size(), tx_, [&](size_t i) { conn_->queue_encoded(batch[i]); },
    [&](const std::vector<uint8_t>& out) { return write_all(out); });
}

void fake_control::answer_logout(std::chrono::milliseconds limit) {
  pollfd p{fd_, POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (rx_next_ >= rx_.messages.size() && ::poll(&p, 1, 50) <= 0)
      continue;
    auto msg = read_message();
    if (!msg)
      return;
    if (auto* reg = std::get_if<wire::register_request>(&*msg); reg && reg->expiry != 0) {
      wire::register_response r;
      r.logged_out = true;
      std::vector<uint8_t> out;
      if (conn_->send(r, out).ok())
        static_cast<void>(write_all(out));
      return;
    }
  }
}

} // namespace tf::test
