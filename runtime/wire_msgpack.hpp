// SPDX-License-Identifier: Apache-2.0
// Private to the wire codec (and its tests): the msgpack pack adaptors of
// every wire type (array form, fields in declaration order). Stateless; any
// thread. Never include it from a public header (it pulls in msgpack).
#pragma once

#include <cstdint>

#include <msgpack.hpp>

#include "runtime/wire.hpp"
#include "runtime/wire_fields.hpp"

// -- pack adaptors ----------------------------------------------------------

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
namespace adaptor {

/// pack<public_key> writes a key as bin 32.
template <class Tag>
struct pack<tf::public_key<Tag>> {
  template <class Stream>
  packer<Stream>& operator()(packer<Stream>& o, const tf::public_key<Tag>& v) const {
    o.pack_bin(tf::key_len);
    o.pack_bin_body(reinterpret_cast<const char*>(v.data()), tf::key_len);
    return o;
  }
};

/// pack<ip_addr> writes bin 4 or bin 16; the invalid (default) address is bin 0.
template <>
struct pack<tf::ip_addr> {
  template <class Stream>
  packer<Stream>& operator()(packer<Stream>& o, const tf::ip_addr& v) const {
    uint32_t len = v.is_v4() ? 4 : v.is_v6() ? 16 : 0;
    o.pack_bin(len);
    o.pack_bin_body(reinterpret_cast<const char*>(v.bytes().data()), len);
    return o;
  }
};

/// pack<ip_prefix> writes [addr, bits].
template <>
struct pack<tf::ip_prefix> {
  template <class Stream>
  packer<Stream>& operator()(packer<Stream>& o, const tf::ip_prefix& v) const {
    o.pack_array(2);
    o.pack(v.addr);
    o.pack_uint8(v.bits);
    return o;
  }
};

/// pack<ip_endpoint> writes [addr, port].
template <>
struct pack<tf::ip_endpoint> {
  template <class Stream>
  packer<Stream>& operator()(packer<Stream>& o, const tf::ip_endpoint& v) const {
    o.pack_array(2);
    o.pack(v.addr);
    o.pack_uint16(v.port);
    return o;
  }
};

/// pack<errc> writes the code as uint8.
template <>
struct pack<tf::errc> {
  template <class Stream>
  packer<Stream>& operator()(packer<Stream>& o, tf::errc v) const {
    o.pack_uint8(static_cast<uint8_t>(v));
    return o;
  }
};

/// wire_struct_pack packs a wire struct as the array of its fields.
template <class T>
struct wire_struct_pack {
  template <class Stream, class... Fields>
  static packer<Stream>& fields(packer<Stream>& o, const Fields&... fs) {
    static_assert(sizeof...(Fields) == tf::wire::num_fields<T>,
                  "pack every field of a wire struct");
    o.pack_array(tf::wire::num_fields<T>);
    (o.pack(fs), ...);
    return o;
  }
};

#define TF_WIRE_PACK(type, ...)                                                \
  template <>                                                                  \
  struct pack<tf::wire::type> {                                                \
    template <class Stream>                                                    \
    packer<Stream>& operator()(packer<Stream>& o, const tf::wire::type& v) const { \
      return wire_struct_pack<tf::wire::type>::fields(o, __VA_ARGS__);         \
    }                                                                          \
  };

TF_WIRE_PACK(hostinfo, v.hostname, v.os, v.request_tags)
TF_WIRE_PACK(node, v.id, v.stable_id, v.name, v.key, v.machine, v.key_expiry,
             v.addresses, v.allowed_ips, v.endpoints, v.user, v.tags, v.hostname,
             v.created, v.online, v.last_seen, v.machine_authorized)
TF_WIRE_PACK(user_profile, v.id, v.login_name, v.display_name, v.profile_pic_url)
TF_WIRE_PACK(dns_config, v.magic_dns, v.resolvers, v.search_domains, v.cert_domains)
TF_WIRE_PACK(peer_change, v.id, v.endpoints, v.online, v.last_seen, v.key, v.key_expiry)
TF_WIRE_PACK(register_request, v.version, v.node_key, v.old_node_key, v.auth_key,
             v.ephemeral, v.expiry, v.host)
TF_WIRE_PACK(register_response, v.error_code, v.error, v.machine_authorized,
             v.node_key_expired, v.auth_url, v.id, v.stable_id, v.user, v.logged_out)
TF_WIRE_PACK(map_request, v.version, v.node_key, v.stream, v.omit_peers, v.host,
             v.endpoints)
TF_WIRE_PACK(map_response, v.seq, v.keep_alive, v.self, v.peers, v.dns, v.domain,
             v.peers_changed, v.peers_removed, v.peers_changed_patch, v.online_change,
             v.peer_seen_change, v.user_profiles, v.control_time)
TF_WIRE_PACK(control_error, v.code, v.message)
TF_WIRE_PACK(client_hello, v.version)
TF_WIRE_PACK(server_hello, v.version, v.error_code)

#undef TF_WIRE_PACK

} // namespace adaptor
} // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
} // namespace msgpack
