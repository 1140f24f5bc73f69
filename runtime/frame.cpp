// SPDX-License-Identifier: Apache-2.0
// Frame encoding and the incremental frame_decoder. A decoder is owned by
// one connection's reader (actor or test); no locking. Never throws on bad
// input: bad headers become a sticky errc and a counter bump.
#include "runtime/frame.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>
#include <string>

#include "runtime/counters.hpp"
#include "runtime/huge_pages.hpp"

namespace tf {

void append_frame(std::vector<uint8_t>& out, std::span<const uint8_t> payload) {
  assert(!payload.empty());
  assert(payload.size() <= std::numeric_limits<uint32_t>::max());
  auto len = static_cast<uint32_t>(payload.size());
  uint8_t header[frame_header_len] = {
    static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
    static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
  // Grow geometrically: an exact reserve per frame made appending many
  // frames to one buffer quadratic.
  auto need = out.size() + frame_header_len + payload.size();
  if (out.capacity() < need)
    out.reserve(std::max(need, 2 * out.capacity()));
  out.insert(out.end(), header, header + frame_header_len);
  out.insert(out.end(), payload.begin(), payload.end());
}

frame_decoder::frame_decoder(size_t max_frame_len) : max_frame_len_(max_frame_len) {
  // Nothing else: a decoder starts waiting for a header.
}

bool frame_decoder::start_frame(uint32_t len) {
  if (len == 0) {
    TF_COUNTER("control_frames_rejected_empty").add();
    error_ = make_error(errc::malformed_frame, "frame with length 0");
    return false;
  }
  if (len > max_frame_len_) {
    TF_COUNTER("control_frames_rejected_oversize").add();
    error_ = make_error(errc::frame_too_large,
                        "frame of " + std::to_string(len) + " bytes exceeds the limit of "
                          + std::to_string(max_frame_len_));
    return false;
  }
  partial_want_ = len;
  partial_.clear();
  // The whole frame is reserved at once: growing it with the bytes copied a
  // 50 MB netmap twice over and touched twice its pages, each a page fault
  // (the initial 250k-peer map: bench/giant_tailnet). Reserving is address
  // space, not memory: pages are backed as bytes are written, so a header
  // that lies about its length costs only the bytes that came (plus at most
  // one 2 MiB page: a frame of 4 MiB or more is marked for huge pages).
  partial_.reserve(len);
  advise_huge_pages(partial_.data(), partial_.capacity());
  return true;
}

void frame_decoder::feed(std::span<const uint8_t> bytes) {
  while (!bytes.empty() && !error_) {
    if (partial_want_ == 0) {
      size_t take = std::min(frame_header_len - header_have_, bytes.size());
      std::memcpy(header_ + header_have_, bytes.data(), take);
      header_have_ += take;
      buffered_ += take;
      bytes = bytes.subspan(take);
      if (header_have_ < frame_header_len) {
        return;
      }
      uint32_t len = uint32_t{header_[0]} << 24 | uint32_t{header_[1]} << 16
                     | uint32_t{header_[2]} << 8 | uint32_t{header_[3]};
      if (!start_frame(len)) {
        buffered_ -= frame_header_len; // the bad header is dropped
        header_have_ = 0;
        return;
      }
      continue;
    }
    size_t take = std::min(partial_want_ - partial_.size(), bytes.size());
    partial_.insert(partial_.end(), bytes.begin(), bytes.begin() + take);
    buffered_ += take;
    bytes = bytes.subspan(take);
    if (partial_.size() == partial_want_) {
      ready_.push_back(std::move(partial_));
      partial_ = {};
      partial_want_ = 0;
      header_have_ = 0;
    }
  }
}

result<bool> frame_decoder::next(std::vector<uint8_t>& payload_out) {
  if (!ready_.empty()) {
    payload_out = std::move(ready_.front());
    ready_.pop_front();
    buffered_ -= frame_header_len + payload_out.size();
    return true;
  }
  if (error_) {
    return *error_;
  }
  return false;
}

} // namespace tf
