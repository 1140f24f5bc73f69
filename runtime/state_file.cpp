// SPDX-License-Identifier: Apache-2.0
// The JSON state file: exact-size serialization, parsing with reasons, and
// atomic replacement. Stateless; callers serialize access to one file. Every
// buffer that held file content is wiped before it is freed.
#include "runtime/state_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

#include <nlohmann/json.hpp>

#include "runtime/counters.hpp"
#include "runtime/hex.hpp"
#include "runtime/keys.hpp"

namespace fs = std::filesystem;

namespace tf {

namespace {

/// escape_width is how many bytes `ch` takes inside a JSON string.
size_t escape_width(char ch) noexcept {
  auto c = static_cast<uint8_t>(ch);
  switch (c) {
    case '"': case '\\': case '\b': case '\f': case '\n': case '\r': case '\t':
      return 2;
    default:
      return c < 0x20 ? 6 : 1;
  }
}

size_t quoted_len(std::string_view s) noexcept {
  size_t n = 2;
  for (char ch : s) {
    n += escape_width(ch);
  }
  return n;
}

void append_quoted(std::string& out, std::string_view s) {
  static constexpr char digits[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        auto c = static_cast<uint8_t>(ch);
        if (c < 0x20) {
          out += "\\u00";
          out += digits[c >> 4];
          out += digits[c & 0x0f];
        } else {
          out += ch;
        }
      }
    }
  }
  out += '"';
}

failure corrupt(const fs::path& path, std::string reason) {
  TF_COUNTER("state_file_corrupt").add();
  return make_error(errc::state_corrupt,
                    "state file " + path.string() + ": " + reason);
}

} // namespace

void wipe_string(std::string& s) noexcept {
  if (!s.empty()) {
    wipe(s.data(), s.size());
  }
  s.clear();
}

void wipe_map(state_map& m) noexcept {
  for (auto& entry : m) {
    wipe_string(entry.second);
  }
  m.clear();
}

void wipe_json(nlohmann::json& doc) noexcept {
  if (doc.is_string()) {
    wipe_string(doc.get_ref<std::string&>());
  } else if (doc.is_structured()) {
    for (auto& child : doc) {
      wipe_json(child);
    }
  }
}

std::string private_key_text(const key_bytes& key) {
  static constexpr std::string_view prefix = "privkey:";
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(prefix.size() + 2 * key.size());
  out += prefix;
  for (auto b : key) {
    out += digits[b >> 4];
    out += digits[b & 0x0f];
  }
  return out;
}

bool is_valid_utf8(std::string_view text) noexcept {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<uint8_t>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (text.size() - i < len) {
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<uint8_t>(text[i + k]);
      if ((cc & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string serialize_state(const state_map& values) {
  if (values.empty()) {
    return "{}\n";
  }
  // "{\n" + entries ("  k: v" joined by ",\n") + "\n}\n".
  size_t len = 4;
  for (const auto& [key, value] : values) {
    len += 2 + quoted_len(key) + 2 + quoted_len(value) + 2;
  }
  std::string out;
  out.reserve(len);
  out += "{\n";
  bool first = true;
  for (const auto& [key, value] : values) {
    if (!first) {
      out += ",\n";
    }
    first = false;
    out += "  ";
    append_quoted(out, key);
    out += ": ";
    append_quoted(out, value);
  }
  out += "\n}\n";
  return out;
}

result<state_map> parse_state(const fs::path& path, const std::string& text) {
  if (text.empty()) {
    return state_map{};
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return corrupt(path, e.what());
  } catch (const std::exception& e) {
    return make_error(errc::internal, "state file " + path.string() + ": " + e.what());
  }
  if (!doc.is_object()) {
    auto kind = std::string{doc.type_name()};
    wipe_json(doc);
    return corrupt(path, "top level is " + kind + ", want an object");
  }
  state_map out;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (!it.value().is_string()) {
      auto reason = "value of key \"" + it.key() + "\" is "
                    + it.value().type_name() + ", want a string";
      wipe_map(out);
      wipe_json(doc);
      return corrupt(path, std::move(reason));
    }
    out.emplace(it.key(), it.value().get_ref<const std::string&>());
  }
  wipe_json(doc);
  return out;
}

result<state_map> read_state_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return state_map{};
    }
    return io_failure(path, "open", errno);
  }
  struct fd_closer {
    int fd;
    ~fd_closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return io_failure(path, "stat", errno);
  }
  if (!S_ISREG(st.st_mode)) {
    TF_COUNTER("state_file_not_regular").add();
    return make_error(errc::io_error,
                      "state file " + path.string()
                        + (S_ISDIR(st.st_mode) ? " is a directory"
                                               : " is not a regular file"));
  }
  if (static_cast<uint64_t>(st.st_size) > max_state_file_len) {
    return corrupt(path, "larger than 16 MiB");
  }
  std::string text;
  text.reserve(static_cast<size_t>(st.st_size) + 1);
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int err = errno;
      wipe(buf, sizeof buf);
      wipe_string(text);
      return io_failure(path, "read", err);
    }
    if (n == 0) {
      break;
    }
    if (text.size() + static_cast<size_t>(n) > max_state_file_len) {
      wipe(buf, sizeof buf);
      wipe_string(text);
      return corrupt(path, "larger than 16 MiB");
    }
    text.append(buf, static_cast<size_t>(n));
  }
  wipe(buf, sizeof buf);
  auto parsed = parse_state(path, text);
  wipe_string(text);
  return parsed;
}

result<void> replace_file(const fs::path& path, std::string_view content) {
  auto dir = path.parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  uint8_t salt[6];
  random_bytes(salt, sizeof salt);
  auto tmp = dir / ("." + path.filename().string() + ".tmp-" + to_hex(salt));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return io_failure(path, "create temp file", errno);
  }
  auto abandon = [&](std::string_view what, int err) {
    if (fd >= 0) {
      ::close(fd);
    }
    ::unlink(tmp.c_str());
    return io_failure(path, what, err);
  };
  // The umask may have narrowed the mode further; the file must be 0600.
  if (::fchmod(fd, 0600) != 0) {
    return abandon("chmod temp file", errno);
  }
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    auto n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return abandon("write temp file", errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    return abandon("fsync temp file", errno);
  }
  int rc = ::close(fd);
  fd = -1;
  if (rc != 0) {
    return abandon("close temp file", errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return abandon("rename temp file", errno);
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    return io_failure(dir, "open directory for fsync", errno);
  }
  rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0) {
    return io_failure(dir, "fsync directory", err);
  }
  return {};
}

failure io_failure(const fs::path& path, std::string_view what, int err) {
  return make_error(errc::io_error,
                    path.string() + ": " + std::string{what} + ": "
                      + std::error_code{err, std::generic_category()}.message());
}

} // namespace tf
