// SPDX-License-Identifier: Apache-2.0
// Length-prefixed frames of the control channel: a 4-byte big-endian length,
// then that many payload bytes. A frame_decoder belongs to one connection
// and is touched by its owner only (not thread-safe). Never throws; never
// buffers more than one partial frame beyond the frames already complete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "runtime/result.hpp"

namespace tf {

inline constexpr size_t frame_header_len = 4;
inline constexpr size_t default_max_frame_len = 128u << 20;
/// node_frame_max_len bounds what a node sends a coordination server
/// (registration, hostinfo, endpoints: a few KB): the server's decoder
/// reserves a frame's declared length, so this also bounds the address
/// space one unregistered connection can claim.
inline constexpr size_t node_frame_max_len = 1u << 20;

/// append_frame appends the header and `payload` to `out`. The payload must
/// be 1 to 2^32-1 bytes (asserted); decoders refuse empty frames.
void append_frame(std::vector<uint8_t>& out, std::span<const uint8_t> payload);

/// frame_decoder accumulates stream bytes and yields complete frames. Each
/// payload byte is copied once (from feed() into the frame's own vector,
/// which next() hands over without copying). A length of 0 or above
/// max_frame_len is a sticky error: errc::malformed_frame (counter
/// "control_frames_rejected_empty") or errc::frame_too_large (counter
/// "control_frames_rejected_oversize"); frames completed before the bad
/// header are still delivered first, bytes after it are dropped.
class frame_decoder {
public:
  explicit frame_decoder(size_t max_frame_len = default_max_frame_len);

  /// feed takes stream bytes (any split). Cheap after an error (drops them).
  void feed(std::span<const uint8_t> bytes);

  /// next moves the oldest complete frame into `payload_out` and returns
  /// true; returns false when more bytes are needed; returns the sticky
  /// error once the frames before it are consumed.
  result<bool> next(std::vector<uint8_t>& payload_out);

  /// buffered counts fed bytes not yet returned by next(): complete frames
  /// (with their headers) plus the partial frame.
  size_t buffered() const noexcept { return buffered_; }

  /// assembled counts complete frames next() has not returned yet.
  size_t assembled() const noexcept { return ready_.size(); }

  /// max_frame_len is the largest payload length this decoder accepts.
  size_t max_frame_len() const noexcept { return max_frame_len_; }

private:
  /// start_frame validates the parsed header; false sets the sticky error.
  bool start_frame(uint32_t len);

  size_t max_frame_len_;
  std::deque<std::vector<uint8_t>> ready_;
  uint8_t header_[frame_header_len] = {};
  size_t header_have_ = 0;
  std::vector<uint8_t> partial_;  // payload of the frame being received
  size_t partial_want_ = 0;       // its length; 0 = reading a header
  size_t buffered_ = 0;
  std::optional<failure> error_;
};

} // namespace tf
