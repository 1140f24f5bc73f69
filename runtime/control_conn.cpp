// SPDX-License-Identifier: Apache-2.0
// The layered control connection. Confined to its owning actor.
#include "runtime/control_conn.hpp"

#include "runtime/counters.hpp"
#include "runtime/wire_codec.hpp"

namespace tf {

namespace {

/// keep_capacity is what a buffer may keep between messages.
constexpr size_t keep_capacity = 1u << 20;

// release_if_large frees a buffer's capacity after a big message (a full
// netmap is tens of MB): buffers stay sized for deltas, not for the
// largest message ever seen.
void release_if_large(std::vector<uint8_t>& buf) {
  if (buf.capacity() > keep_capacity)
    std::vector<uint8_t>{}.swap(buf);
  else
    buf.clear();
}

// release_after_burst is release_if_large for the buffer of one read's
// decrypted bytes, applied only after a small read: it keeps a large
// capacity while the reads stay large (a full map comes in reads of up to
// 1 MiB, and freeing the buffer after each made the next read fault its
// pages in again: ~13,000 page faults of a 250k-peer map).
void release_after_burst(std::vector<uint8_t>& buf) {
  if (buf.size() >= keep_capacity / 4)
    buf.clear();
  else
    release_if_large(buf);
}

} // namespace

control_conn::control_conn(control_channel ch, bool is_client, size_t max_frame_len)
  : channel_(std::move(ch)), is_client_(is_client), frames_(max_frame_len) {
}

control_conn control_conn::client(const machine_private_key& self,
                                  const machine_public_key& server, size_t max_frame_len) {
  return control_conn{control_channel::client(self, server), true, max_frame_len};
}

control_conn control_conn::server(const machine_private_key& self, size_t max_frame_len) {
  return control_conn{control_channel::server(self), false, max_frame_len};
}

result<std::vector<uint8_t>> control_conn::start() {
  return channel_.initiate(wire::encode(wire::client_hello{}));
}

result<void> control_conn::on_handshake_record(received& out) {
  using phase = control_channel::phase;
  if (!is_client_ && channel_.current_phase() == phase::awaiting_accept) {
    auto hello = wire::decode_client_hello(channel_.peer_hello());
    wire::server_hello reply;
    if (!hello || hello->version != wire::protocol_version)
      reply.error_code = errc::unsupported_version;
    auto record = channel_.accept(wire::encode(reply));
    if (!record)
      return record.error();
    out.to_send.insert(out.to_send.end(), record->begin(), record->end());
    if (reply.error_code != errc::ok) {
      TF_COUNTER("control_handshake_rejected_version").add();
      return make_error(errc::unsupported_version,
                        hello ? "client speaks protocol version " + std::to_string(hello->version)
                              : hello.error().message());
    }
    out.established = true;
    hello_checked_ = true;
    return channel_.receive({}, app_); // bytes that came with record 1
  }
  if (is_client_ && !hello_checked_ && channel_.current_phase() == phase::established) {
    hello_checked_ = true;
    auto hello = wire::decode_server_hello(channel_.peer_hello());
    if (!hello)
      return hello.error();
    if (hello->error_code != errc::ok || hello->version != wire::protocol_version) {
      TF_COUNTER("control_handshake_rejected_version").add();
      return make_error(errc::unsupported_version,
                        "server speaks protocol version " + std::to_string(hello->version)
                          + ", we speak " + std::to_string(wire::protocol_version));
    }
    out.established = true;
  }
  return {};
}

namespace {

// decode_message decodes one frame's message in place at the end of
// out.messages (no copy of the 650-byte message). A full map's peer list
// stays encoded when deferring: the span form copies the list (a frame of
// one read), the vector form takes the frame.
template <class Frame>
result<void> decode_message(Frame& frame, bool defer, control_conn::received& out) {
  auto& m = out.next_message();
  result<void> ok;
  if (defer) {
    wire::encoded_peers peers;
    ok = wire::decode_deferring(frame, m, peers);
    if (auto* r = std::get_if<wire::map_response>(&m); ok && r && r->is_full())
      out.full_peers.push_back(std::move(peers));
  } else {
    ok = wire::decode_into(frame, m);
  }
  if (!ok)
    out.messages.pop_back();
  return ok;
}

} // namespace

result<void> control_conn::decode_back(std::span<const uint8_t> frame, received& out) {
  return decode_message(frame, defer_full_peers_, out);
}

result<void> control_conn::decode_back(std::vector<uint8_t>& frame, received& out) {
  return decode_message(frame, defer_full_peers_, out);
}

result<void> control_conn::decode_assembled(received& out, size_t max, size_t& n) {
  while (n < max) {
    auto got = frames_.next(scratch_);
    if (!got)
      return got.error();
    if (!*got)
      return {};
    auto ok = decode_back(scratch_, out);
    release_if_large(scratch_);
    if (!ok)
      return ok;
    ++n;
  }
  return {};
}

result<void> control_conn::drain_frames(received& out, size_t max) {
  size_t n = 0;
  // Frames the decoder already assembled are older than app_'s bytes.
  if (auto ok = decode_assembled(out, max, n); !ok || n == max)
    return ok;
  std::span<const uint8_t> rest{app_.data() + app_pos_, app_.size() - app_pos_};
  // Fast path: decode whole frames straight from the decrypted bytes. Only
  // when the frame decoder holds nothing, so frames stay in order; a bad
  // header is left to the decoder, which rejects and counts it.
  if (frames_.buffered() == 0) {
    while (n < max && rest.size() >= frame_header_len) {
      uint32_t len = uint32_t{rest[0]} << 24 | uint32_t{rest[1]} << 16
                     | uint32_t{rest[2]} << 8 | uint32_t{rest[3]};
      if (len == 0 || len > frames_.max_frame_len() || rest.size() < frame_header_len + len)
        break;
      if (auto ok = decode_back(rest.subspan(frame_header_len, len), out); !ok)
        return ok;
      rest = rest.subspan(frame_header_len + len);
      ++n;
    }
    if (n == max && !rest.empty()) {
      app_pos_ = app_.size() - rest.size(); // more() goes on from here
      return {};
    }
  }
  if (!rest.empty())
    frames_.feed(rest);
  app_pos_ = 0;
  release_after_burst(app_);
  return decode_assembled(out, max, n);
}

result<void> control_conn::feed(std::span<const uint8_t> bytes, received& out,
                                size_t max_messages) {
  if (auto r = channel_.receive(bytes, app_); !r)
    return r;
  if (!hello_checked_)
    if (auto r = on_handshake_record(out); !r)
      return r;
  return drain_frames(out, max_messages);
}

result<void> control_conn::more(received& out, size_t max_messages) {
  return drain_frames(out, max_messages);
}

bool control_conn::has_more() const noexcept {
  return !app_.empty() || frames_.assembled() > 0;
}

result<void> control_conn::send(const wire::message& m, std::vector<uint8_t>& out) {
  encode_buf_.clear();
  wire::encode_to(m, encode_buf_);
  auto r = send_encoded(encode_buf_, out);
  release_if_large(encode_buf_);
  return r;
}

void control_conn::queue(const wire::message& m) {
  encode_buf_.clear();
  wire::encode_to(m, encode_buf_);
  append_frame(queued_, encode_buf_);
  release_if_large(encode_buf_);
}

void control_conn::queue_encoded(std::span<const uint8_t> encoded) {
  append_frame(queued_, encoded);
}

result<void> control_conn::seal_queued(std::vector<uint8_t>& out) {
  auto r = channel_.seal(queued_, out);
  release_if_large(queued_);
  return r;
}

result<void> control_conn::send_encoded(std::span<const uint8_t> encoded,
                                        std::vector<uint8_t>& out) {
  frame_buf_.clear();
  append_frame(frame_buf_, encoded);
  auto r = channel_.seal(frame_buf_, out);
  release_if_large(frame_buf_);
  return r;
}

} // namespace tf
