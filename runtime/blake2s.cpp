// SPDX-License-Identifier: Apache-2.0
// BLAKE2s over libb2, HMAC-BLAKE2s over OpenSSL 3 EVP_MAC, Noise HKDF. The
// EVP_MAC is fetched once per process; each thread keeps one MAC context
// (thread_local), so calls are safe on any thread and never share state.
#include "runtime/blake2s.hpp"

#include <blake2.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "runtime/keys.hpp"

namespace tf {

namespace {

// -- HMAC context cache ----------------------------------------------------

/// hmac_mac returns the process-wide HMAC EVP_MAC (nullptr when OpenSSL has
/// no provider for it). Fetched once; intentionally never freed.
EVP_MAC* hmac_mac() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  return mac;
}

/// thread_hmac owns this thread's HMAC context with its digest already set
/// to BLAKE2S-256, so each call only installs a key.
struct thread_hmac {
  EVP_MAC_CTX* ctx = nullptr;

  thread_hmac() {
    auto* mac = hmac_mac();
    if (mac == nullptr) {
      return;
    }
    ctx = EVP_MAC_CTX_new(mac);
    if (ctx == nullptr) {
      return;
    }
    char digest[] = "BLAKE2S-256";
    OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
      EVP_MAC_CTX_free(ctx);
      ctx = nullptr;
    }
  }

  ~thread_hmac() {
    EVP_MAC_CTX_free(ctx);
  }

  thread_hmac(const thread_hmac&) = delete;
  thread_hmac& operator=(const thread_hmac&) = delete;
};

EVP_MAC_CTX* this_thread_hmac() {
  thread_local thread_hmac cache;
  return cache.ctx;
}

} // namespace

// -- BLAKE2s -----------------------------------------------------------------

blake2s_digest blake2s(std::span<const uint8_t> in) noexcept {
  return blake2s({in});
}

blake2s_digest blake2s(byte_parts parts) noexcept {
  blake2s_state st;
  blake2s_digest out;
  blake2s_init(&st, out.size());
  for (auto part : parts) {
    blake2s_update(&st, part.data(), part.size());
  }
  blake2s_final(&st, out.data(), out.size());
  return out;
}

result<void> keyed_blake2s(std::span<uint8_t> out, std::span<const uint8_t> key,
                           byte_parts parts) noexcept {
  if (out.size() != 16 && out.size() != 32) {
    return make_error(errc::invalid_argument,
                      "keyed BLAKE2s: output length must be 16 or 32");
  }
  if (key.empty() || key.size() > 32) {
    return make_error(errc::invalid_argument,
                      "keyed BLAKE2s: key length must be 1..32");
  }
  blake2s_state st;
  if (blake2s_init_key(&st, out.size(), key.data(), key.size()) != 0) {
    return make_error(errc::internal, "keyed BLAKE2s: libb2 refused the key");
  }
  for (auto part : parts) {
    blake2s_update(&st, part.data(), part.size());
  }
  blake2s_final(&st, out.data(), out.size());
  wipe(&st, sizeof(st));
  return {};
}

// -- HMAC and HKDF -----------------------------------------------------------

result<void> hmac_blake2s(std::span<const uint8_t> key, byte_parts parts,
                          std::span<uint8_t, blake2s_len> out) noexcept {
  auto* ctx = this_thread_hmac();
  if (ctx == nullptr) {
    return make_error(errc::internal,
                      "OpenSSL provides no HMAC with BLAKE2S-256");
  }
  // HMAC needs a non-null key pointer even for an empty key.
  static const uint8_t empty_key = 0;
  const uint8_t* key_ptr = key.empty() ? &empty_key : key.data();
  if (EVP_MAC_init(ctx, key_ptr, key.size(), nullptr) != 1) {
    return make_error(errc::internal, "HMAC-BLAKE2s: EVP_MAC_init failed");
  }
  for (auto part : parts) {
    if (!part.empty() && EVP_MAC_update(ctx, part.data(), part.size()) != 1) {
      return make_error(errc::internal, "HMAC-BLAKE2s: EVP_MAC_update failed");
    }
  }
  size_t out_len = 0;
  if (EVP_MAC_final(ctx, out.data(), &out_len, out.size()) != 1
      || out_len != out.size()) {
    return make_error(errc::internal, "HMAC-BLAKE2s: EVP_MAC_final failed");
  }
  return {};
}

namespace {

result<void> hkdf(std::span<const uint8_t, blake2s_len> chaining_key,
                  std::span<const uint8_t> ikm,
                  std::span<uint8_t, blake2s_len> out1,
                  std::span<uint8_t, blake2s_len> out2,
                  uint8_t* out3) noexcept {
  blake2s_digest temp_key;
  auto wipe_temp = [&temp_key] { wipe(temp_key.data(), temp_key.size()); };
  if (auto r = hmac_blake2s(chaining_key, {ikm}, temp_key); !r) {
    wipe_temp();
    return r;
  }
  const uint8_t one = 0x01;
  const uint8_t two = 0x02;
  const uint8_t three = 0x03;
  auto r = hmac_blake2s(temp_key, {{&one, 1}}, out1);
  if (r) {
    r = hmac_blake2s(temp_key, {out1, {&two, 1}}, out2);
  }
  if (r && out3 != nullptr) {
    r = hmac_blake2s(temp_key, {out2, {&three, 1}},
                     std::span<uint8_t, blake2s_len>{out3, blake2s_len});
  }
  wipe_temp();
  return r;
}

} // namespace

result<void> noise_hkdf(std::span<const uint8_t, blake2s_len> chaining_key,
                        std::span<const uint8_t> input_key_material,
                        std::span<uint8_t, blake2s_len> out1,
                        std::span<uint8_t, blake2s_len> out2) noexcept {
  return hkdf(chaining_key, input_key_material, out1, out2, nullptr);
}

result<void> noise_hkdf(std::span<const uint8_t, blake2s_len> chaining_key,
                        std::span<const uint8_t> input_key_material,
                        std::span<uint8_t, blake2s_len> out1,
                        std::span<uint8_t, blake2s_len> out2,
                        std::span<uint8_t, blake2s_len> out3) noexcept {
  return hkdf(chaining_key, input_key_material, out1, out2, out3.data());
}

} // namespace tf
