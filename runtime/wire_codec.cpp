// SPDX-License-Identifier: Apache-2.0
// The public face of the wire codec: packs messages with msgpack-cxx and the
// adaptors of wire_msgpack.hpp; decodes with the wire_cursor readers under
// decode_limits. Pure functions; any thread. No exception leaves this file.
#include "runtime/wire_codec.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <string>
#include <type_traits>

#include "runtime/counters.hpp"
#include "runtime/huge_pages.hpp"
#include "runtime/wire_cursor.hpp"
#include "runtime/wire_msgpack.hpp"
#include "runtime/wire_read.hpp"

namespace tf::wire {

namespace {

/// byte_sink is the msgpack output stream: it appends to a byte vector.
/// The packer writes many tiny pieces, so the sink grows the vector's size
/// in steps within its capacity and tracks the used length itself;
/// finish() trims the unused tail.
class byte_sink {
public:
  explicit byte_sink(std::vector<uint8_t>& out) : out_(out), used_(out.size()) {}

  // Inlined into the packer: most writes are 1 to 9 bytes of constant size.
  [[gnu::always_inline]] void write(const char* data, size_t len) {
    if (out_.size() - used_ < len) [[unlikely]] {
      grow(len);
    }
    std::memcpy(out_.data() + used_, data, len);
    used_ += len;
  }

  void finish() { out_.resize(used_); }

private:
  static constexpr size_t step_len = 64u << 10;

  void grow(size_t len) {
    size_t want = used_ + len;
    if (out_.capacity() < want) {
      out_.reserve(std::max(want, 2 * out_.capacity()));
    }
    out_.resize(std::min(out_.capacity(), std::max(want, used_ + step_len)));
  }

