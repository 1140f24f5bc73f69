// SPDX-License-Identifier: Apache-2.0
// X25519 keys: node keys (WireGuard identity), machine keys (control-channel
// identity). Text forms follow Tailscale: "nodekey:<hex>", "mkey:<hex>",
// private "privkey:<hex>". Private keys are zeroed on destruction. Plain
// values; any thread.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/result.hpp"

namespace tf {

inline constexpr size_t key_len = 32;
using key_bytes = std::array<uint8_t, key_len>;

/// wipe overwrites `n` bytes at `p` with zeros in a way the compiler keeps.
void wipe(void* p, size_t n) noexcept;

/// random_bytes fills `p` with `n` bytes from libsodium's CSPRNG.
void random_bytes(void* p, size_t n) noexcept;

struct node_key_tag {
  static constexpr std::string_view public_prefix = "nodekey:";
};
struct machine_key_tag {
  static constexpr std::string_view public_prefix = "mkey:";
};

/// public_key is a 32-byte X25519 public key of one kind (Tag).
template <class Tag>
class public_key {
public:
  public_key() = default;
  explicit public_key(const key_bytes& bytes) : bytes_(bytes) {}

  const key_bytes& bytes() const noexcept { return bytes_; }
  const uint8_t* data() const noexcept { return bytes_.data(); }

  bool is_zero() const noexcept {
    uint8_t acc = 0;
    for (auto b : bytes_)
      acc |= b;
    return acc == 0;
  }

  /// to_string renders the text form, e.g. "nodekey:0a1b...".
  std::string to_string() const;

  /// parse reads the text form; errc::bad_key on a wrong prefix or digits.
  static result<public_key> parse(std::string_view text);

  friend auto operator<=>(const public_key&, const public_key&) = default;

  template <class H>
  friend H AbslHashValue(H h, const public_key& k) {
    return H::combine_contiguous(std::move(h), k.bytes_.data(), key_len);
  }

private:
  key_bytes bytes_{};
};

/// private_key is an X25519 secret; zeroed when destroyed, never logged.
template <class Tag>
class private_key {
public:
  private_key() = default;
  explicit private_key(const key_bytes& bytes) : bytes_(bytes) {}
  private_key(const private_key&) = default;
  private_key& operator=(const private_key&) = default;
  ~private_key() { wipe(bytes_.data(), key_len); }

  /// generate returns a fresh random (clamped) key.
  static private_key generate();

  bool is_zero() const noexcept {
    uint8_t acc = 0;
    for (auto b : bytes_)
      acc |= b;
    return acc == 0;
  }

  const key_bytes& bytes() const noexcept { return bytes_; }

  /// public_key derives the matching public key.
  tf::public_key<Tag> public_key() const;

  /// to_string renders "privkey:<hex>" (for the state store only).
  std::string to_string() const;

  /// parse reads "privkey:<hex>"; errc::bad_key otherwise.
  static result<private_key> parse(std::string_view text);

private:
  key_bytes bytes_{};
};

using node_public_key = public_key<node_key_tag>;
using node_private_key = private_key<node_key_tag>;
using machine_public_key = public_key<machine_key_tag>;
using machine_private_key = private_key<machine_key_tag>;

/// x25519 computes the shared secret of `secret` and `peer`. Fails with
/// errc::bad_key when the result is all zeros (low-order peer point).
result<key_bytes> x25519(const key_bytes& secret, const key_bytes& peer);

/// x25519_base derives the public key of `secret`.
key_bytes x25519_base(const key_bytes& secret);

extern template class public_key<node_key_tag>;
extern template class public_key<machine_key_tag>;
extern template class private_key<node_key_tag>;
extern template class private_key<machine_key_tag>;

} // namespace tf
