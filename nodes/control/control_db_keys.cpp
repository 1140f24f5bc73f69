// SPDX-License-Identifier: Apache-2.0
// control_db: pre-auth keys. Only the coordination server actor's thread
// touches it. A key's secret is never stored, logged or kept after
// create_preauth_key returns it; lookups compare hashes in constant time.
#include "nodes/control/control_db.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include <array>

#include "nodes/control/control_db_util.hpp"
#include "nodes/control/sqlite_stmt.hpp"
#include "runtime/counters.hpp"

namespace tf::control {

namespace {

constexpr std::string_view secret_prefix = "tskey-auth-";
constexpr size_t secret_random_len = 16; // 32 hex chars
constexpr size_t display_prefix_len = 16;
constexpr size_t digest_len = 32;

using digest = std::array<uint8_t, digest_len>;

result<digest> sha256(std::string_view text) {
  digest out;
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(),
                 nullptr) != 1
      || len != digest_len) {
    return make_error(errc::internal, "SHA-256 failed");
  }
  return out;
}

// Column order of every key query; the hash, when selected, comes after.
#define TF_KEY_COLUMNS                                                          \
  "id, prefix, user_id, reusable, ephemeral, preauthorized, tags, "           \
  "expiration, used, created"

result<db_preauth_key> read_key(const stmt_use& q) {
  db_preauth_key k;
  k.id = q.uint64(0);
  k.prefix = q.text(1);
  k.user_id = q.uint64(2);
  k.reusable = q.boolean(3);
  k.ephemeral = q.boolean(4);
  k.preauthorized = q.boolean(5);
  auto tags = parse_string_array(q.text(6));
  if (!tags) {
    return corrupt_row("preauth key " + std::to_string(k.id) + " tags");
  }
  k.tags = std::move(*tags);
  k.expiration = q.int64(7);
  k.used = q.boolean(8);
  k.created = q.int64(9);
  return k;
}

} // namespace

result<std::pair<db_preauth_key, std::string>>
control_db::create_preauth_key(uint64_t user_id, bool reusable, bool ephemeral,
                               bool preauthorized, std::vector<std::string> tags,
                               int64_t expiration) {
  auto tags_text = string_array_json(tags, "preauth key tags");
  if (!tags_text) {
    return tags_text.error();
  }
  std::array<uint8_t, secret_random_len> raw;
  random_bytes(raw.data(), raw.size());
  // Hex digits straight into a buffer sized once: no stray copy of the secret.
  static constexpr char digits[] = "0123456789abcdef";
  std::string secret;
  secret.reserve(secret_prefix.size() + 2 * raw.size());
  secret += secret_prefix;
  for (auto b : raw) {
    secret += digits[b >> 4];
    secret += digits[b & 0x0f];
  }
  wipe(raw.data(), raw.size());
  auto hash = sha256(secret);
  if (!hash) {
    return hash.error();
  }
  db_preauth_key k;
  k.prefix = secret.substr(0, display_prefix_len);
  k.user_id = user_id;
  k.reusable = reusable;
  k.ephemeral = ephemeral;
  k.preauthorized = preauthorized;
  k.tags = std::move(tags);
  k.expiration = expiration;
  k.created = unix_now();
  auto s = prepare("INSERT INTO preauth_keys (prefix, hash, user_id, reusable, "
                   "ephemeral, preauthorized, tags, expiration, used, created) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9)");
  if (!s) {
    return s.error();
  }
  stmt_use q{*s};
  q.bind(1, std::string_view{k.prefix});
  q.bind_blob(2, hash->data(), hash->size());
  q.bind(3, k.user_id);
  q.bind(4, k.reusable);
  q.bind(5, k.ephemeral);
  q.bind(6, k.preauthorized);
  q.bind(7, std::string_view{*tags_text});
  q.bind(8, k.expiration);
  q.bind(9, k.created);
  if (int rc = q.step(); rc != SQLITE_DONE) {
    wipe(secret.data(), secret.size());
    return fail("create preauth key for user " + std::to_string(user_id), rc);
  }
  k.id = static_cast<uint64_t>(sqlite3_last_insert_rowid(db_));
  return std::pair{std::move(k), std::move(secret)};
}

result<std::optional<db_preauth_key>>
control_db::preauth_key_by_secret(std::string_view secret) {
  if (secret.size() <= display_prefix_len) {
    TF_COUNTER("control_db_auth_key_unknown").add();
    return std::optional<db_preauth_key>{};
  }
  auto hash = sha256(secret);
  if (!hash) {
    return hash.error();
  }
  auto s = prepare("SELECT " TF_KEY_COLUMNS ", hash FROM preauth_keys "
                   "WHERE prefix = ?1");
  if (!s) {
    return s.error();
  }
  stmt_use q{*s};
  q.bind(1, secret.substr(0, display_prefix_len));
  std::optional<db_preauth_key> found;
  int rc = SQLITE_OK;
  // Every candidate with this prefix is compared, matching or not.
  while ((rc = q.step()) == SQLITE_ROW) {
    auto stored = q.blob(10);
    if (stored.size() == digest_len
        && CRYPTO_memcmp(stored.data(), hash->data(), digest_len) == 0) {
      auto k = read_key(q);
      if (!k) {
        return k.error();
      }
      found = std::move(*k);
    }
  }
  if (rc != SQLITE_DONE) {
    return fail("find preauth key", rc);
  }
  if (!found) {
    TF_COUNTER("control_db_auth_key_unknown").add();
  }
  return found;
}

result<void> control_db::mark_preauth_key_used(uint64_t id) {
  auto s = prepare("UPDATE preauth_keys SET used = 1 WHERE id = ?1");
  if (!s) {
    return s.error();
  }
  stmt_use q{*s};
  q.bind(1, id);
  if (int rc = q.step(); rc != SQLITE_DONE) {
    return fail("mark preauth key used", rc);
  }
  return check_changed("mark preauth key " + std::to_string(id) + " used",
                       errc::not_found);
}

result<void> control_db::expire_preauth_key(uint64_t id, int64_t now) {
  auto s = prepare("UPDATE preauth_keys SET expiration = ?2 WHERE id = ?1");
  if (!s) {
    return s.error();
  }
  stmt_use q{*s};
  q.bind(1, id);
  q.bind(2, now);
  if (int rc = q.step(); rc != SQLITE_DONE) {
    return fail("expire preauth key", rc);
  }
  return check_changed("expire preauth key " + std::to_string(id),
                       errc::not_found);
}

result<std::vector<db_preauth_key>> control_db::preauth_keys() {
  auto s = prepare("SELECT " TF_KEY_COLUMNS " FROM preauth_keys ORDER BY id");
  if (!s) {
    return s.error();
  }
  stmt_use q{*s};
  std::vector<db_preauth_key> out;
  int rc = SQLITE_OK;
  while ((rc = q.step()) == SQLITE_ROW) {
    auto k = read_key(q);
    if (!k) {
      return k.error();
    }
    out.push_back(std::move(*k));
  }
  if (rc != SQLITE_DONE) {
    return fail("list preauth keys", rc);
  }
  return out;
}

} // namespace tf::control
