// SPDX-License-Identifier: Apache-2.0
// Direct and paced writes to a broker connection. Runs on the owning broker
// only (the middleman's I/O thread), which is also the only writer of the
// socket: a direct send() happens only while CAF holds none of our bytes.
#include "actors/paced_writer.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace tf::actors {

void paced_writer::write(caf::io::abstract_broker* self, caf::io::connection_handle hdl,
                         std::span<const uint8_t> bytes) {
  if (bytes.empty())
    return;
  if (in_caf_ == 0 && pending_.empty()) {
    // With CAF's default multiplexer a connection handle's id is its socket.
    auto fd = static_cast<int>(hdl.id());
    auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0)
      bytes = bytes.subspan(static_cast<size_t>(n));
    // On EAGAIN the rest goes to CAF; on a real error CAF's own write fails
    // and the broker gets connection_closed_msg as usual.
    if (bytes.empty())
      return;
  }
  if (!acks_on_) {
    acks_on_ = true;
    self->ack_writes(hdl, true);
  }
  pending_.emplace_back(bytes.begin(), bytes.end());
  backlog_ += bytes.size();
  pump(self, hdl);
}

void paced_writer::pump(caf::io::abstract_broker* self, caf::io::connection_handle hdl) {
  bool wrote = false;
  while (!pending_.empty() && in_caf_ < window_) {
    auto& front = pending_.front();
    size_t n = std::min(front.size() - front_offset_, window_ - static_cast<size_t>(in_caf_));
    self->write(hdl, n, front.data() + front_offset_);
    wrote = true;
    in_caf_ += n;
    backlog_ -= n;
    front_offset_ += n;
    if (front_offset_ == front.size()) {
      pending_.pop_front();
      front_offset_ = 0;
    }
  }
  if (wrote)
    self->flush(hdl);
}

void paced_writer::on_transferred(caf::io::abstract_broker* self,
                                  const caf::io::data_transferred_msg& msg) {
  if (!acks_on_)
    return;
  in_caf_ = msg.remaining;
  pump(self, msg.handle);
  if (pending_.empty() && in_caf_ == 0) {
    acks_on_ = false;
    self->ack_writes(msg.handle, false);
  }
}

} // namespace tf::actors
