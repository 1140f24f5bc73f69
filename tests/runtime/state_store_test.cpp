// SPDX-License-Identifier: Apache-2.0
// Tables for the node state store: memory and file stores, the file's
// format, modes and atomic replacement, corrupt files left untouched, and the
// machine key / enrollment encoding on top. Each test uses its own temp dir.
#define CAF_SUITE state_store
#include <caf/test/unit_test_impl.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtime/counters.hpp"
#include "runtime/node_state.hpp"
#include "runtime/state_store.hpp"

using namespace tf;
namespace fs = std::filesystem;

namespace {

/// temp_dir is a fresh directory under /tmp, removed with its contents.
struct temp_dir {
  fs::path path;
  temp_dir() {
    char name[] = "/tmp/tf_state_test_XXXXXX";
    CAF_REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream out{p, std::ios::binary | std::ios::trunc};
  out << bytes;
}

std::set<std::string> entries(const fs::path& dir) {
  std::set<std::string> out;
  for (auto& e : fs::directory_iterator{dir}) {
    out.insert(e.path().filename().string());
  }
  return out;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  CAF_REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::optional<std::string> read_value(state_store& s, std::string_view key) {
  auto r = s.read(key);
  CAF_REQUIRE(r.ok());
  return *r;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace

CAF_TEST(memory_store_basics) {
  auto s = make_memory_store();
  CAF_CHECK(s->in_memory());
  CAF_CHECK(!read_value(*s, "a").has_value());
  CAF_REQUIRE(s->write("a", "1").ok());
  CAF_REQUIRE(s->write("a", "2").ok());
  auto got = read_value(*s, "a");
  CAF_CHECK(got == std::optional<std::string>{"2"});
  CAF_CHECK(s->erase("a").ok());
  CAF_CHECK(!read_value(*s, "a").has_value());
  CAF_CHECK(s->erase("never-there").ok());
  struct {
    const char* name;
    std::string key;
    std::string value;
  } bad[] = {
    {"empty key", "", "x"},
    {"non-UTF-8 value", "k", std::string{"\xff\xfe", 2}},
    {"surrogate in key", "\xed\xa0\x80", "x"},
    {"overlong NUL", "k", std::string{"\xc0\x80", 2}},
  };
  for (auto& c : bad) {
    CAF_MESSAGE("case " << c.name);
    auto r = s->write(c.key, c.value);
    CAF_CHECK_EQUAL(r.code(), errc::invalid_argument);
  }
}

CAF_TEST(file_store_round_trip_across_reopen) {
  temp_dir tmp;
  auto dir = tmp.path / "a" / "b";
  std::string tricky = "quote\" backslash\\ nl\n tab\t ctl\x01 nul";
  tricky += '\0';
  tricky += " utf8 \xc3\xa9\xf0\x9f\x94\x91";
  {
    auto s = open_state_dir(dir);
    CAF_REQUIRE(s.ok());
    CAF_CHECK(!(*s)->in_memory());
    CAF_REQUIRE((*s)->write("plain", "value").ok());
    CAF_REQUIRE((*s)->write("tricky", tricky).ok());
    CAF_REQUIRE((*s)->write("gone", "soon").ok());
    CAF_REQUIRE((*s)->erase("gone").ok());
  }
  auto s = open_state_dir(dir);
  CAF_REQUIRE(s.ok());
  CAF_CHECK(read_value(**s, "plain") == std::optional<std::string>{"value"});
  auto back = read_value(**s, "tricky");
  CAF_REQUIRE(back.has_value());
  CAF_CHECK(*back == tricky);
  CAF_CHECK(!read_value(**s, "gone").has_value());
  // The file is one JSON object of strings, as documented.
  auto text = slurp(dir / "tailfleet.state");
  CAF_CHECK(text.front() == '{');
  CAF_CHECK(contains(text, "\"plain\": \"value\""));
  CAF_CHECK(!contains(text, "gone"));
}

CAF_TEST(file_and_dir_modes) {
  temp_dir tmp;
  auto old_mask = ::umask(0); // a lax umask must not widen the modes
  auto dir = tmp.path / "state";
  auto s = open_state_dir(dir);
  ::umask(old_mask);
  CAF_REQUIRE(s.ok());
  CAF_CHECK_EQUAL(mode_of(dir), 0700u);
  // The file exists from open on, already 0600.
  CAF_CHECK_EQUAL(mode_of(dir / "tailfleet.state"), 0600u);
  // A looser existing file becomes 0600 on the next write.
  ::chmod((dir / "tailfleet.state").c_str(), 0644);
  CAF_REQUIRE((*s)->write("k", "v").ok());
  CAF_CHECK_EQUAL(mode_of(dir / "tailfleet.state"), 0600u);
}

CAF_TEST(atomic_replace_leaves_no_temp_files) {
  temp_dir tmp;
  auto s = open_state_dir(tmp.path);
  CAF_REQUIRE(s.ok());
  for (int i = 0; i < 20; ++i) {
    CAF_REQUIRE((*s)->write("k" + std::to_string(i % 3), std::to_string(i)).ok());
  }
  CAF_CHECK(entries(tmp.path) == std::set<std::string>{"tailfleet.state"});
  // A failed write (the directory vanished) is an io_error with errno text,
  // and the store keeps its old contents.
  auto sub = tmp.path / "sub";
  auto t = open_state_dir(sub);
  CAF_REQUIRE(t.ok());
  CAF_REQUIRE((*t)->write("k", "old").ok());
  fs::remove_all(sub);
  auto r = (*t)->write("k", "new");
  CAF_CHECK_EQUAL(r.code(), errc::io_error);
  CAF_CHECK(!r.ok() && contains(r.error().detail, "No such file or directory"));
  CAF_CHECK(read_value(**t, "k") == std::optional<std::string>{"old"});
  CAF_CHECK((*t)->erase("k").code() == errc::io_error);
  CAF_CHECK(read_value(**t, "k") == std::optional<std::string>{"old"});
}

CAF_TEST(corrupt_file_is_refused_and_untouched) {
  struct {
    const char* name;
    std::string bytes;
    const char* reason; // a fragment of the detail
  } cases[] = {
    {"truncated JSON", "{\"a\": \"b", "parse error"},
    {"trailing garbage", "{} x", "parse error"},
    {"binary", std::string{"\x00\xff\x10", 3}, "parse error"},
    {"array", "[\"a\"]", "top level is array"},
    {"string", "\"x\"", "top level is string"},
    {"number value", "{\"a\": 1}", "value of key \"a\" is number"},
    {"object value", "{\"a\": {}}", "value of key \"a\" is object"},
    {"null value", "{\"a\": null}", "value of key \"a\" is null"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    temp_dir tmp;
    auto file = tmp.path / "tailfleet.state";
    // A store opened while the file was good...
    auto early = open_state_dir(tmp.path);
    CAF_REQUIRE(early.ok());
    CAF_REQUIRE((*early)->write("a", "b").ok());
    spit(file, c.bytes);
    auto before = counter_value("state_file_corrupt");
    auto r = open_file_store(file);
    CAF_REQUIRE(!r.ok());
    CAF_CHECK_EQUAL(r.code(), errc::state_corrupt);
    auto detail = r.error().detail;
    CAF_CHECK(contains(detail, file.string()));
    CAF_CHECK(contains(detail, c.reason));
    CAF_CHECK(counter_value("state_file_corrupt") > before);
    CAF_CHECK(slurp(file) == c.bytes);
    CAF_CHECK_EQUAL(open_state_dir(tmp.path).code(), errc::state_corrupt);
    // ...refuses to write over it now.
    CAF_CHECK_EQUAL((*early)->write("a", "c").code(), errc::state_corrupt);
    CAF_CHECK_EQUAL((*early)->erase("a").code(), errc::state_corrupt);
    CAF_CHECK(slurp(file) == c.bytes);
    CAF_CHECK(entries(tmp.path) == std::set<std::string>{"tailfleet.state"});
  }
}

CAF_TEST(empty_file_counts_as_missing) {
  temp_dir tmp;
  auto file = tmp.path / "tailfleet.state";
  spit(file, "");
  auto s = open_file_store(file);
  CAF_REQUIRE(s.ok());
  CAF_CHECK(!read_value(**s, "anything").has_value());
  CAF_REQUIRE((*s)->write("k", "v").ok());
  auto again = open_file_store(file);
  CAF_REQUIRE(again.ok());
  CAF_CHECK(read_value(**again, "k") == std::optional<std::string>{"v"});
}

CAF_TEST(paths_that_are_not_files) {
  temp_dir tmp;
  // A directory where the state file should be.
  fs::create_directories(tmp.path / "d" / "tailfleet.state");
  auto r = open_state_dir(tmp.path / "d");
  CAF_CHECK_EQUAL(r.code(), errc::io_error);
  CAF_CHECK(!r.ok() && contains(r.error().detail, "is a directory"));
  // A regular file where the state directory should be.
  spit(tmp.path / "f", "x");
  auto f = open_state_dir(tmp.path / "f");
  CAF_CHECK_EQUAL(f.code(), errc::io_error);
  CAF_CHECK(!f.ok() && contains(f.error().detail, "not a directory"));
  CAF_CHECK(slurp(tmp.path / "f") == "x");
  // A state file whose directory is missing.
  auto m = open_file_store(tmp.path / "missing" / "tailfleet.state");
  CAF_CHECK_EQUAL(m.code(), errc::io_error);
  CAF_CHECK_EQUAL(open_file_store("").code(), errc::invalid_argument);
}

CAF_TEST(shared_store_across_threads) {
  temp_dir tmp;
  auto s = open_state_dir(tmp.path);
  CAF_REQUIRE(s.ok());
  auto store = *s;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([store, t] {
      for (int i = 0; i < 10; ++i) {
        auto key = "t" + std::to_string(t) + "_" + std::to_string(i);
        if (!store->write(key, key).ok()) {
          return;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  auto again = open_state_dir(tmp.path);
  CAF_REQUIRE(again.ok());
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 10; ++i) {
      auto key = "t" + std::to_string(t) + "_" + std::to_string(i);
      CAF_CHECK(read_value(**again, key) == std::optional<std::string>{key});
    }
  }
}

// -- node state ---------------------------------------------------------------

CAF_TEST(machine_key_generated_and_persisted_once) {
  temp_dir tmp;
  key_bytes first{};
  {
    auto s = open_state_dir(tmp.path);
    CAF_REQUIRE(s.ok());
    auto st = load_node_state(**s);
    CAF_REQUIRE(st.ok());
    CAF_CHECK(!st->machine_key.is_zero());
    CAF_CHECK(!st->enrolled.has_value());
    first = st->machine_key.bytes();
    auto stored = read_value(**s, "_machinekey");
    CAF_REQUIRE(stored.has_value());
    CAF_CHECK_EQUAL(stored->substr(0, 8), "privkey:");
    auto again = load_node_state(**s);
    CAF_REQUIRE(again.ok());
    CAF_CHECK(again->machine_key.bytes() == first);
  }
  auto s = open_state_dir(tmp.path);
  CAF_REQUIRE(s.ok());
  auto st = load_node_state(**s);
  CAF_REQUIRE(st.ok());
  CAF_CHECK(st->machine_key.bytes() == first);
}

CAF_TEST(enrollment_round_trip) {
  temp_dir tmp;
  enrollment e;
  e.node_key = node_private_key::generate();
  e.node_id = 42;
  e.stable_id = "nabc123def456";
  e.control_url = "https://control.example:443";
  e.name = "web-1.tail-scale.ts.net";
  e.user = wire::user_profile{7, "alice@example.com", "Alice \"A\"", ""};
  {
    auto s = open_state_dir(tmp.path);
    CAF_REQUIRE(s.ok());
    CAF_REQUIRE(load_node_state(**s).ok());
    CAF_REQUIRE(save_enrollment(**s, e).ok());
  }
  auto s = open_state_dir(tmp.path);
  CAF_REQUIRE(s.ok());
  auto st = load_node_state(**s);
  CAF_REQUIRE(st.ok());
  CAF_REQUIRE(st->enrolled.has_value());
  const auto& got = *st->enrolled;
  CAF_CHECK(got.node_key.bytes() == e.node_key.bytes());
  CAF_CHECK_EQUAL(got.node_id, 42u);
  CAF_CHECK_EQUAL(got.stable_id, e.stable_id);
  CAF_CHECK_EQUAL(got.control_url, e.control_url);
  CAF_CHECK_EQUAL(got.name, e.name);
  CAF_CHECK(got.user == e.user);
  auto machine = st->machine_key.bytes();
  CAF_REQUIRE(clear_enrollment(**s).ok());
  auto cleared = load_node_state(**s);
  CAF_REQUIRE(cleared.ok());
  CAF_CHECK(!cleared->enrolled.has_value());
  CAF_CHECK(cleared->machine_key.bytes() == machine);
  enrollment zero;
  CAF_CHECK_EQUAL(save_enrollment(**s, zero).code(), errc::invalid_argument);
}

CAF_TEST(corrupt_node_state_is_refused_and_not_rewritten) {
  auto key = node_private_key::generate().to_string();
  struct {
    const char* name;
    const char* state_key;
    std::string value;
    const char* reason;
  } cases[] = {
    {"profile not JSON", "_profile", "{nope", "parse error"},
    {"profile is an array", "_profile", "[]", "top level is array"},
    {"node key missing", "_profile", "{\"node_id\":1}", "node_key is missing"},
    {"node key bad", "_profile", "{\"node_key\":\"privkey:zz\",\"node_id\":1}", "node_key: "},
    {"node id missing", "_profile", "{\"node_key\":\"" + key + "\"}", "node_id is missing"},
    {"node id string", "_profile", "{\"node_key\":\"" + key + "\",\"node_id\":\"1\"}", "node_id is string"},
    {"name number", "_profile", "{\"node_key\":\"" + key + "\",\"node_id\":1,\"name\":3}", "name is number"},
    {"user not object", "_profile", "{\"node_key\":\"" + key + "\",\"node_id\":1,\"user\":[]}", "user is not an object"},
    {"machine key garbage", "_machinekey", "mkey:00", "expected privkey"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto s = make_memory_store();
    CAF_REQUIRE(s->write(c.state_key, c.value).ok());
    auto before = counter_value("node_state_corrupt");
    auto st = load_node_state(*s);
    CAF_REQUIRE(!st.ok());
    CAF_CHECK_EQUAL(st.code(), errc::state_corrupt);
    CAF_CHECK(contains(st.error().detail, c.state_key));
    CAF_CHECK(contains(st.error().detail, c.reason));
    CAF_CHECK(counter_value("node_state_corrupt") > before);
    CAF_CHECK(read_value(*s, c.state_key) == std::optional<std::string>{c.value});
    // Nothing written: in particular no machine key was generated.
    if (std::string_view{c.state_key} == "_profile") {
      CAF_CHECK(!read_value(*s, "_machinekey").has_value());
    }
  }
}
