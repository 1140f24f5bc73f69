// SPDX-License-Identifier: Apache-2.0
// Private to the wire codec (and its tests): how many fields each wire
// struct encodes, and the compile-time guard that fails the build when a
// struct gains a field without a codec decision. Constants only; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "runtime/wire.hpp"

namespace tf::wire {

// -- field counts (the codec decision per struct) ---------------------------

/// num_fields is the length of the array a struct encodes to. Adding a field
/// to a wire struct means: pack it (wire_msgpack.hpp), read it
/// (wire_read.cpp), bump this count, and extend the round-trip test. The
/// static_asserts below fail the build until the count matches the struct.
template <class T>
inline constexpr uint32_t num_fields = 0;
template <> inline constexpr uint32_t num_fields<hostinfo> = 3;
template <> inline constexpr uint32_t num_fields<node> = 16;
template <> inline constexpr uint32_t num_fields<user_profile> = 4;
template <> inline constexpr uint32_t num_fields<dns_config> = 4;
template <> inline constexpr uint32_t num_fields<peer_change> = 6;
template <> inline constexpr uint32_t num_fields<register_request> = 7;
template <> inline constexpr uint32_t num_fields<register_response> = 9;
template <> inline constexpr uint32_t num_fields<map_request> = 6;
template <> inline constexpr uint32_t num_fields<map_response> = 13;
template <> inline constexpr uint32_t num_fields<control_error> = 2;
template <> inline constexpr uint32_t num_fields<client_hello> = 1;
template <> inline constexpr uint32_t num_fields<server_hello> = 2;

namespace detail {

/// any_field converts to any member type; aggregate_fields uses it to count
/// the members of an aggregate (the largest N with T{any_field x N} valid).
struct any_field {
  template <class U>
  operator U() const;
};

template <class T, size_t... Is>
constexpr bool brace_init_with(std::index_sequence<Is...>) {
  return requires { T{((void)Is, any_field{})...}; };
}

} // namespace detail

/// aggregate_fields counts the data members of the aggregate T.
template <class T, size_t N = 0>
constexpr size_t aggregate_fields() {
  if constexpr (detail::brace_init_with<T>(std::make_index_sequence<N + 1>{})) {
    return aggregate_fields<T, N + 1>();
  } else {
    return N;
  }
}

static_assert(aggregate_fields<hostinfo>() == num_fields<hostinfo>,
              "hostinfo changed: update its pack/read and num_fields");
static_assert(aggregate_fields<node>() == num_fields<node>,
              "node changed: update its pack/read and num_fields");
static_assert(aggregate_fields<user_profile>() == num_fields<user_profile>,
              "user_profile changed: update its pack/read and num_fields");
static_assert(aggregate_fields<dns_config>() == num_fields<dns_config>,
              "dns_config changed: update its pack/read and num_fields");
static_assert(aggregate_fields<peer_change>() == num_fields<peer_change>,
              "peer_change changed: update its pack/read and num_fields");
static_assert(aggregate_fields<register_request>() == num_fields<register_request>,
              "register_request changed: update its pack/read and num_fields");
static_assert(aggregate_fields<register_response>() == num_fields<register_response>,
              "register_response changed: update its pack/read and num_fields");
static_assert(aggregate_fields<map_request>() == num_fields<map_request>,
              "map_request changed: update its pack/read and num_fields");
static_assert(aggregate_fields<map_response>() == num_fields<map_response>,
              "map_response changed: update its pack/read and num_fields");
static_assert(aggregate_fields<control_error>() == num_fields<control_error>,
              "control_error changed: update its pack/read and num_fields");
static_assert(aggregate_fields<client_hello>() == num_fields<client_hello>,
              "client_hello changed: update its pack/read and num_fields");
static_assert(aggregate_fields<server_hello>() == num_fields<server_hello>,
              "server_hello changed: update its pack/read and num_fields");

} // namespace tf::wire
