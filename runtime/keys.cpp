// SPDX-License-Identifier: Apache-2.0
// X25519 key generation, derivation and text forms over libsodium. Pure
// functions, any thread.
#include "runtime/keys.hpp"

#include <sodium.h>

#include <cstdlib>

#include "runtime/hex.hpp"

namespace tf {

namespace {

constexpr std::string_view private_prefix = "privkey:";

struct sodium_init_once {
  sodium_init_once() {
    if (sodium_init() < 0)
      std::abort(); // no CSPRNG: nothing safe is possible
  }
};

void ensure_sodium() {
  static sodium_init_once once;
}

bool parse_prefixed(std::string_view text, std::string_view prefix,
                    key_bytes& out) {
  if (text.substr(0, prefix.size()) != prefix)
    return false;
  return from_hex(text.substr(prefix.size()), out);
}

} // namespace

void wipe(void* p, size_t n) noexcept {
  sodium_memzero(p, n);
}

void random_bytes(void* p, size_t n) noexcept {
  ensure_sodium();
  randombytes_buf(p, n);
}

result<key_bytes> x25519(const key_bytes& secret, const key_bytes& peer) {
  ensure_sodium();
  key_bytes out;
  if (crypto_scalarmult(out.data(), secret.data(), peer.data()) != 0)
    return make_error(errc::bad_key, "x25519: low-order public key");
  return out;
}

key_bytes x25519_base(const key_bytes& secret) {
  ensure_sodium();
  key_bytes out;
  crypto_scalarmult_base(out.data(), secret.data());
  return out;
}

template <class Tag>
std::string public_key<Tag>::to_string() const {
  std::string out{Tag::public_prefix};
  out += to_hex(bytes_);
  return out;
}

template <class Tag>
result<public_key<Tag>> public_key<Tag>::parse(std::string_view text) {
  key_bytes bytes;
  if (!parse_prefixed(text, Tag::public_prefix, bytes))
    return make_error(errc::bad_key, "expected " + std::string{Tag::public_prefix}
                                       + "<64 hex digits>");
  return public_key{bytes};
}

template <class Tag>
private_key<Tag> private_key<Tag>::generate() {
  key_bytes bytes;
  random_bytes(bytes.data(), bytes.size());
  // Clamp as RFC 7748 and WireGuard do, so the stored form is canonical.
  bytes[0] &= 248;
  bytes[31] = (bytes[31] & 127) | 64;
  private_key out{bytes};
  wipe(bytes.data(), bytes.size());
  return out;
}

template <class Tag>
tf::public_key<Tag> private_key<Tag>::public_key() const {
  return tf::public_key<Tag>{x25519_base(bytes_)};
}

template <class Tag>
std::string private_key<Tag>::to_string() const {
  std::string out{private_prefix};
  out += to_hex(bytes_);
  return out;
}

template <class Tag>
result<private_key<Tag>> private_key<Tag>::parse(std::string_view text) {
  key_bytes bytes;
  if (!parse_prefixed(text, private_prefix, bytes))
    return make_error(errc::bad_key, "expected privkey:<64 hex digits>");
  private_key out{bytes};
  wipe(bytes.data(), bytes.size());
  if (out.is_zero())
    return make_error(errc::bad_key, "all-zero private key");
  return out;
}

template class public_key<node_key_tag>;
template class public_key<machine_key_tag>;
template class private_key<node_key_tag>;
template class private_key<machine_key_tag>;

} // namespace tf