  std::vector<uint8_t>& out_;
  size_t used_;
};

/// size_hint estimates the encoded size of large messages (peer lists) so
/// encode_to allocates once; being wrong only costs a reallocation.
size_t size_hint(const node& n) {
  size_t out = 160 + n.stable_id.size() + n.name.size() + n.hostname.size()
               + 21 * (n.addresses.size() + n.allowed_ips.size()) + 22 * n.endpoints.size();
  for (const auto& tag : n.tags) {
    out += 5 + tag.size();
  }
  return out;
}

size_t size_hint(const message& m) {
  size_t out = 256;
  if (const auto* r = std::get_if<map_response>(&m)) {
    out += r->self ? size_hint(*r->self) : 0;
    if (r->peers) {
      for (const auto& n : *r->peers) {
        out += size_hint(n);
      }
    }
    for (const auto& n : r->peers_changed) {
      out += size_hint(n);
    }
    out += 10 * r->peers_removed.size() + 12 * r->online_change.size()
           + 12 * r->peer_seen_change.size() + 80 * r->peers_changed_patch.size();
  }
  return out;
}

/// kind_of names the message_kind of a message body type.
template <class T>
constexpr message_kind kind_of() {
  if constexpr (std::is_same_v<T, register_request>) {
    return message_kind::register_request;
  } else if constexpr (std::is_same_v<T, register_response>) {
    return message_kind::register_response;
  } else if constexpr (std::is_same_v<T, map_request>) {
    return message_kind::map_request;
  } else if constexpr (std::is_same_v<T, map_response>) {
    return message_kind::map_response;
  } else {
    static_assert(std::is_same_v<T, control_error>, "every message type needs a kind");
    return message_kind::control_error;
  }
}

template <class T>
std::vector<uint8_t> pack_struct(const T& v) {
  std::vector<uint8_t> out;
  byte_sink sink{out};
  msgpack::packer<byte_sink> pk{sink};
  pk.pack(v);
  sink.finish();
  return out;
}

failure reject(errc code, std::string detail) {
  TF_COUNTER("wire_decode_rejected").add();
  return make_error(code, std::move(detail));
}

/// decode_as reads one value with `read` and insists that it fills `bytes`
/// exactly. The reader works on the bytes directly (no msgpack object
/// tree: for a 250k-peer map_response the tree alone costs more memory and
/// time than the decoded peers).
template <class T>
using reader_fn = bool (*)(wire_cursor&, T&, read_ctx&);

template <class T>
result<void> decode_as(std::span<const uint8_t> bytes, T& out, const decode_limits& lim,
                       const char* root, reader_fn<T> read,
                       read_ctx::peer_span* defer_peers = nullptr) {
  try {
    wire_cursor in{bytes, lim};
    read_ctx ctx;
    ctx.defer_peers = defer_peers;
    if (!read(in, out, ctx)) {
      return reject(ctx.code(), ctx.detail(root));
    }
    if (in.remaining() != 0) {
      return reject(errc::malformed_message, std::string{root} + ": "
                                               + std::to_string(in.remaining())
                                               + " trailing bytes after the message");
    }
    return {};
  } catch (const std::bad_alloc&) {
    return reject(errc::malformed_message,
                  std::string{root} + ": out of memory decoding "
                    + std::to_string(bytes.size()) + " bytes");
  } catch (const std::exception& e) {
    return reject(errc::malformed_message, std::string{root} + ": " + e.what());
  }
}

/// decode_value is decode_as() into a new value.
template <class T>
result<T> decode_value(std::span<const uint8_t> bytes, const decode_limits& lim,
                       const char* root, reader_fn<T> read) {
  T out{};
  if (auto ok = decode_as(bytes, out, lim, root, read); !ok) {
    return ok.error();
  }
  return out;
}

} // namespace

void encode_to(const message& m, std::vector<uint8_t>& out) {
  // Geometric, so appending many messages to one buffer stays linear.
  if (size_t hint = size_hint(m); out.capacity() - out.size() < hint) {
    out.reserve(std::max(out.size() + hint, 2 * out.capacity()));
  }
  byte_sink sink{out};
  msgpack::packer<byte_sink> pk{sink};
  std::visit(
    [&pk](const auto& body) {
      using body_t = std::decay_t<decltype(body)>;
      pk.pack_array(2);
      pk.pack_uint8(static_cast<uint8_t>(kind_of<body_t>()));
      pk.pack(body);
    },
    m);
  sink.finish();
}

std::vector<uint8_t> encode(const message& m) {
  std::vector<uint8_t> out;
  encode_to(m, out);
  return out;
}

result<message> decode(std::span<const uint8_t> bytes, const decode_limits& limits) {
  return decode_value<message>(bytes, limits, "message", read_message);
}

result<void> decode_into(std::span<const uint8_t> bytes, message& out,
                         const decode_limits& limits) {
  return decode_as(bytes, out, limits, "message", read_message);
}

// peers_deferral fills an encoded_peers from a decoded message's span.
class peers_deferral {
public:
  static result<void> decode(std::span<const uint8_t> frame, std::vector<uint8_t>* owner,
                             message& out, encoded_peers& peers, const decode_limits& limits) {
    read_ctx::peer_span span;
    auto ok = decode_as(frame, out, limits, "message", read_message, &span);
    if (!ok || !span.present)
      return ok;
    auto begin = static_cast<size_t>(span.begin - frame.data());
    auto end = static_cast<size_t>(span.end - frame.data());
    if (owner) {
      peers.bytes_ = std::move(*owner);
      owner->clear();
      peers.pos_ = begin;
      peers.end_ = end;
    } else {
      peers.bytes_.assign(span.begin, span.end);
      peers.pos_ = 0;
      peers.end_ = end - begin;
    }
    peers.limits_ = limits;
    peers.depth_ = span.depth;
    peers.left_ = span.count;
    peers.decoded_ = 0;
    peers.released_ = 0;
    peers.released_to_ = 0;
    return ok;
  }
};

result<void> decode_deferring(std::span<const uint8_t> frame, message& out, encoded_peers& peers,
                              const decode_limits& limits) {
  return peers_deferral::decode(frame, nullptr, out, peers, limits);
}

result<void> decode_deferring(std::vector<uint8_t>& frame, message& out, encoded_peers& peers,
                              const decode_limits& limits) {
  return peers_deferral::decode(frame, &frame, out, peers, limits);
}

result<void> encoded_peers::next_part(std::vector<node>& out, size_t max) {
  auto n = std::min<size_t>(max, left_);
  out.resize(n);
  auto spent = [this](failure f) {
    left_ = 0;
    std::vector<uint8_t>{}.swap(bytes_);
    return f;
  };
  try {
    wire_cursor in{std::span{bytes_}.subspan(pos_, end_ - pos_), limits_, depth_};
    read_ctx ctx;
    for (size_t i = 0; i < n; ++i) {
      if (!reader::read(in, out[i], ctx)) {
        // The path decode() would name: innermost first.
        ctx.at(size_t{decoded_ + i});
        ctx.at("peers");
        ctx.at("map_response");
        return spent(reject(ctx.code(), ctx.detail("message")));
      }
    }
    pos_ = static_cast<size_t>(in.position() - bytes_.data());
    if (bytes_.size() >= huge_page_advice_min) { // the spent front
      // Up to the page boundary before pos_: that page is given back once
      // a later part spends it all.
      auto spent_end = bytes_.data() + pos_;
      spent_end -= reinterpret_cast<uintptr_t>(spent_end) % huge_page_len;
      if (spent_end > bytes_.data() + released_to_) {
        released_ += release_huge_pages(bytes_.data() + released_to_, spent_end);
        released_to_ = static_cast<size_t>(spent_end - bytes_.data());
      }
    }
  } catch (const std::bad_alloc&) {
    return spent(reject(errc::malformed_message, "message.map_response.peers: out of memory"));
  }
  left_ -= static_cast<uint32_t>(n);
  decoded_ += static_cast<uint32_t>(n);
  if (left_ == 0)
    std::vector<uint8_t>{}.swap(bytes_);
  return {};
}

std::vector<uint8_t> encode(const client_hello& hello) {
  return pack_struct(hello);
}

std::vector<uint8_t> encode(const server_hello& hello) {
  return pack_struct(hello);
}

result<client_hello> decode_client_hello(std::span<const uint8_t> bytes) {
  return decode_value<client_hello>(bytes, {}, "client_hello", read_hello);
}

result<server_hello> decode_server_hello(std::span<const uint8_t> bytes) {
  return decode_value<server_hello>(bytes, {}, "server_hello", read_hello);
}

} // namespace tf::wire
