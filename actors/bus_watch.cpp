// SPDX-License-Identifier: Apache-2.0
// watch_bus for actors. Runs in the watching actor's handler; the watcher
// it spawns owns the watch from then on.
#include "actors/bus_watch.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include <memory>
#include <string>

namespace tf::actors {

result<watcher_actor> watch_bus(caf::event_based_actor* self, const bus_watch_target& node,
                                bus::watch_mask mask, bus::interest interest) {
  if (auto ok = bus::validate_mask(mask); !ok)
    return ok.error();
  auto flow = std::make_shared<bus::watch_flow>();
  auto sink = watch_sink::actor(caf::actor_cast<caf::actor>(self));
  auto w = spawn_watcher(self->system(), std::move(sink), flow);
  self
    ->request(node, caf::infinite, watch_atom::value,
              watch_request{w, mask, std::move(interest), flow})
    .then([](uint64_t) {},
          [self, w](caf::error& err) {
            bus::notify n;
            n.err_message = "bus watch: " + self->system().render(err);
            caf::anon_send(caf::actor_cast<caf::actor>(self), notify_atom::value, std::move(n),
                           bus::flow_ticket{});
            caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
          });
  return w;
}

} // namespace tf::actors
