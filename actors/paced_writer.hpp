// SPDX-License-Identifier: Apache-2.0
// paced_writer: how a broker writes to one of its connections.
//  - Nothing of ours in CAF's buffers: send() right away. CAF would only
//    queue the bytes and write them one event-loop turn later (measured:
//    ~10 us more per delta, bench/giant_tailnet).
//  - Whatever the socket does not take goes to CAF, with write acks on, at
//    most a window at a time: CAF's buffers keep their largest capacity
//    forever, so a 40 MB netmap handed over whole would pin 80 MB per
//    connection. Later writes queue behind it, so bytes stay in order.
// Owned by one broker; not thread-safe.
#pragma once

#include <caf/io/abstract_broker.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/io/system_messages.hpp>

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

namespace tf::actors {

class paced_writer {
public:
  paced_writer() = default;
  explicit paced_writer(size_t window) : window_(window) {}

  /// write sends `bytes` now or after what is already queued.
  void write(caf::io::abstract_broker* self, caf::io::connection_handle hdl,
             std::span<const uint8_t> bytes);

  /// on_transferred must see every data_transferred_msg of the connection.
  void on_transferred(caf::io::abstract_broker* self, const caf::io::data_transferred_msg& msg);

  /// backlog is how many bytes wait outside CAF's buffers.
  size_t backlog() const noexcept { return backlog_; }

private:
  void pump(caf::io::abstract_broker* self, caf::io::connection_handle hdl);

  size_t window_ = 1u << 20;
  bool acks_on_ = false;
  uint64_t in_caf_ = 0;       // our bytes CAF still holds (its last report)
  size_t backlog_ = 0;
  size_t front_offset_ = 0;   // bytes of pending_.front() already handed over
  std::deque<std::vector<uint8_t>> pending_;
};

} // namespace tf::actors
