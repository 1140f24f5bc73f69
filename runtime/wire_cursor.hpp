// SPDX-License-Identifier: Apache-2.0
// Private to the wire codec: a pull reader over msgpack bytes (wire_cursor)
// and the failure context the typed readers fill (read_ctx). One cursor per
// decode call, on the caller's thread. Never reads past its span and never
// trusts a length it has not checked against the bytes left and the limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/errc.hpp"
#include "runtime/wire.hpp"
#include "runtime/wire_codec.hpp"

namespace tf::wire {

/// read_ctx collects why a read failed: the code, the innermost complaint,
/// and the field path, built while unwinding (nothing is built on success).
class read_ctx {
public:
  /// fail records `what` (malformed_message) and returns false.
  bool fail(std::string what);
  /// fail_unsupported records `what` as unsupported_version; returns false.
  bool fail_unsupported(std::string what);
  /// at prepends ".name" / "[index]" to the path; returns false.
  bool at(const char* name);
  bool at(size_t index);

  errc code() const noexcept { return code_; }

  /// peer_span is where a full map's peer list lies in the bytes read
  /// (encoded_peers). When `defer_peers` is set, read(map_response) checks
  /// the list's shape, skips it and records it there instead of decoding it.
  struct peer_span {
    const uint8_t* begin = nullptr;  // first element
    const uint8_t* end = nullptr;    // one past the last
    uint32_t count = 0;
    size_t depth = 0;                // container depth of the elements
    bool present = false;            // the map had a peer list
  };
  peer_span* defer_peers = nullptr;
  /// detail renders "root.path.to[3].field: complaint".
  std::string detail(const char* root) const;

private:
  errc code_ = errc::malformed_message;
  std::string what_;
  std::vector<std::string> reversed_path_;
};

/// value_head is the decoded header of one msgpack value. For str, bin and
/// ext the body has been consumed and `data`/`len` point at it; for array
/// and map `len` is the element (pair) count and the elements follow.
struct value_head {
  enum kind_t : uint8_t { nil, boolean, uint, nint, floating, str, bin, array, map, ext };
  kind_t kind = nil;
  bool b = false;
  uint64_t u = 0;  // uint: the value (non-negative signed formats land here)
  int64_t i = 0;   // nint: the (negative) value
  uint32_t len = 0;
  const uint8_t* data = nullptr;
};

/// describe renders a head for error details ("got str of 3 bytes").
std::string describe(const value_head& h);

/// wire_cursor walks msgpack bytes front to back. Every method that fails
/// fills the read_ctx and leaves the cursor unusable (the decode is over).
///
/// Two layers: next() decodes any value head and reports every failure;
/// the try_* fast paths decode the common forms of one type inline and
/// return false, consuming nothing, for anything else (another form, a
/// limit, too few bytes), after which the caller takes next() to get the
/// same value or the failure. They accept a subset of what next() accepts.
class wire_cursor {
public:
  wire_cursor(std::span<const uint8_t> bytes, const decode_limits& limits, size_t depth = 0)
    : pos_(bytes.data()), end_(bytes.data() + bytes.size()), limits_(limits), depth_(depth) {}

  /// position is the next byte to read; depth the containers it is in.
  const uint8_t* position() const noexcept { return pos_; }
  size_t depth() const noexcept { return depth_; }

  size_t remaining() const noexcept { return static_cast<size_t>(end_ - pos_); }

  /// next reads the head of the next value; checks str/bin/ext lengths and
  /// array/map counts against the limits and against the bytes left.
  bool next(value_head& h, read_ctx& c);

  /// enter opens a container whose head was just read (depth limit).
  bool enter(read_ctx& c) {
    if (depth_ >= limits_.max_depth) {
      return fail_depth(c);
    }
    ++depth_;
    return true;
  }

  /// leave closes the innermost container once its elements are read.
  void leave() noexcept { --depth_; }

  /// skip consumes `count` whole values of any shape (fields appended by a
  /// newer peer), iteratively and within the depth limit.
  bool skip(uint64_t count, read_ctx& c);

  // -- fast paths (see the class comment) -----------------------------------

  /// take_nil consumes the next value if it is nil (an absent optional).
  bool take_nil() noexcept {
    if (pos_ != end_ && *pos_ == 0xc0) {
      ++pos_;
      return true;
    }
    return false;
  }

  /// try_bool reads true or false.
  bool try_bool(bool& v) noexcept {
    if (pos_ != end_ && (*pos_ == 0xc2 || *pos_ == 0xc3)) {
      v = *pos_++ == 0xc3;
      return true;
    }
    return false;
  }

