// SPDX-License-Identifier: Apache-2.0
// connect_in_memory (see connected_conns.hpp).
#include "tests/support/connected_conns.hpp"

#include "runtime/keys.hpp"

namespace tf::test {

result<connected_conns> connect_in_memory() {
  auto server_key = machine_private_key::generate();
  connected_conns c{control_conn::client(machine_private_key::generate(), server_key.public_key()),
                    control_conn::server(server_key)};
  control_conn::received rx;
  auto hello = c.client.start();
  if (!hello)
    return hello.error();
  if (auto ok = c.server.feed(*hello, rx); !ok)
    return ok.error();
  auto reply = rx.to_send;
  rx.clear();
  if (auto ok = c.client.feed(reply, rx); !ok)
    return ok.error();
  if (!rx.established)
    return make_error(errc::internal, "in-memory control handshake did not finish");
  return c;
}

} // namespace tf::test
