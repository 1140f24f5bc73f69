// SPDX-License-Identifier: Apache-2.0
// tcp_core: one TCP connection of one node, the callback face under the
// blocking conn API, the fd bridge and the actor face. Every member
// function ending in _locked needs the core lock; event callbacks run with
// it held and must not block. Buffers at most its receive buffer: arriving
// data reopens the window at once while the buffer has room beyond one
// window, else only when its owner consumes it. Waiters on cv() are woken
// after the notifying thread drops the core lock (core_lock.hpp).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "netstack/socket_base.hpp"
#include "netstack/stack.hpp"
#include "runtime/ip.hpp"
#include "runtime/result.hpp"

struct tcp_pcb;
struct pbuf;

namespace tf::netstack {

namespace detail {
struct park_access;
} // namespace detail

/// conn_events are a connection's callbacks. They run with the core lock
/// held (tcpip thread or a thread delivering packets): never block; calling
/// the connection's _locked functions is allowed. Capture the connection
/// weakly (a strong capture is a reference cycle).
struct conn_events {
  /// on_data: `readable` bytes are buffered. The credit: the peer may send at
  /// most one TCP window (64 KiB) beyond the bytes acked so far, and bytes
  /// are acked only by read_locked(.., true) or ack_locked() (beyond the
  /// default receive buffer of one window: see set_receive_buffer_locked).
  std::function<void(size_t readable)> on_data;
  /// on_writable: the connection opened or send-buffer space was freed.
  std::function<void(size_t writable)> on_writable;
  /// on_close: nullptr when the peer finished sending (EOF; buffered data is
  /// still readable), else the failure that ended the connection.
  std::function<void(const failure* error)> on_close;
};

/// rx_slice is a piece of a received pbuf handed to a reader (which holds
/// a reference to the pbuf until the read finishes).
struct rx_slice {
  pbuf* p = nullptr;
  uint16_t offset = 0;
  uint16_t len = 0;
};

/// tcp_core is one connection. Shared ownership (std::shared_ptr); the last
/// owner's release closes it gracefully (taking the core lock itself).
class tcp_core : public detail::socket_base, public std::enable_shared_from_this<tcp_core> {
public:
  enum class phase : uint8_t { connecting, open, done };

  /// write_low_water is the send-buffer room a blocked writer waits for
  /// (less when it has less left to write).
  static constexpr size_t write_low_water = 16 * 1024;
  /// window is lwIP's TCP receive window (TCP_WND of Debian's build).
  static constexpr size_t window = 0xffff;
  /// wide_window is the widest window the header can carry at window scale
  /// 1 (TCP_RCV_SCALE of Debian's build), used by set_receive_buffer_locked.
  static constexpr size_t wide_window = window << 1;
  /// wide_send_buffer: see widen_send_buffer_locked.
  static constexpr size_t wide_send_buffer = wide_window;

  /// attach_locked wraps an lwIP pcb (connecting or accepted) for `node`.
  static std::shared_ptr<tcp_core> attach_locked(detail::node_state* node, tcp_pcb* pcb,
                                                 phase initial);
  ~tcp_core() override;

  // -- state ------------------------------------------------------------------
  phase phase_locked() const noexcept { return phase_; }
  /// readable_locked is the number of buffered bytes not yet read.
  size_t readable_locked() const noexcept { return rx_len_; }
  /// eof_locked: the peer finished sending and every byte was read.
  bool eof_locked() const noexcept { return fin_ && rx_len_ == 0; }
  /// error_locked is the failure that ended the connection (or nullptr).
  const failure* error_locked() const noexcept { return error_ ? &*error_ : nullptr; }
  /// write_shut_locked: shutdown_write ran (no more writes).
  bool write_shut_locked() const noexcept { return wr_shut_; }
  /// writable_locked is how many bytes write_locked would take now.
  size_t writable_locked() const;
  const ip_endpoint& local() const noexcept { return local_; }
  const ip_endpoint& remote() const noexcept { return remote_; }

  /// connect_locked sends the SYN of a connection attached in the
  /// connecting phase; the phase turns open or done (with an error).
  result<void> connect_locked(const ip_endpoint& dst);

