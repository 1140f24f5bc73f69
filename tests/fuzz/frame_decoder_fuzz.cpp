// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes into a frame_decoder, split into chunks
// whose sizes come from the input. The frames (and the error, if any) must be
// the same as a whole-stream reference parse, and buffered() must account
// for every byte fed.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <vector>

#include "runtime/frame.hpp"

using namespace tf;

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

struct reference {
  std::vector<std::vector<uint8_t>> frames;
  std::optional<errc> error;
};

/// parse_whole is the obvious parser of a complete stream.
reference parse_whole(std::span<const uint8_t> s, size_t max_len) {
  reference out;
  while (s.size() >= frame_header_len) {
    size_t len = size_t{s[0]} << 24 | size_t{s[1]} << 16 | size_t{s[2]} << 8 | s[3];
    if (len == 0 || len > max_len) {
      out.error = len == 0 ? errc::malformed_frame : errc::frame_too_large;
      return out;
    }
    if (s.size() < frame_header_len + len) {
      return out;
    }
    out.frames.emplace_back(s.begin() + frame_header_len, s.begin() + frame_header_len + len);
    s = s.subspan(frame_header_len + len);
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  // Byte 0: the limit; byte 1: the chunking seed; the rest: the stream.
  size_t max_len = 1 + data[0] * 4;
  uint32_t seed = data[1];
  std::span<const uint8_t> stream{data + 2, size - 2};
  auto want = parse_whole(stream, max_len);

  frame_decoder dec{max_len};
  std::vector<std::vector<uint8_t>> frames;
  std::optional<errc> error;
  size_t fed = 0;
  size_t consumed = 0; // header + payload bytes of frames returned
  std::vector<uint8_t> frame;
  std::span<const uint8_t> rest = stream;
  while (!rest.empty() || !error) {
    seed = seed * 1103515245u + 12345u;
    size_t n = std::min<size_t>(rest.size(), 1 + (seed >> 16) % 17);
    dec.feed(rest.first(n));
    fed += n;
    rest = rest.subspan(n);
    for (;;) {
      auto got = dec.next(frame);
      if (!got.ok()) {
        error = got.code();
        break;
      }
      if (!*got) {
        break;
      }
      check(!frame.empty() && frame.size() <= max_len);
      consumed += frame_header_len + frame.size();
      frames.push_back(frame);
    }
    if (!error) {
      check(dec.buffered() == fed - consumed);
    }
    if (rest.empty() && !error) {
      break;
    }
  }
  check(frames == want.frames);
  check(error == want.error);
  return 0;
}
