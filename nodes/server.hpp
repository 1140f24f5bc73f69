// SPDX-License-Identifier: Apache-2.0
// tf::server: one embedded tailnet node, as tsnet.Server. Configure a
// server_options, then start()/up(); close() ends it (ephemeral nodes log out
// so control deletes them at once). The node itself is an actor; these
// methods are its blocking face and may be called from any thread that is
// not an actor. A server is not copyable; destroy it (or close()) before
// its actor_system.
#pragma once

#include <caf/fwd.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>

#include "actors/node.hpp"
#include "netstack/sockets.hpp"
#include "runtime/bus_types.hpp"
#include "runtime/result.hpp"
#include "runtime/state_store.hpp"

namespace tf {

class local_client;

/// server_options configures a node. A default-constructed value is valid.
/// Every field is read once, by start(); later changes have no effect.
struct server_options {
  /// dir is the state directory (created with mode 0700). Empty: the
  /// user's config directory ($XDG_CONFIG_HOME or ~/.config) plus
  /// "tailfleet-<hostname>". Unused when `store` is set.
  std::string dir;
  /// store holds the node's identity. Null: a file store in `dir`. An
  /// in-memory store (make_memory_store()) is accepted only when ephemeral.
  std::shared_ptr<state_store> store;
  /// hostname is the name sent to control. Empty: the program's name.
  std::string hostname;
  /// ephemeral nodes are deleted by control when they close, or when they
  /// vanish for longer than control's ephemeral timeout.
  bool ephemeral = false;
  /// auth_key enrolls a new node. Empty: $TS_AUTHKEY, then $TS_AUTH_KEY.
  /// Ignored once enrolled, unless $TSNET_FORCE_LOGIN=1.
  std::string auth_key;
  /// control_url is the coordination server ("http://host:port"). Empty:
  /// $TS_CONTROL_URL. Required.
  std::string control_url;
  /// control_key pins the server's public key ("mkey:..."); required for a
  /// "tcp://host:port" control URL. Empty: trust GET /key.
  std::string control_key;
  /// advertise_tags requests ACL tags ("tag:ci"); the auth key must grant them.
  std::vector<std::string> advertise_tags;
  /// user_log gets user-facing messages (login hints, state). Null: stderr.
  std::shared_ptr<spdlog::logger> user_log;
  /// log gets backend details. Null: discarded.
  std::shared_ptr<spdlog::logger> log;
  /// num_shards is how many peer-map shard actors hold this node's peers.
  size_t num_shards = 2;
  /// port is the node's own WireGuard UDP port. 0: the node shares the
  /// process's one UDP socket (an ephemeral port) with every other node.
  uint16_t port = 0;
  /// data_plane false runs the control plane only (no UDP socket, no
  /// netstack node): listen/dial then fail with errc::not_running.
  bool data_plane = true;
  /// in_memory_peers hands packets to nodes of the same process in memory
  /// (no cipher, no syscall: one address space). false sends them through
  /// WireGuard and UDP like any other peer (for tests and benchmarks).
  bool in_memory_peers = true;
};

class server {
public:
  server(caf::actor_system& sys, server_options opts);
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// start resolves the options and starts the node actor (once; later
  /// calls return the first outcome). Errors: a bad option, a store that
  /// cannot be opened or is corrupt.
  result<void> start();

  /// up starts the node and waits until it is Running with an address.
  /// Fails on a fatal control error (bad auth key, ...) or after `timeout`.
  result<bus::status> up(std::chrono::milliseconds timeout = std::chrono::seconds(60));

  /// close stops the node (logging out ephemeral nodes first). A second
  /// call returns errc::closed.
  result<void> close();

  // -- the data plane (nodes/server_net.cpp) -----------------------------------
  // Addresses are "host:port", "[v6]:port" or ":port". Blocking calls; they
  // fail with errc::not_running before up() succeeded.

  /// listen accepts TCP ("tcp", "tcp4", "tcp6") on the node: ":80" means the
  /// node's own addresses only; port 0 picks a free port.
  result<netstack::listener> listen(std::string_view network, std::string_view address);

  /// dial connects over the tailnet. The host is an IP, a MagicDNS FQDN or a
  /// short name of a peer (errc::unreachable when no peer has that name).
  result<netstack::conn> dial(std::string_view network, std::string_view address,
                              std::chrono::milliseconds timeout = std::chrono::seconds(30));

  /// listen_packet opens a UDP socket ("udp", "udp4", "udp6") on the node.
  result<netstack::packet_conn> listen_packet(std::string_view network, std::string_view address);

  /// dial_fd is dial, as a file descriptor (one end of a socketpair bridged
  /// to the connection) for code that wants a plain fd. The caller closes it.
  result<int> dial_fd(std::string_view network, std::string_view address,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

  /// stack_id is the node in the process's netstack (for the lower-level
  /// netstack:: and actor APIs); errc::not_running before up().
  result<netstack::node_id> stack_id();

  /// local_client queries this node (whois, status, bus).
  tf::local_client local_client();

  /// actor is the node actor, for the actor API (nullptr before start()).
  actors::node_actor actor() const noexcept { return node_; }

  caf::actor_system& system() noexcept { return sys_; }
  const std::string& hostname() const noexcept { return cfg_.hostname; }

private:
  result<actors::node_config> resolve();

  caf::actor_system& sys_;
  server_options opts_;
  actors::node_config cfg_;
  actors::node_actor node_;
  std::optional<result<void>> started_;
  bool closed_ = false;
};

} // namespace tf