  /// try_uint reads positive fixint and uint8..uint64.
  bool try_uint(uint64_t& v) noexcept {
    if (pos_ == end_) {
      return false;
    }
    const uint8_t tag = *pos_;
    if (tag <= 0x7f) {
      v = tag;
      ++pos_;
      return true;
    }
    if (tag < 0xcc || tag > 0xcf) {
      return false;
    }
    const size_t len = size_t{1} << (tag - 0xcc);
    if (remaining() <= len) {
      return false;
    }
    v = load_be(pos_ + 1, len);
    pos_ += 1 + len;
    return true;
  }

  /// try_str reads fixstr and str8 within max_str.
  bool try_str(const uint8_t*& data, uint32_t& len) noexcept {
    if (pos_ == end_) {
      return false;
    }
    const uint8_t tag = *pos_;
    if ((tag & 0xe0) == 0xa0) {
      return blob(1, tag & 0x1fu, limits_.max_str, data, len);
    }
    if (tag == 0xd9 && remaining() >= 2) {
      return blob(2, pos_[1], limits_.max_str, data, len);
    }
    return false;
  }

  /// try_bin reads bin8 within max_bin.
  bool try_bin(const uint8_t*& data, uint32_t& len) noexcept {
    if (pos_ != end_ && *pos_ == 0xc4 && remaining() >= 2) {
      return blob(2, pos_[1], limits_.max_bin, data, len);
    }
    return false;
  }

  /// try_array reads any array header within the limits and enters it.
  bool try_array(uint32_t& n) noexcept {
    if (pos_ == end_ || depth_ >= limits_.max_depth) {
      return false;
    }
    const uint8_t tag = *pos_;
    size_t hdr = 1;
    uint64_t len = 0;
    if ((tag & 0xf0) == 0x90) {
      len = tag & 0x0fu;
    } else if (tag == 0xdc && remaining() >= 3) {
      hdr = 3;
      len = load_be(pos_ + 1, 2);
    } else if (tag == 0xdd && remaining() >= 5) {
      hdr = 5;
      len = load_be(pos_ + 1, 4);
    } else {
      return false;
    }
    if (len > limits_.max_array || len > remaining() - hdr) {
      return false;
    }
    pos_ += hdr;
    n = static_cast<uint32_t>(len);
    ++depth_;
    return true;
  }

  /// peek returns the next `n` bytes for a typed fast path's pattern match
  /// (nullptr if fewer remain); advance consumes what the match used.
  const uint8_t* peek(size_t n) const noexcept { return remaining() >= n ? pos_ : nullptr; }
  void advance(size_t n) noexcept { pos_ += n; }

  /// pair_fits says a [bin of up to 16 bytes, small uint] array at this
  /// depth passes the limits, so a fast path may match it byte for byte.
  bool pair_fits() const noexcept {
    return depth_ < limits_.max_depth && limits_.max_array >= 2 && limits_.max_bin >= 16;
  }

private:
  static uint64_t load_be(const uint8_t* p, size_t len) noexcept {
    uint64_t v = 0;
    for (size_t i = 0; i < len; ++i) {
      v = v << 8 | p[i];
    }
    return v;
  }

  /// try_skip_head consumes one value in its common forms (skip's fast
  /// path, over the try_* fast paths): a scalar whole (returns 0), or an
  /// array's or fixmap's head, entering it (returns its element count + 1).
  /// Anything else, or a check that fails, returns -1 and consumes nothing:
  /// next() then reads the value or reports why not.
  int64_t try_skip_head() noexcept;

  bool blob(size_t hdr, uint32_t n, size_t limit, const uint8_t*& data, uint32_t& len) noexcept {
    if (n > limit || hdr + n > remaining()) {
      return false;
    }
    data = pos_ + hdr;
    len = n;
    pos_ += hdr + n;
    return true;
  }

  bool fail_depth(read_ctx& c);
  bool take(size_t n, const uint8_t*& out, read_ctx& c);
  template <class T>
  bool take_be(T& out, read_ctx& c);
  bool sized(value_head::kind_t kind, uint64_t len, value_head& h, read_ctx& c);

  const uint8_t* pos_;
  const uint8_t* end_;
  const decode_limits& limits_;
  size_t depth_ = 0;
};

// -- typed entry points (wire_read.cpp) ----------------------------------------

/// read_message reads [kind, body] into `out`; false (with `c` filled) on
/// any mismatch. Never throws except std::bad_alloc.
bool read_message(wire_cursor& in, message& out, read_ctx& c);
bool read_hello(wire_cursor& in, client_hello& out, read_ctx& c);
bool read_hello(wire_cursor& in, server_hello& out, read_ctx& c);

} // namespace tf::wire
