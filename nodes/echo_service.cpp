// SPDX-License-Identifier: Apache-2.0
// echo_service (see echo_service.hpp): one thread accepts, one thread per
// connection copies bytes back until EOF (then half-closes), one thread
// answers UDP datagrams.
#include "nodes/echo_service.hpp"

#include <string>

namespace tf {

result<std::unique_ptr<echo_service>> echo_service::start(server& node, uint16_t port,
                                                          mode m) {
  std::unique_ptr<echo_service> s{new echo_service};
  s->mode_ = m;
  auto where = ":" + std::to_string(port);
  auto l = node.listen("tcp", where);
  if (!l)
    return l.error();
  auto u = node.listen_packet("udp", ":" + std::to_string(l->port()));
  if (!u)
    return u.error();
  s->port_ = l->port();
  s->listener_ = std::move(*l);
  s->udp_ = std::move(*u);
  s->acceptor_ = std::thread([p = s.get()] { p->accept_loop(); });
  s->udp_thread_ = std::thread([p = s.get()] { p->udp_loop(); });
  return s;
}

echo_service::~echo_service() {
  stop();
}

void echo_service::stop() {
  if (stopping_.exchange(true))
    return;
  listener_.close();
  udp_.close();
  if (acceptor_.joinable())
    acceptor_.join();
  if (udp_thread_.joinable())
    udp_thread_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& c : open_)
      c->close();
    workers.swap(workers_);
  }
  for (auto& w : workers)
    w.join();
}

void echo_service::accept_loop() {
  while (!stopping_) {
    auto c = listener_.accept();
    if (!c)
      return; // closed
    ++connections_;
    auto conn = std::make_shared<netstack::conn>(std::move(*c));
    std::lock_guard<std::mutex> g(mu_);
    open_.push_back(conn);
    workers_.emplace_back([conn, echo = mode_ == mode::echo] {
      std::vector<uint8_t> buf(256 * 1024);
      for (;;) {
        auto n = conn->read(buf);
        if (!n || *n == 0)
          break;
        if (!echo)
          continue;
        auto w = conn->write({buf.data(), *n});
        if (!w || *w != *n)
          break;
      }
      (void)conn->shutdown_write();
    });
  }
}

void echo_service::udp_loop() {
  std::vector<uint8_t> buf(65536);
  while (!stopping_) {
    auto got = udp_.recv_from(buf);
    if (!got)
      return; // closed
    if (mode_ == mode::echo)
      (void)udp_.send_to({buf.data(), got->len}, got->from);
  }
}

} // namespace tf
