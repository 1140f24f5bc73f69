// SPDX-License-Identifier: Apache-2.0
// The msgpack codec of the control protocol's messages (runtime/wire.hpp).
// Pure functions over values; any thread. Decoding never throws and never
// trusts its input: every rejection is an errc plus a sentence, and counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/result.hpp"
#include "runtime/wire.hpp"

namespace tf::wire {

// Encoding (msgpack, array form): a message is [kind, body]; a struct is the
// array of its fields in declaration order (wire_fields.hpp counts them);
// keys are bin 32; an ip_addr is bin 4, bin 16, or bin 0 for the absent
// (default) address; ip_prefix is [addr, bits] (bits 0 when absent);
// ip_endpoint is [addr, port]; errc is a uint8; an optional is nil or the
// value; a pair is [first, second]. Integers take their shortest form.

/// decode_limits bounds what one decode may allocate. Each field caps one
/// msgpack container or blob; a larger one fails with
/// errc::malformed_message. The defaults fit a 4M-peer map_response.
struct decode_limits {
  /// max_array caps the element count of any one array (peer lists).
  size_t max_array = 1u << 22;
  /// max_map caps the pair count of any one map (we send none).
  size_t max_map = 1u << 16;
  /// max_str caps the byte length of any one string.
  size_t max_str = 1u << 16;
  /// max_bin caps the byte length of any one binary blob (keys, addresses).
  size_t max_bin = 1u << 16;
  /// max_depth caps container nesting (our deepest message nests 6 levels).
  size_t max_depth = 16;
};

/// encode_to appends the encoding of `m` to `out`: the msgpack array
/// [kind, body] where kind is the message_kind and body is the struct as an
/// array of its fields in declaration order. Never fails.
void encode_to(const message& m, std::vector<uint8_t>& out);

/// encode returns the encoding of `m` (see encode_to).
std::vector<uint8_t> encode(const message& m);

/// decode reads exactly one encoded message filling all of `bytes`.
/// Fails with errc::malformed_message on bad msgpack, truncation, trailing
/// bytes, wrong types or lengths, an unknown kind, or a limit exceeded; with
/// errc::unsupported_version when a register_request or map_request names a
/// version other than protocol_version. Struct arrays longer than we know
/// are accepted (fields appended by later versions are ignored); shorter
/// ones are malformed. Every failure bumps counter "wire_decode_rejected".
result<message> decode(std::span<const uint8_t> bytes, const decode_limits& limits = {});

/// decode_into is decode() into `out` (a message is 650 bytes: a stream of
/// small deltas pays for every copy). `out` may hold an earlier message:
/// one of the same kind is read over, every field set, and keeps its
/// buffers. On failure `out` holds a partial message the caller discards.
result<void> decode_into(std::span<const uint8_t> bytes, message& out,
                         const decode_limits& limits = {});

/// encoded_peers is a full map's peer list left encoded by decode_deferring,
/// for a node to decode in parts into nodes it reuses. Decoded at once,
/// 250,000 peers are some 110 MB of fresh memory, a page fault per 4 KB:
/// a quarter of a second where a fault costs ~10 us (bench/giant_tailnet,
/// initial apply). Owns the frame that carries the list.
class encoded_peers {
public:
  /// remaining counts the peers next_part() has not returned yet.
  size_t remaining() const noexcept { return left_; }

  /// next_part decodes the next min(max, remaining()) peers into `out`,
  /// resized to that count; nodes already in `out` are overwritten, so
  /// their buffers are reused. A peer decode() would refuse fails with its
  /// error and counter, and spends the list (remaining() is then 0).
  result<void> next_part(std::vector<node>& out, size_t max);

  /// released counts the bytes of the list next_part() gave back to the
  /// kernel: the whole 2 MiB pages of a large list (huge_page_advice_min or
  /// more) that lie before the next peer. A 250k-peer map is ~45 MB of
  /// freshly written pages; given back as its peers are decoded, they are
  /// the pages the records decoded from them land on next, which the kernel
  /// then zeroes warm instead of backing new memory (bench/giant_tailnet,
  /// initial apply; the README has the figures).
  size_t released() const noexcept { return released_; }

private:
  friend class peers_deferral;
  std::vector<uint8_t> bytes_;  // holds the list (the whole frame, or a copy of the list)
  size_t pos_ = 0;    // offset of the next peer in bytes_
  size_t end_ = 0;    // offset one past the last
  size_t depth_ = 0;  // container depth of the peers in the message
  uint32_t left_ = 0;
  uint32_t decoded_ = 0;  // peers returned so far (names a bad one's index)
  size_t released_ = 0;   // bytes of the list given back (release_huge_pages)
  size_t released_to_ = 0;  // offset in bytes_ up to which pages were given back
  decode_limits limits_;
};

/// decode_deferring is decode_into() of a whole frame, except that the
/// peer list of a full map_response is not decoded: its shape is checked
/// (well-formed msgpack within the limits, enough bytes for its count),
/// `out`'s peers are an empty list (so is_full() holds) and `peers` gets
/// the list for next_part(). The span form copies the list's bytes (for
/// frames of one read); the vector form moves a frame holding a list into
/// `peers`, leaving `frame` empty (a 50 MB map is not copied), and leaves
/// any other frame alone. `peers` is untouched unless a list was deferred.
result<void> decode_deferring(std::span<const uint8_t> frame, message& out, encoded_peers& peers,
                              const decode_limits& limits = {});
result<void> decode_deferring(std::vector<uint8_t>& frame, message& out, encoded_peers& peers,
                              const decode_limits& limits = {});

/// encode returns a hello as a bare struct array (no kind): the Noise
/// handshake payloads.
std::vector<uint8_t> encode(const client_hello& hello);
std::vector<uint8_t> encode(const server_hello& hello);

/// decode_client_hello reads a client_hello payload. The version is not
/// judged here: the handshake answers a foreign version with a
/// server_hello carrying errc::unsupported_version. Failures as in decode().
result<client_hello> decode_client_hello(std::span<const uint8_t> bytes);

/// decode_server_hello reads a server_hello payload. Failures as in decode().
result<server_hello> decode_server_hello(std::span<const uint8_t> bytes);

} // namespace tf::wire
