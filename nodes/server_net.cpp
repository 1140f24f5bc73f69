// SPDX-License-Identifier: Apache-2.0
// tf::server's data-plane calls (listen, dial, listen_packet, dial_fd):
// parse Go-style network and address strings, resolve MagicDNS names through
// the node's shards, then use the blocking netstack API. Caller threads only
// (never an actor's, never a netstack callback).
#include <caf/scoped_actor.hpp>

#include <charconv>

#include "actors/errors.hpp"
#include "netstack/fd_bridge.hpp"
#include "nodes/local_client.hpp"
#include "nodes/server.hpp"

namespace tf {

namespace {

struct host_port {
  std::string host;  // empty: unspecified
  uint16_t port = 0;
};

/// split_host_port reads "host:port", "[v6]:port" or ":port".
result<host_port> split_host_port(std::string_view s) {
  auto bad = [&](const char* why) {
    return make_error(errc::invalid_argument, "address \"" + std::string{s} + "\": " + why);
  };
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos)
    return bad("missing port (want host:port or :port)");
  std::string_view host = s.substr(0, colon);
  std::string_view port = s.substr(colon + 1);
  if (host.starts_with('[')) {
    if (!host.ends_with(']'))
      return bad("unclosed [");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad("IPv6 addresses need brackets: [addr]:port");
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
    return bad("port is not a number from 0 to 65535");
  return host_port{std::string{host}, static_cast<uint16_t>(value)};
}

/// family_of checks the network name: 0 any, 4 or 6.
result<int> family_of(std::string_view network, std::string_view proto) {
  if (network == proto)
    return 0;
  if (network.size() == proto.size() + 1 && network.starts_with(proto)) {
    if (network.back() == '4')
      return 4;
    if (network.back() == '6')
      return 6;
  }
  return make_error(errc::invalid_argument, "network \"" + std::string{network}
                                              + "\": want " + std::string{proto} + ", "
                                              + std::string{proto} + "4 or "
                                              + std::string{proto} + "6");
}

/// local_endpoint parses a listen address (the host must be an IP or empty).
result<ip_endpoint> local_endpoint(std::string_view network, std::string_view proto,
                                   std::string_view address) {
  auto fam = family_of(network, proto);
  if (!fam)
    return fam.error();
  auto hp = split_host_port(address);
  if (!hp)
    return hp.error();
  if (hp->host.empty())
    return ip_endpoint{ip_addr{}, hp->port};
  auto ip = ip_addr::parse(hp->host);
  if (!ip)
    return make_error(errc::invalid_argument,
                      "listen address \"" + hp->host + "\" is not an IP address");
  if ((*fam == 4 && !ip->is_v4()) || (*fam == 6 && !ip->is_v6()))
    return make_error(errc::invalid_argument, "address family does not match the network");
  return ip_endpoint{*ip, hp->port};
}

} // namespace

result<netstack::node_id> server::stack_id() {
  if (!node_)
    return make_error(errc::not_running, "server not started");
  caf::scoped_actor self{sys_};
  result<netstack::node_id> out = make_error(errc::internal);
  self->request(node_, std::chrono::seconds(10), actors::dataplane_atom::value)
    .receive([&](uint64_t id) { out = id; }, [&](caf::error& err) { out = actors::from_caf(err); });
  return out;
}

result<netstack::listener> server::listen(std::string_view network, std::string_view address) {
  auto ep = local_endpoint(network, "tcp", address);
  if (!ep)
    return ep.error();
  auto id = stack_id();
  if (!id)
    return id.error();
  return netstack::listen_tcp(*id, *ep);
}

result<netstack::packet_conn> server::listen_packet(std::string_view network,
                                                    std::string_view address) {
  auto ep = local_endpoint(network, "udp", address);
  if (!ep)
    return ep.error();
  auto id = stack_id();
  if (!id)
    return id.error();
  return netstack::listen_udp(*id, *ep);
}

result<netstack::conn> server::dial(std::string_view network, std::string_view address,
                                    std::chrono::milliseconds timeout) {
  auto deadline = netstack::after(timeout);
  auto fam = family_of(network, "tcp");
  if (!fam)
    return fam.error();
  auto hp = split_host_port(address);
  if (!hp)
    return hp.error();
  if (hp->host.empty() || hp->port == 0)
    return make_error(errc::invalid_argument, "dial needs a host and a port");
  ip_addr ip;
  if (auto literal = ip_addr::parse(hp->host)) {
    ip = *literal;
  } else {
    std::string name = hp->host;
    if (name.ends_with('.'))
      name.pop_back();
    auto peer = local_client().peer_by_name(name);
    if (!peer)
      return make_error(errc::unreachable, "no peer named \"" + hp->host + "\" in the netmap");
    ip = (*fam == 6 || !(*peer)->has_v4()) ? (*peer)->v6() : (*peer)->v4();
  }
  if ((*fam == 4 && !ip.is_v4()) || (*fam == 6 && !ip.is_v6()) || !ip.valid())
    return make_error(errc::invalid_argument, "address family does not match the network");
  auto id = stack_id();
  if (!id)
    return id.error();
  return netstack::dial_tcp(*id, {ip, hp->port}, deadline);
}

result<int> server::dial_fd(std::string_view network, std::string_view address,
                            std::chrono::milliseconds timeout) {
  auto c = dial(network, address, timeout);
  if (!c)
    return c.error();
  return netstack::bridge_fd(std::move(*c));
}

} // namespace tf
