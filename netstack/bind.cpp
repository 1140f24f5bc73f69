// SPDX-License-Identifier: Apache-2.0
// Local address and port choice for node sockets (see bind.hpp). Runs under
// the core lock. tcp_bind/udp_bind check every pcb of the process for a
// conflict: creating 10,000 dual-stack listeners took 2.7 s that way.
// Listeners and UDP sockets are only ever created here, so a claim table
// replaces the scan and the pcb is put on lwIP's list directly (what
// tcp_bind/udp_bind do after their scan). A listener may share its port
// with connection pcbs (SO_REUSEADDR semantics, as Go's listeners).
#include "netstack/bind.hpp"

#include "netstack/tcp_park.hpp"

#include <absl/container/flat_hash_map.h>

namespace tf::netstack::detail {

namespace {

struct port_key {
  ip_addr addr;
  uint16_t port = 0;
  port_kind kind = port_kind::tcp_listen;

  friend bool operator==(const port_key&, const port_key&) = default;
  template <class H>
  friend H AbslHashValue(H h, const port_key& k) {
    return H::combine(std::move(h), k.addr, k.port, static_cast<uint8_t>(k.kind));
  }
};

// claimed: every (address, port) held by a listener or UDP socket, and
// that socket. guards: the core lock.
absl::flat_hash_map<port_key, socket_base*>& claimed() {
  static auto& s = *new absl::flat_hash_map<port_key, socket_base*>;
  return s;
}

uint16_t next_in(uint16_t& cursor, uint16_t lo, uint16_t hi) {
  if (cursor < lo || cursor >= hi) {
    cursor = lo;
    return hi;
  }
  return cursor++;
}

bool is_unicast_v6(const ip_addr& a) {
  const auto& b = a.bytes();
  bool low = true;
  for (int i = 0; i < 15; ++i) {
    low = low && b[i] == 0;
  }
  return b[0] != 0xff && !(low && b[15] <= 1);
}

} // namespace

result<std::vector<const ip_addr_t*>> local_addrs_locked(const node_state& n, const ip_addr& want) {
  std::vector<const ip_addr_t*> out;
  bool unspecified = !want.valid() || want == ip_addr::v4(0) || want == ip_addr::v6({});
  if (unspecified) {
    out.push_back(&n.lw_v4);
    if (n.has_v6()) {
      out.push_back(&n.lw_v6);
    }
  } else if (want.unmap() == n.v4) {
    out.push_back(&n.lw_v4);
  } else if (n.has_v6() && want == n.v6) {
    out.push_back(&n.lw_v6);
  } else {
    return make_error(errc::invalid_argument, want.to_string() + " is not an address of this node");
  }
  return out;
}

result<void> check_remote(const node_state& n, const ip_endpoint& dst) {
  ip_addr a = dst.addr.unmap();
  if (!a.valid() || dst.port == 0) {
    return make_error(errc::invalid_argument, "remote needs an address and a port");
  }
  if (a.is_v4()) {
    uint32_t v = a.v4_value();
    uint8_t top = static_cast<uint8_t>(v >> 24);
    if (v == 0 || top == 127 || (top & 0xf0) == 0xe0 || v == 0xffffffffu) {
      return make_error(errc::invalid_argument, a.to_string() + " is not a unicast address");
    }
    return {};
  }
  if (!n.has_v6()) {
    return make_error(errc::invalid_argument, "node has no IPv6 address");
  }
  if (!is_unicast_v6(a)) {
    return make_error(errc::invalid_argument, a.to_string() + " is not a unicast address");
  }
  return {};
}

bool claim_port_locked(port_kind kind, const ip_addr& addr, uint16_t port, socket_base* owner) {
  return claimed().try_emplace(port_key{addr, port, kind}, owner).second;
}

socket_base* port_owner_locked(port_kind kind, const ip_addr& addr, uint16_t port) {
  auto i = claimed().find(port_key{addr, port, kind});
  return i == claimed().end() ? nullptr : i->second;
}

void release_port_locked(port_kind kind, const ip_addr& addr, uint16_t port) {
  claimed().erase(port_key{addr, port, kind});
}

uint16_t pick_listen_port_locked(node_state& n, const std::vector<const ip_addr_t*>& addrs,
                                 port_kind kind) {
  for (int tries = listen_port_hi - listen_port_lo + 1; tries > 0; --tries) {
    uint16_t port = next_in(n.next_listen_port, listen_port_lo, listen_port_hi);
    bool free = true;
    for (const ip_addr_t* a : addrs) {
      free = free && !claimed().contains(port_key{from_lwip(*a), port, kind});
    }
    if (free) {
      return port;
    }
  }
  return 0;
}

void bind_listener_locked(tcp_pcb* pcb, const ip_addr_t& addr, uint16_t port) {
  ip_addr_set(&pcb->local_ip, &addr);
  pcb->local_port = port;
  TCP_REG(&tcp_bound_pcbs, pcb); // tcp_listen moves it to the listen list
}

void bind_udp_locked(udp_pcb* pcb, const ip_addr_t& addr, uint16_t port) {
  ip_addr_set_ipaddr(&pcb->local_ip, &addr);
  pcb->local_port = port;
  pcb->next = udp_pcbs;
  udp_pcbs = pcb;
}

bool bind_dial_port_locked(node_state& n, tcp_pcb* pcb, const ip_addr_t& local) {
  for (int tries = dial_port_hi - dial_port_lo + 1; tries > 0; --tries) {
    uint16_t port = next_in(n.next_dial_port, dial_port_lo, dial_port_hi);
    if (claimed().contains(port_key{from_lwip(local), port, port_kind::tcp_listen})) {
      continue;
    }
    bool used = parked_local_in_use_locked(local, port);
    for (tcp_pcb* list : {tcp_active_pcbs, tcp_tw_pcbs, tcp_bound_pcbs}) {
      for (tcp_pcb* p = list; p != nullptr && !used; p = p->next) {
        used = p->local_port == port && ip_addr_cmp(&p->local_ip, &local);
      }
    }
    if (!used) {
      ip_addr_set(&pcb->local_ip, &local);
      pcb->local_port = port;
      TCP_REG(&tcp_bound_pcbs, pcb);
      return true;
    }
  }
  return false;
}

result<bind_plan> plan_bind_locked(node_id id, const ip_endpoint& local, port_kind kind) {
  bind_plan plan;
  plan.node = find_node_locked(id);
  if (plan.node == nullptr) {
    return make_error(errc::not_found, "no such node");
  }
  auto addrs = local_addrs_locked(*plan.node, local.addr);
  if (!addrs) {
    return addrs.error();
  }
  plan.addrs = std::move(*addrs);
  plan.port = local.port;
  if (plan.port == 0 && (plan.port = pick_listen_port_locked(*plan.node, plan.addrs, kind)) == 0) {
    return make_error(errc::address_space_exhausted,
                      std::string{kind == port_kind::udp ? "no free UDP port" : "no free port"}
                        + " in 10002-19999");
  }
  return plan;
}

} // namespace tf::netstack::detail
