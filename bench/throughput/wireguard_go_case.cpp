// SPDX-License-Identifier: Apache-2.0
// The wireguard-go reference case: drives scripts/wg-peer-netns.sh, iperf3
// and the namespace ping-pong from main's thread. Owns the pair it brought
// up (a guard runs `down`); never touches the root namespace itself.
#include "bench/throughput/wireguard_go_case.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>

#include "bench/throughput/iperf3_report.hpp"
#include "bench/throughput/netns_ping_pong.hpp"
#include "bench/throughput/subprocess.hpp"
#include "runtime/counters.hpp"

namespace tf::bench {

namespace {

using namespace std::chrono_literals;

constexpr const char* iperf3_port = "5201";

/// pair_guard runs `down NAME` when it goes out of scope (idempotent).
struct pair_guard {
  std::string script;
  std::string name;
  ~pair_guard() {
    auto down = run_command({script, "down", name}, 60s);
    if (!down || down->exit_code != 0) {
      std::fprintf(stderr, "throughput: '%s down %s' failed; its watchdog will retry\n",
                   script.c_str(), name.c_str());
    }
  }
};

/// skip_reason says why this machine cannot run the case ("" when it can).
std::string skip_reason(const case_options& opt) {
  if (::geteuid() != 0) {
    return "not root (the wireguard-go pair needs network namespaces)";
  }
  for (const char* tool : {"ip", "wireguard-go", "wg", "iperf3", "ss"}) {
    if (find_in_path(tool).empty()) {
      return std::string{tool} + " not installed (scripts/install-deps.sh)";
    }
  }
  if (opt.wg_script.empty() || ::access(opt.wg_script.c_str(), X_OK) != 0) {
    return "no executable wg script at '" + opt.wg_script + "' (--wg-script)";
  }
  auto probe = run_command({opt.wg_script, "probe"}, 30s);
  if (!probe || probe->exit_code != 0) {
    return "cannot create a network namespace (ip netns add failed)";
  }
  return {};
}

/// cpu_seconds is the CPU time of wireguard-go process `pid` (text form).
std::optional<double> cpu_seconds(const std::string& pid) {
  char* end = nullptr;
  long value = std::strtol(pid.c_str(), &end, 10);
  if (pid.empty() || *end != '\0' || value <= 0) {
    return std::nullopt;
  }
  return process_cpu_seconds(static_cast<pid_t>(value), "wireguard-go");
}

/// wait_listening polls `ss` in `netns` until something listens on ip:port.
bool wait_listening(const std::string& netns, const std::string& ip, const char* port) {
  for (int i = 0; i < 100; ++i) {
    auto ss = run_command({"ip", "netns", "exec", netns, "ss", "-Htln",
                           "src " + ip + ":" + port}, 10s);
    if (ss && ss->exit_code == 0 && !ss->out.empty()) {
      return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

/// pair_info is what `pair-up` printed.
struct pair_info {
  std::string ns_a;
  std::string ns_b;
  std::string tunnel_ip_b;
  std::string underlay_ip_b;
  std::string pid_a;
  std::string pid_b;
};

/// iperf3_run is one iperf3 test and the wireguard-go CPU seconds it cost.
struct iperf3_run {
  iperf3_report report;
  std::optional<double> wg_a_cpu_s;
  std::optional<double> wg_b_cpu_s;
};

/// run_iperf3 runs one TCP stream from namespace a to `ip` in namespace b
/// for `secs` seconds (server with -1: it exits after the test).
result<iperf3_run> run_iperf3(const pair_info& pair, const std::string& ip, long secs) {
  auto server = child_process::start({"ip", "netns", "exec", pair.ns_b, "iperf3", "-s", "-1",
                                      "-B", ip, "-p", iperf3_port});
  if (!server) {
    return server.error();
  }
  if (!wait_listening(pair.ns_b, ip, iperf3_port)) {
    return make_error(errc::timeout, "iperf3 server in " + pair.ns_b + " did not listen");
  }
  auto cpu_a0 = cpu_seconds(pair.pid_a);
  auto cpu_b0 = cpu_seconds(pair.pid_b);
  auto client = run_command({"ip", "netns", "exec", pair.ns_a, "iperf3", "-c", ip, "-p",
                             iperf3_port, "-t", std::to_string(secs), "-J"},
                            std::chrono::seconds{secs + 30});
  auto cpu_a1 = cpu_seconds(pair.pid_a);
  auto cpu_b1 = cpu_seconds(pair.pid_b);
  (void) server->wait(10s);
  if (!client) {
    return client.error();
  }
  auto report = parse_iperf3_report(client->out);
  if (!report) {
    return make_error(report.error().code,
                      report.error().detail + " " + first_line(client->err));
  }
  iperf3_run run{*report, std::nullopt, std::nullopt};
  if (cpu_a0 && cpu_a1 && cpu_b0 && cpu_b1) {
    run.wg_a_cpu_s = *cpu_a1 - *cpu_a0;
    run.wg_b_cpu_s = *cpu_b1 - *cpu_b0;
  }
  return run;
}

} // namespace

result<case_result> measure_wireguard_go(const case_options& opt) {
  case_result row;
  row.name = "wireguard-go";
  if (auto why = skip_reason(opt); !why.empty()) {
    row.skipped = why;
    return row;
  }
  auto version = run_command({"wireguard-go", "--version"}, 10s);
  pair_guard guard{opt.wg_script, "tfbp" + std::to_string(::getpid() % 1000000)};
  auto up = run_command({opt.wg_script, "pair-up", guard.name, std::to_string(::getpid())}, 60s);
  if (!up) {
    return up.error();
  }
  if (up->exit_code != 0) {
    return make_error(errc::io_error, "wg script pair-up failed: " + up->err);
  }
  pair_info pair{value_of(up->out, "WG_NETNS_A"),       value_of(up->out, "WG_NETNS_B"),
                 value_of(up->out, "WG_TUNNEL_IP_B"),   value_of(up->out, "WG_UNDERLAY_IP_B"),
                 value_of(up->out, "WG_PID_A"),         value_of(up->out, "WG_PID_B")};
  if (pair.ns_a.empty() || pair.ns_b.empty() || pair.tunnel_ip_b.empty()) {
    TF_COUNTER("bench_wg_pair_outputs_rejected").add();
    return make_error(errc::malformed_message, "pair-up printed no WG_NETNS_A/B or "
                                               "WG_TUNNEL_IP_B: " + up->out);
  }

  // -- latency: kernel TCP over the tunnel, sockets made in the namespaces --
  ping_pong_options pp;
  pp.client_netns = pair.ns_a;
  pp.server_netns = pair.ns_b;
  pp.server_ip = pair.tunnel_ip_b;
  pp.round_trips = opt.round_trips;
  pp.message_len = opt.message_len;
  auto samples = tcp_ping_pong(pp);
  if (!samples) {
    return samples.error();
  }
  row.p50_us = latency_percentile_us(*samples, 50);
  row.p99_us = latency_percentile_us(*samples, 99);

  // -- bulk: iperf3, one TCP stream from a to b through the tunnel ----------
  long secs = std::max(1L, std::lround(opt.seconds));
  auto tunnel = run_iperf3(pair, pair.tunnel_ip_b, secs);
  if (!tunnel) {
    return tunnel.error();
  }
  const auto& report = tunnel->report;
  row.gbit_per_s = report.bits_per_second / 1e9;
  row.retransmits = report.retransmits;
  double gb = static_cast<double>(report.bytes) / 1e9;
  std::string wg_version = first_line(version ? version->out : "wireguard-go");
  char cpu[160] = "CPU not measured (wireguard-go pids unreadable)";
  if (tunnel->wg_a_cpu_s && tunnel->wg_b_cpu_s && gb > 0) {
    double total = *tunnel->wg_a_cpu_s + *tunnel->wg_b_cpu_s + report.client_cpu_s
                   + report.server_cpu_s;
    row.cpu_s_per_gb = total / gb;
    std::snprintf(cpu, sizeof(cpu), "CPU %.2f s = wireguard-go %.2f + %.2f, iperf3 %.2f + %.2f",
                  total, *tunnel->wg_a_cpu_s, *tunnel->wg_b_cpu_s, report.client_cpu_s,
                  report.server_cpu_s);
  }

  // -- calibration: the bare veth for 1 s says how busy the machine was -----
  std::string bare = "bare veth not measured";
  if (!pair.underlay_ip_b.empty()) {
    auto veth = run_iperf3(pair, pair.underlay_ip_b, 1);
    char buf[96];
    std::snprintf(buf, sizeof(buf), "bare veth %.2f Gbit/s",
                  veth ? veth->report.bits_per_second / 1e9 : 0.0);
    bare = veth ? std::string{buf} : "bare veth failed: " + veth.error().message();
  }
  char detail[640];
  std::snprintf(detail, sizeof(detail),
                "%s; iperf3 1 TCP stream %ld s, %.2f GB, MTU 1420; %s; latency %zu x %zu B "
                "TCP round trips; %s",
                wg_version.c_str(), secs, gb, cpu, samples->size(), opt.message_len,
                bare.c_str());
  row.detail = detail;
  return row;
}

} // namespace tf::bench
