// SPDX-License-Identifier: Apache-2.0
// control_conn: one end of a control connection without I/O. It stacks the
// Noise channel (control_channel), frames (frame_decoder) and msgpack
// messages (wire_codec), checks the protocol version in the handshake, and
// turns received bytes into messages and messages into bytes to write. Used
// by the node's control session and by the coordination server; owned by
// one actor; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/control_channel.hpp"
#include "runtime/frame.hpp"
#include "runtime/result.hpp"
#include "runtime/wire.hpp"
#include "runtime/wire_codec.hpp"

namespace tf {

class control_conn {
public:
  /// received is what one feed() produced.
  struct received {
    std::vector<wire::message> messages;
    /// With defer_full_peers(): the peer list of each full map in
    /// `messages`, in order (those maps hold an empty `peers`).
    std::vector<wire::encoded_peers> full_peers;
    std::vector<uint8_t> to_send;  // handshake reply (server)
    bool established = false;      // the handshake completed during this feed
    /// clear empties the batch; its messages are kept as spares for the
    /// next ones to be decoded into, so a stream of deltas reuses their
    /// buffers instead of allocating ~8 blocks per delta.
    void clear() {
      for (auto& m : messages)
        if (spares.size() < max_spares)
          spares.push_back(std::move(m));
      messages.clear();
      full_peers.clear();
      to_send.clear();
      established = false;
    }
    /// next_message appends a message to decode into: a spare if any.
    wire::message& next_message() {
      if (spares.empty())
        return messages.emplace_back();
      auto& m = messages.emplace_back(std::move(spares.back()));
      spares.pop_back();
      return m;
    }

  private:
    static constexpr size_t max_spares = 256;
    std::vector<wire::message> spares;
  };

  static control_conn client(const machine_private_key& self, const machine_public_key& server,
                             size_t max_frame_len = default_max_frame_len);
  static control_conn server(const machine_private_key& self,
                             size_t max_frame_len = default_max_frame_len);

  /// defer_full_peers leaves the peer lists of full maps encoded, for the
  /// caller to decode in parts (wire::encoded_peers): a node's session.
  void defer_full_peers() noexcept { defer_full_peers_ = true; }

  /// start (client) returns the first bytes to write.
  result<std::vector<uint8_t>> start();

  /// feed consumes bytes read from the socket and decodes at most
  /// `max_messages` of the messages they complete; the others wait for
  /// more() (so a reader can hand on a big read's messages in batches).
  /// Any error is fatal for the connection (close it); the error names the
  /// cause, and `out` may hold messages decoded before it (drop them).
  result<void> feed(std::span<const uint8_t> bytes, received& out,
                    size_t max_messages = SIZE_MAX);

  /// has_more reports whether bytes fed before may hold messages not yet
  /// decoded; more() decodes up to `max_messages` of them. Errors as feed().
  bool has_more() const noexcept;

  /// receive_buffer_bytes is the capacity held for received bytes between
  /// reads: up to two reads' worth while large reads keep coming, at most
  /// 1 MiB once a small read came (the memory a full map leaves behind).
  size_t receive_buffer_bytes() const noexcept { return app_.capacity() + scratch_.capacity(); }
  result<void> more(received& out, size_t max_messages);

  /// send appends the encrypted frame of `m` to `out`.
  result<void> send(const wire::message& m, std::vector<uint8_t>& out);

  /// send_encoded frames and encrypts an already encoded message (so a
  /// broadcast encodes once and encrypts per connection).
  result<void> send_encoded(std::span<const uint8_t> encoded, std::vector<uint8_t>& out);

  /// queue frames `m` without encrypting it yet; seal_queued() encrypts
  /// everything queued as one stream (an AEAD call costs ~0.8 us however
  /// small the message, so back-to-back messages share records).
  void queue(const wire::message& m);

  /// queue_encoded is queue() for an already encoded message.
  void queue_encoded(std::span<const uint8_t> encoded);

  /// seal_queued appends the records of all queued frames to `out`.
  result<void> seal_queued(std::vector<uint8_t>& out);

  bool established() const noexcept {
    return channel_.current_phase() == control_channel::phase::established;
  }

  /// peer is the other end's machine key (the client's, on a server, once
  /// its first record was read).
  const machine_public_key& peer() const noexcept { return channel_.peer_static(); }

private:
  control_conn(control_channel ch, bool is_client, size_t max_frame_len);

  result<void> on_handshake_record(received& out);
  result<void> drain_frames(received& out, size_t max);
  result<void> decode_assembled(received& out, size_t max, size_t& n);
  result<void> decode_back(std::span<const uint8_t> frame, received& out);
  result<void> decode_back(std::vector<uint8_t>& frame, received& out);

  control_channel channel_;
  bool is_client_;
  bool hello_checked_ = false;
  bool defer_full_peers_ = false;
  frame_decoder frames_;
  std::vector<uint8_t> app_;         // decrypted bytes not yet framed
  size_t app_pos_ = 0;               // where framing stopped at a batch's end
  std::vector<uint8_t> scratch_;     // one received frame
  std::vector<uint8_t> encode_buf_;  // one message being sent
  std::vector<uint8_t> frame_buf_;   // its frame
  std::vector<uint8_t> queued_;      // frames waiting for seal_queued()
};

} // namespace tf
