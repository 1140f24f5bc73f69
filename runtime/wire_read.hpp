// SPDX-License-Identifier: Apache-2.0
// Private to the wire codec: the typed readers shared by wire_read.cpp
// (scalars, addresses, keys) and wire_read_structs.cpp (structs, messages),
// and the container templates. Pure functions; any thread. Never sizes a
// vector before checking its element count against the bytes left.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/wire_cursor.hpp"
#include "runtime/wire_fields.hpp"

namespace tf::wire::reader {

using vh = value_head;

// Every reader is declared first so the templates see all overloads.
bool read(wire_cursor& in, bool& v, read_ctx& c);
bool read(wire_cursor& in, uint64_t& v, read_ctx& c);
bool read(wire_cursor& in, uint16_t& v, read_ctx& c);
bool read(wire_cursor& in, int64_t& v, read_ctx& c);
bool read(wire_cursor& in, std::string& v, read_ctx& c);
bool read(wire_cursor& in, errc& v, read_ctx& c);
bool read(wire_cursor& in, node_public_key& v, read_ctx& c);
bool read(wire_cursor& in, machine_public_key& v, read_ctx& c);
bool read(wire_cursor& in, ip_addr& v, read_ctx& c);
bool read(wire_cursor& in, ip_prefix& v, read_ctx& c);
bool read(wire_cursor& in, ip_endpoint& v, read_ctx& c);
bool read(wire_cursor& in, std::pair<node_id, bool>& v, read_ctx& c);
bool read(wire_cursor& in, hostinfo& v, read_ctx& c);
bool read(wire_cursor& in, node& v, read_ctx& c);
bool read(wire_cursor& in, user_profile& v, read_ctx& c);
bool read(wire_cursor& in, dns_config& v, read_ctx& c);
bool read(wire_cursor& in, peer_change& v, read_ctx& c);
bool read(wire_cursor& in, register_request& v, read_ctx& c);
bool read(wire_cursor& in, register_response& v, read_ctx& c);
bool read(wire_cursor& in, map_request& v, read_ctx& c);
bool read(wire_cursor& in, map_response& v, read_ctx& c);
bool read(wire_cursor& in, control_error& v, read_ctx& c);
template <class T>
bool read(wire_cursor& in, std::optional<T>& v, read_ctx& c);
template <class T>
bool read(wire_cursor& in, std::vector<T>& v, read_ctx& c);

/// min_wire_len is the fewest bytes one encoded T can take; an array of n
/// Ts needs n * min_wire_len bytes, checked before the vector is sized.
template <class T>
inline constexpr uint64_t min_wire_len = num_fields<T> > 0 ? 1 + num_fields<T> : 1;
template <>
inline constexpr uint64_t min_wire_len<node> = 1 + 14 + 2 * (2 + key_len); // two bin 32 keys
template <>
inline constexpr uint64_t min_wire_len<ip_prefix> = 4; // [bin 0, bits]
template <>
inline constexpr uint64_t min_wire_len<ip_endpoint> = 4;
template <>
inline constexpr uint64_t min_wire_len<std::pair<node_id, bool>> = 3;

// -- containers ----------------------------------------------------------

/// read(optional) maps nil to "absent".
template <class T>
bool read(wire_cursor& in, std::optional<T>& v, read_ctx& c) {
  if (in.take_nil()) {
    v.reset();
    return true;
  }
  return read(in, v ? *v : v.emplace(), c);
}

/// open_array opens an array (fast path first) and yields its length.
/// `want` renders what was expected, for the failure detail only.
template <class Want>
bool open_array(wire_cursor& in, uint32_t& n, read_ctx& c, Want&& want) {
  if (in.try_array(n)) {
    return true;
  }
  vh h;
  if (!in.next(h, c)) {
    return false;
  }
  if (h.kind != vh::array) {
    return c.fail(want() + "; " + describe(h));
  }
  n = h.len;
  return in.enter(c);
}

/// got_array renders "got array of n" for failure details.
inline std::string got_array(uint32_t n) {
  return "got array of " + std::to_string(n);
}

/// open_counted_array opens an array of T whose count must fit the bytes
/// left at min_wire_len each (checked before anything is sized for it).
template <class T>
bool open_counted_array(wire_cursor& in, uint32_t& n, read_ctx& c) {
  if (!open_array(in, n, c, [] { return std::string{"want array"}; })) {
    return false;
  }
  if (n * min_wire_len<T> > in.remaining()) {
    return c.fail("truncated input: array of " + std::to_string(n) + " needs at least "
                  + std::to_string(n * min_wire_len<T>) + " bytes, "
                  + std::to_string(in.remaining()) + " left");
  }
  return true;
}

/// read(vector) reads an array of T (open_counted_array).
template <class T>
bool read(wire_cursor& in, std::vector<T>& v, read_ctx& c) {
  uint32_t n = 0;
  if (!open_counted_array<T>(in, n, c)) {
    return false;
  }
  // Elements already there are read over (every reader sets every field),
  // so a reused message keeps their buffers.
  v.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (!read(in, v[i], c)) {
      return c.at(size_t{i});
    }
  }
  in.leave();
  return true;
}

/// open_fixed opens an array of exactly `n` (pairs, prefixes, endpoints).
inline bool open_fixed(wire_cursor& in, uint32_t n, const char* what, read_ctx& c) {
  auto want = [&] { return "want array of " + std::to_string(n) + " " + what; };
  uint32_t got = 0;
  if (!open_array(in, got, c, want)) {
    return false;
  }
  return got == n || c.fail(want() + "; " + got_array(got));
}

/// read_uint reads an unsigned int no larger than `max`.
inline bool read_uint(wire_cursor& in, uint64_t max, uint64_t& out, read_ctx& c) {
  uint64_t v = 0;
  if (!in.try_uint(v)) {
    vh h;
    if (!in.next(h, c)) {
      return false;
    }
    if (h.kind != vh::uint) {
      return c.fail("want unsigned int; " + describe(h));
    }
    v = h.u;
  }
  if (v > max) {
    return c.fail("value " + std::to_string(v) + " exceeds " + std::to_string(max));
  }
  out = v;
  return true;
}

/// read_struct opens a struct array of at least num_fields<T> elements,
/// reads the known fields with `fields`, and skips fields appended by a
/// newer peer.
template <class T, class Fields>
bool read_struct(wire_cursor& in, const char* name, read_ctx& c, Fields&& fields) {
  auto want = [&] {
    return "want array of at least " + std::to_string(num_fields<T>) + " fields (" + name + ")";
  };
  uint32_t n = 0;
  if (!open_array(in, n, c, want)) {
    return false;
  }
  if (n < num_fields<T>) {
    return c.fail(want() + "; " + got_array(n));
  }
  if (!fields()) {
    return false;
  }
  if (n > num_fields<T> && !in.skip(n - num_fields<T>, c)) {
    return c.at("(appended fields)");
  }
  in.leave();
  return true;
}

/// field reads one struct field and names it in the path on failure.
template <class T>
bool field(wire_cursor& in, T& v, const char* name, read_ctx& c) {
  return read(in, v, c) || c.at(name);
}

} // namespace tf::wire::reader