  // -- data -------------------------------------------------------------------
  /// read_locked copies up to out.size() buffered bytes. With ack, the bytes
  /// reopen the window at once; without, they stay charged to the window
  /// until ack_locked (for owners that forward them somewhere first).
  size_t read_locked(std::span<uint8_t> out, bool ack = true);
  /// A read in three steps, so that the copy runs without the core lock:
  /// take_locked moves up to `max` buffered bytes into `taken` (they still
  /// count against the receive buffer), copy_taken copies them (any lock
  /// state), finish_read_locked releases them and, with ack, reopens the
  /// window as read_locked does. Returns the bytes taken.
  size_t take_locked(size_t max, std::vector<rx_slice>& taken);
  static void copy_taken(std::span<const rx_slice> taken, std::span<uint8_t> out);
  void finish_read_locked(std::vector<rx_slice>& taken, bool ack);
  /// ack_locked reopens the window by `n` bytes taken with ack = false.
  void ack_locked(size_t n);
  /// set_receive_buffer_locked bounds the bytes received and not consumed
  /// (read with ack, or acked) to `bytes` (at least one window). Beyond one
  /// window, arriving data is acked at once while it fits: the sender is
  /// not held up by how soon the owner reads (a kernel socket's receive
  /// buffer). From four windows up, the window itself doubles to what the
  /// negotiated window scale allows (wide_window); it never shrinks back.
  /// The default is one window: owners with their own buffers (fd bridge,
  /// actor credit) keep it.
  void set_receive_buffer_locked(size_t bytes);
  /// widen_send_buffer_locked raises the send buffer from lwIP's 64 KiB
  /// (TCP_SND_BUF) to wide_send_buffer, once: a stream then keeps a wide
  /// window's worth of data in flight. Not for a peer the node's sink hands
  /// packets to in memory (node_options::in_memory_to): there the round trip
  /// is microseconds, and half as many segments in flight means half the
  /// unacked list that lwIP's tcp_output walks on every call (in-process
  /// throughput: see bench/throughput in the README).
  void widen_send_buffer_locked();
  /// write_locked queues up to writable_locked() bytes and sends them.
  size_t write_locked(std::span<const uint8_t> data);
  /// shutdown_write_locked sends FIN after the queued data; reads go on.
  result<void> shutdown_write_locked();
  /// close_locked closes both directions gracefully (an RST if unread data
  /// remains, like Linux). Further calls fail with errc::closed.
  void close_locked();
  /// peer_gone_locked fails the connection if `remote` is its peer.
  void peer_gone_locked(const ip_addr& remote) override;
  /// abort_locked resets the connection (RST to the peer).
  void abort_locked();

  // -- waiting and events -------------------------------------------------------
  /// cv is notified on every state change; wait on it with core_lock.
  std::condition_variable_any& cv() noexcept { return cv_; }
  /// set_events_locked installs the callbacks (empty ones to stop). Never
  /// call it from inside one of the connection's own callbacks.
  void set_events_locked(conn_events events);

  void node_gone_locked() override;

private:
  tcp_core() = default;
  void detach_locked();
  void fail_locked(failure f);
  void notify_locked();
  void credit_locked();
  void widen_window_locked();
  void open_window_locked(size_t n);
  void unpark_locked();
  friend struct tcp_core_callbacks;
  friend struct detail::park_access;

  tcp_pcb* pcb_ = nullptr;
  detail::node_state* node_ = nullptr;
  std::deque<pbuf*> rx_;
  size_t rx_off_ = 0;   // bytes already read from rx_.front()
  size_t rx_len_ = 0;   // unread bytes in rx_
  size_t unacked_ = 0;  // read with ack = false, not yet acked
  size_t taken_ = 0;    // taken by a reader still copying
  size_t charged_ = 0;  // received and still charged to the window
  size_t receive_buffer_ = window;
  size_t window_ = window; // this connection's receive window (widen_window_locked)
  bool wide_send_ = false; // widen_send_buffer_locked ran
  size_t held_ = 0;     // rx_len_ + taken_ + unacked_ as last told to stats()
  bool fin_ = false;    // the peer sent FIN
  bool wr_shut_ = false;
  bool closed_ = false; // close_locked/abort_locked ran
  bool parked_ = false; // the pcb is off lwIP's active list (tcp_park.hpp)
  phase phase_ = phase::connecting;
  std::optional<failure> error_;
  conn_events events_;
  std::condition_variable_any cv_;
  ip_endpoint local_;
  ip_endpoint remote_;
};

} // namespace tf::netstack
