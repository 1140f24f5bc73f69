// SPDX-License-Identifier: Apache-2.0
// tailfleet_cases (see tailfleet_cases.hpp). Bulk: one connection writes
// 256 KiB chunks to a discard service for opt.seconds, half-closes, and the
// clock stops when the service closes its side (every byte was read).
// Latency: message_len-byte request/response round trips on an echo
// service. CPU: user + system seconds of every process of the case.
#include "bench/throughput/tailfleet_cases.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "bench/throughput/subprocess.hpp"
#include "nodes/echo_service.hpp"
#include "nodes/local_client.hpp"
#include "runtime/counters.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/harness.hpp"

namespace tf::bench {

namespace {

using namespace std::chrono;

constexpr uint16_t echo_port = 7000;
constexpr uint16_t discard_port = 7001;

double cpu_seconds_self() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

struct measurement {
  double gbit_per_s = 0;
  double bytes = 0;
  double bulk_cpu_s = 0;
  std::vector<double> rtts_us;
};

/// measure runs the bulk and latency parts from `from` to `host`.
result<measurement> measure(server& from, const std::string& host, const case_options& opt,
                            const std::function<double()>& cpu_now) {
  measurement m;
  {
    auto c = from.dial("tcp", host + ":" + std::to_string(discard_port), seconds(30));
    if (!c)
      return c.error();
    std::vector<uint8_t> chunk(256 * 1024, 0x5a);
    auto cpu0 = cpu_now();
    auto t0 = steady_clock::now();
    auto stop = t0 + duration_cast<steady_clock::duration>(duration<double>(opt.seconds));
    size_t sent = 0;
    while (steady_clock::now() < stop) {
      auto w = c->write(chunk, netstack::after(seconds(30)));
      if (!w)
        return w.error();
      sent += *w;
    }
    if (auto ok = c->shutdown_write(); !ok)
      return ok.error();
    std::vector<uint8_t> buf(4096);
    auto eof = c->read(buf, netstack::after(seconds(60))); // the service's FIN
    if (!eof || *eof != 0)
      return make_error(errc::connection_lost, "discard service did not finish cleanly");
    double secs = duration<double>(steady_clock::now() - t0).count();
    m.bulk_cpu_s = cpu_now() - cpu0;
    m.bytes = double(sent);
    m.gbit_per_s = double(sent) * 8 / secs / 1e9;
  }
  auto c = from.dial("tcp", host + ":" + std::to_string(echo_port), seconds(30));
  if (!c)
    return c.error();
  std::vector<uint8_t> msg(opt.message_len, 0x42);
  std::vector<uint8_t> buf(opt.message_len);
  auto one = [&]() -> result<void> {
    if (auto w = c->write(msg, netstack::after(seconds(10))); !w)
      return w.error();
    for (size_t got = 0; got < msg.size();) {
      auto n = c->read({buf.data() + got, buf.size() - got}, netstack::after(seconds(10)));
      if (!n || *n == 0)
        return make_error(errc::connection_lost, "echo ended early");
      got += *n;
    }
    return {};
  };
  for (int i = 0; i < 100; ++i)
    if (auto ok = one(); !ok)
      return ok.error();
  m.rtts_us.reserve(opt.round_trips);
  for (size_t i = 0; i < opt.round_trips; ++i) {
    auto t0 = steady_clock::now();
    if (auto ok = one(); !ok)
      return ok.error();
    m.rtts_us.push_back(duration<double, std::micro>(steady_clock::now() - t0).count());
  }
  return m;
}

case_result to_row(const std::string& name, measurement& m, std::string detail) {
  case_result row;
  row.name = name;
  row.gbit_per_s = m.gbit_per_s;
  row.p50_us = latency_percentile_us(m.rtts_us, 50);
  row.p99_us = latency_percentile_us(m.rtts_us, 99);
  row.cpu_s_per_gb = m.bulk_cpu_s / (m.bytes / 1e9);
  row.detail = std::move(detail);
  return row;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g s", s);
  return buf;
}

std::string drops_detail() {
  return "tunnel drops: queue " + std::to_string(get_counter("tunnel_tx_queue_full").value())
         + ", send errors " + std::to_string(get_counter("tunnel_tx_send_errors").value())
         + " (lwIP keeps no retransmit count)";
}

} // namespace

result<case_result> measure_in_process(const case_options& opt) {
  test::system_fixture fx;
  auto control = test::start_control(fx.sys);
  if (!control)
    return control.error();
  auto a = test::start_node(fx.sys, *control, "tp-a");
  auto b = test::start_node(fx.sys, *control, "tp-b");
  if (!a || !b)
    return !a ? a.error() : b.error();
  auto echo = echo_service::start(**b, echo_port);
  auto discard = echo_service::start(**b, discard_port, echo_service::mode::discard);
  if (!echo || !discard)
    return !echo ? echo.error() : discard.error();
  if (!test::wait_until([&] { return (*a)->local_client().peer_by_name("tp-b").ok(); },
                        seconds(10)))
    return make_error(errc::timeout, "tp-a never saw tp-b");
  auto m = measure(**a, "tp-b", opt, cpu_seconds_self);
  if (!m)
    return m.error();
  return to_row("in-process", *m,
                "2 nodes, 1 process, in-memory hand-off (no cipher); 1 TCP stream "
                  + seconds_text(opt.seconds) + ", MTU 1280; " + drops_detail());
}

result<case_result> measure_cross_process(const case_options& opt) {
  test::system_fixture fx;
  auto control = test::start_control(fx.sys);
  if (!control)
    return control.error();
  auto a = test::start_node(fx.sys, *control, "tp-local");
  if (!a)
    return a.error();
  auto opts = test::node_options(*control, "tp-remote");
  auto log = "/tmp/tailfleet-throughput-child-" + std::to_string(getpid()) + ".log";
  test::child_process child{{TF_TAILFLEET_BINARY, "up", "--ephemeral", "--mem", "--hostname",
                             "tp-remote", "--control-url", opts.control_url, "--auth-key",
                             opts.auth_key, "--echo", std::to_string(echo_port), "--discard",
                             std::to_string(discard_port)},
                            log};
  if (!child.running())
    return make_error(errc::io_error, std::string{"cannot start "} + TF_TAILFLEET_BINARY);
  bool up = test::wait_until(
    [&] { return test::read_file(log).find("discard: TCP") != std::string::npos
                 && (*a)->local_client().peer_by_name("tp-remote").ok(); },
    seconds(20));
  if (!up)
    return make_error(errc::timeout, "the child node never came up: " + test::read_file(log));
  pid_t pid = child.pid();
  auto m = measure(**a, "tp-remote", opt,
                   [pid] { return cpu_seconds_self() + process_cpu_seconds(pid).value_or(0); });
  child.terminate();
  std::remove(log.c_str());
  if (!m)
    return m.error();
  return to_row("cross-process", *m,
                "2 processes, WireGuard over loopback UDP (ChaCha20-Poly1305, libsodium); 1 TCP "
                "stream " + seconds_text(opt.seconds) + ", MTU 1280; " + drops_detail());
}

} // namespace tf::bench
