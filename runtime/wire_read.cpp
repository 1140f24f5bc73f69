// SPDX-License-Identifier: Apache-2.0
// The scalar readers of the wire codec: ints, strings, keys, addresses,
// prefixes, endpoints, pairs, straight from msgpack bytes through a
// wire_cursor (no object tree, no exceptions). Pure functions; any thread.
// Never accepts a value out of its type's range.
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/wire_read.hpp"

namespace tf::wire::reader {

// -- scalars ---------------------------------------------------------------

bool read(wire_cursor& in, bool& v, read_ctx& c) {
  if (in.try_bool(v)) {
    return true;
  }
  vh h;
  if (!in.next(h, c)) {
    return false;
  }
  if (h.kind != vh::boolean) {
    return c.fail("want bool; " + describe(h));
  }
  v = h.b;
  return true;
}

bool read(wire_cursor& in, uint64_t& v, read_ctx& c) {
  return read_uint(in, std::numeric_limits<uint64_t>::max(), v, c);
}

bool read(wire_cursor& in, uint16_t& v, read_ctx& c) {
  uint64_t x = 0;
  if (!read_uint(in, std::numeric_limits<uint16_t>::max(), x, c)) {
    return false;
  }
  v = static_cast<uint16_t>(x);
  return true;
}

bool read(wire_cursor& in, int64_t& v, read_ctx& c) {
  vh h;
  if (in.try_uint(h.u)) {
    h.kind = vh::uint;
  } else if (!in.next(h, c)) {
    return false;
  }
  if (h.kind == vh::nint) {
    v = h.i;
    return true;
  }
  if (h.kind != vh::uint) {
    return c.fail("want int; " + describe(h));
  }
  if (h.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return c.fail("value " + std::to_string(h.u) + " exceeds int64");
  }
  v = static_cast<int64_t>(h.u);
  return true;
}

bool read(wire_cursor& in, std::string& v, read_ctx& c) {
  vh h;
  if (in.try_str(h.data, h.len)) {
    // Into a string with room (a reused message's): assign, no allocation.
    // Into an empty one, constructing and moving is cheaper than assign():
    // no _M_replace bookkeeping.
    if (v.capacity() >= h.len)
      v.assign(reinterpret_cast<const char*>(h.data), h.len);
    else
      v = std::string(reinterpret_cast<const char*>(h.data), h.len);
    return true;
  }
  if (!in.next(h, c)) {
    return false;
  }
  if (h.kind != vh::str) {
    return c.fail("want str; " + describe(h));
  }
  v.assign(reinterpret_cast<const char*>(h.data), h.len);
  return true;
}

/// read(errc) keeps codes we do not know (a newer peer's); to_string says
/// "unknown" for them.
bool read(wire_cursor& in, errc& v, read_ctx& c) {
  uint64_t x = 0;
  if (!read_uint(in, std::numeric_limits<uint8_t>::max(), x, c)) {
    return false;
  }
  v = static_cast<errc>(x);
  return true;
}

template <class Tag>
bool read_key(wire_cursor& in, public_key<Tag>& v, read_ctx& c) {
  vh h;
  if (in.try_bin(h.data, h.len)) {
    h.kind = vh::bin;
  } else if (!in.next(h, c)) {
    return false;
  }
  if (h.kind != vh::bin || h.len != key_len) {
    return c.fail("want bin of 32 bytes (key); " + describe(h));
  }
  key_bytes bytes;
  std::memcpy(bytes.data(), h.data, key_len);
  v = public_key<Tag>{bytes};
  return true;
}

bool read(wire_cursor& in, node_public_key& v, read_ctx& c) {
  return read_key(in, v, c);
}

bool read(wire_cursor& in, machine_public_key& v, read_ctx& c) {
  return read_key(in, v, c);
}

/// read(ip_addr): bin 4 is IPv4, bin 16 IPv6, bin 0 the absent address.
bool read(wire_cursor& in, ip_addr& v, read_ctx& c) {
  vh h;
  if (in.try_bin(h.data, h.len)) {
    h.kind = vh::bin;
  } else if (!in.next(h, c)) {
    return false;
  }
  if (h.kind == vh::bin && h.len == 0) {
    v = ip_addr{};
    return true;
  }
  if (h.kind == vh::bin && h.len == 4) {
    v = ip_addr::v4(h.data[0], h.data[1], h.data[2], h.data[3]);
    return true;
  }
  if (h.kind == vh::bin && h.len == 16) {
    ip_addr::bytes16 b;
    std::memcpy(b.data(), h.data, b.size());
    v = ip_addr::v6(b);
    return true;
  }
  return c.fail("want bin of 4 or 16 bytes (address); " + describe(h));
}

namespace {

/// try_prefix matches the common encodings [bin 4, fixint <= 32] and
/// [bin 16, fixint or uint8 <= 128] byte for byte (two per peer in every
/// map); anything else takes the generic path.
bool try_prefix(wire_cursor& in, ip_prefix& v) {
  if (!in.pair_fits()) {
    return false;
  }
  const uint8_t* p = in.peek(8);
  if (p == nullptr || p[0] != 0x92 || p[1] != 0xc4) {
    return false;
  }
  if (p[2] == 4 && p[7] <= 32) {
    v.addr = ip_addr::v4(p[3], p[4], p[5], p[6]);
    v.bits = p[7];
    in.advance(8);
    return true;
  }
  if (p[2] != 16 || (p = in.peek(21)) == nullptr) {
    return false;
  }
  size_t len = 0;
  if (p[19] <= 0x7f) {
    len = 20;
    v.bits = p[19];
  } else if (p[19] == 0xcc && p[20] <= 128) {
    len = 21;
    v.bits = p[20];
  } else {
    return false;
  }
  ip_addr::bytes16 b;
  std::memcpy(b.data(), p + 3, b.size());
  v.addr = ip_addr::v6(b);
  in.advance(len);
  return true;
}

} // namespace

bool read(wire_cursor& in, ip_prefix& v, read_ctx& c) {
  if (try_prefix(in, v)) {
    return true;
  }
  if (!open_fixed(in, 2, "(address, bits)", c) || !field(in, v.addr, "addr", c)) {
    return false;
  }
  uint64_t max_bits = v.addr.valid() ? static_cast<uint64_t>(v.addr.bit_len()) : 0;
  uint64_t bits = 0;
  if (!read_uint(in, max_bits, bits, c)) {
    return c.at("bits");
  }
  v.bits = static_cast<uint8_t>(bits);
  in.leave();
  return true;
}

bool read(wire_cursor& in, ip_endpoint& v, read_ctx& c) {
  if (!open_fixed(in, 2, "(address, port)", c) || !field(in, v.addr, "addr", c)
      || !field(in, v.port, "port", c)) {
    return false;
  }
  in.leave();
  return true;
}

bool read(wire_cursor& in, std::pair<node_id, bool>& v, read_ctx& c) {
  if (!open_fixed(in, 2, "(node id, bool)", c) || !field(in, v.first, "id", c)
      || !field(in, v.second, "flag", c)) {
    return false;
  }
  in.leave();
  return true;
}

} // namespace tf::wire::reader
