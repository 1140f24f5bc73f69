// SPDX-License-Identifier: Apache-2.0
// control_channel: client and server against each other (byte by byte and in
// random chunkings, messages of 0 B to 1 MB, the record padding), then every
// rejection: wrong server key, bad preamble, corrupted, empty, replayed
// records, bad padding, bytes in the wrong phase, records before accept().
// Each rejection checks its counter.
#define CAF_SUITE runtime_control_channel
#include <caf/test/unit_test_impl.hpp>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/control_channel.hpp"
#include "runtime/counters.hpp"
#include "tests/support/bytes_of.hpp"

using namespace tf;
using phase = control_channel::phase;
using tf::test::bytes_of;

namespace {

std::vector<uint8_t> pattern_bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> out(n);
  std::mt19937 rng{seed};
  for (auto& b : out) {
    b = static_cast<uint8_t>(rng());
  }
  return out;
}

/// feed hands `bytes` to `ch` in chunks: 0 = all at once, 1 = byte by byte,
/// otherwise random sizes 1..max_chunk from `rng`. Returns the first error.
result<void> feed(control_channel& ch, std::span<const uint8_t> bytes,
                  std::vector<uint8_t>& app_out, size_t max_chunk,
                  std::mt19937* rng = nullptr) {
  while (!bytes.empty()) {
    size_t n = bytes.size();
    if (max_chunk == 1) {
      n = 1;
    } else if (max_chunk > 1 && rng != nullptr) {
      n = std::min(n, std::uniform_int_distribution<size_t>{1, max_chunk}(*rng));
    }
    if (auto r = ch.receive(bytes.first(n), app_out); !r) {
      return r;
    }
    bytes = bytes.subspan(n);
  }
  return {};
}

/// pair is an established client/server pair over fresh keys.
struct pair {
  machine_private_key client_key = machine_private_key::generate();
  machine_private_key server_key = machine_private_key::generate();
  control_channel client = control_channel::client(client_key, server_key.public_key());
  control_channel server = control_channel::server(server_key);

  /// establish runs the handshake, feeding each side with `max_chunk`.
  void establish(size_t max_chunk = 0) {
    std::mt19937 rng{7};
    auto rec1 = client.initiate(bytes_of("client hello"));
    CAF_REQUIRE(rec1.ok());
    CAF_CHECK_EQUAL(client.current_phase(), phase::awaiting_response);
    std::vector<uint8_t> app;
    CAF_REQUIRE(feed(server, *rec1, app, max_chunk, &rng).ok());
    CAF_REQUIRE_EQUAL(server.current_phase(), phase::awaiting_accept);
    auto rec2 = server.accept(bytes_of("server hello"));
    CAF_REQUIRE(rec2.ok());
    CAF_REQUIRE(server.receive({}, app).ok());
    CAF_REQUIRE(feed(client, *rec2, app, max_chunk, &rng).ok());
    CAF_REQUIRE_EQUAL(client.current_phase(), phase::established);
    CAF_REQUIRE_EQUAL(server.current_phase(), phase::established);
    CAF_CHECK(app.empty());
  }
};

} // namespace

// -- working channels ----------------------------------------------------------

CAF_TEST(handshake_byte_by_byte) {
  pair p;
  CAF_CHECK_EQUAL(p.client.current_phase(), phase::awaiting_initiation);
  CAF_CHECK_EQUAL(p.server.current_phase(), phase::awaiting_preamble);
  p.establish(1);
  auto client_pub = p.client_key.public_key();
  auto server_pub = p.server_key.public_key();
  CAF_CHECK(p.server.peer_static() == client_pub);
  CAF_CHECK(p.client.peer_static() == server_pub);
  auto& sh = p.server.peer_hello();
  auto& ch = p.client.peer_hello();
  CAF_CHECK_EQUAL(std::string(sh.begin(), sh.end()), "client hello");
  CAF_CHECK_EQUAL(std::string(ch.begin(), ch.end()), "server hello");
  CAF_CHECK(p.client.handshake_hash() == p.server.handshake_hash());
  CAF_CHECK(p.client.handshake_hash() != blake2s_digest{});
}

CAF_TEST(record_1_layout) {
  pair p;
  auto rec1 = p.client.initiate(bytes_of("hi"));
  CAF_REQUIRE(rec1.ok());
  // preamble, 2-byte length, e (32), encrypted s (48), payload (2) + tag.
  size_t body = 32 + 48 + 2 + 16;
  CAF_REQUIRE_EQUAL(rec1->size(), 4 + 2 + body);
  CAF_CHECK(std::equal(control_preamble.begin(), control_preamble.end(), rec1->begin()));
  CAF_CHECK_EQUAL((*rec1)[4], body >> 8);
  CAF_CHECK_EQUAL((*rec1)[5], body & 0xff);
}

CAF_TEST(messages_of_all_sizes_both_directions) {
  // A record is a 2-byte length, the chunk, its padding, the padding-length
  // byte and a 16-byte tag; the wire lengths are worked out by hand.
  struct {
    const char* name;
    size_t len;
    size_t wire_len;
    size_t max_chunk; // 0 = whole, 1 = byte by byte, else random
  } cases[] = {
    {"empty", 0, 0, 0},
    {"one byte", 1, 2 + 1 + 1 + 16, 1},
    {"63 bytes: plaintext ends one block past 0, unpadded", 63, 2 + 64 + 16, 0},
    {"64 bytes: padded to 256", 64, 2 + 256 + 16, 0},
    {"a delta's 204 bytes: padded to 256", 204, 2 + 256 + 16, 1},
    {"255 bytes: 256 without padding", 255, 2 + 256 + 16, 0},
    {"one full record", 65279, 2 + 65280 + 16, 1000},
    {"one byte over a record", 65280, (2 + 65280 + 16) + (2 + 2 + 16), 70000},
    // 16 full records and 4,112 bytes (plaintext 4,113 = 16 x 256 + 17).
    {"one megabyte", 1 << 20, 16 * (2 + 65280 + 16) + 2 + 4113 + 16, 9000},
    {"one megabyte whole", 1 << 20, 16 * (2 + 65280 + 16) + 2 + 4113 + 16, 0},
  };
  pair p;
  p.establish();
  std::mt19937 rng{42};
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto msg = pattern_bytes(c.len, static_cast<uint32_t>(c.len));
    for (int dir = 0; dir < 2; ++dir) {
      auto& from = dir == 0 ? p.client : p.server;
      auto& to = dir == 0 ? p.server : p.client;
      std::vector<uint8_t> wire{0xee}; // seal appends after existing bytes
      CAF_REQUIRE(from.seal(msg, wire).ok());
      CAF_CHECK_EQUAL(wire.size(), 1 + c.wire_len);
      std::vector<uint8_t> got{0xdd}; // receive appends too
      CAF_REQUIRE(feed(to, std::span{wire}.subspan(1), got, c.max_chunk, &rng).ok());
      CAF_REQUIRE_EQUAL(got.size(), c.len + 1);
      CAF_CHECK(std::equal(msg.begin(), msg.end(), got.begin() + 1));
    }
  }
}

CAF_TEST(record_padding_policy) {
  struct {
    size_t chunk_len;
    size_t padding;
  } cases[] = {
    {0, 0},     {1, 0},     {63, 0},   {64, 191}, {127, 128}, {192, 63},
    {204, 51},  {254, 1},   {255, 0},  {256, 0},  {319, 0},   {320, 191},
    {65279, 0}, {65270, 9},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case chunk of " << c.chunk_len);
    CAF_CHECK_EQUAL(control_record_padding(c.chunk_len), c.padding);
  }
  // Every chunk length: a padded plaintext ends on a 256-byte boundary, an
  // unpadded one at most 64 bytes past one, and none outgrows a record.
  for (size_t n = 0; n <= control_max_chunk_len; ++n) {
    size_t padding = control_record_padding(n);
    size_t plaintext = n + 1 + padding;
    if (plaintext > control_max_plaintext_len
        || (padding > 0 ? plaintext % 256 != 0 : plaintext % 256 > 64)) {
      CAF_FAIL("chunk of " << n << " bytes gets " << padding << " bytes of padding");
    }
  }
  CAF_CHECK_EQUAL(control_max_plaintext_len + noise::tag_len, 65296u);
}

CAF_TEST(random_chunkings_of_a_whole_session) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    CAF_MESSAGE("case seed " << seed);
    std::mt19937 rng{seed};
    pair p;
    auto rec1 = p.client.initiate({});
    CAF_REQUIRE(rec1.ok());
    // The client sends record 1; the server answers with record 2 and, in
    // the same write, three application messages.
    std::vector<uint8_t> app;
    CAF_REQUIRE(feed(p.server, *rec1, app, 7, &rng).ok());
    auto rec2 = p.server.accept({});
    CAF_REQUIRE(rec2.ok());
    std::vector<uint8_t> stream = *rec2;
    std::vector<uint8_t> want;
    for (int i = 0; i < 3; ++i) {
      auto msg = pattern_bytes(std::uniform_int_distribution<size_t>{0, 3000}(rng), seed + i);
      want.insert(want.end(), msg.begin(), msg.end());
      CAF_REQUIRE(p.server.seal(msg, stream).ok());
    }
    std::vector<uint8_t> got;
    CAF_REQUIRE(feed(p.client, stream, got, 50, &rng).ok());
    CAF_CHECK_EQUAL(p.client.current_phase(), phase::established);
    CAF_CHECK(got == want);
  }
}

CAF_TEST(record_arriving_before_accept_is_kept) {
  // Two servers with the same key and ephemeral produce the same record 2,
  // so a client record made against the first can reach the second before
  // its accept().
  auto client_key = machine_private_key::generate();
  auto server_key = machine_private_key::generate();
  key_bytes eph;
  random_bytes(eph.data(), eph.size());
  auto client = control_channel::client(client_key, server_key.public_key());
  auto first = control_channel::server(server_key);
  auto second = control_channel::server(server_key);
  first.set_ephemeral_for_test(eph);
  second.set_ephemeral_for_test(eph);
  auto rec1 = client.initiate(bytes_of("c"));
  CAF_REQUIRE(rec1.ok());
  std::vector<uint8_t> app;
  CAF_REQUIRE(first.receive(*rec1, app).ok());
  auto rec2 = first.accept(bytes_of("s"));
  CAF_REQUIRE(rec2.ok());
  CAF_REQUIRE(client.receive(*rec2, app).ok());
  std::vector<uint8_t> early;
  CAF_REQUIRE(client.seal(bytes_of("early bird"), early).ok());
  // The second server gets record 1 and the early record in one read.
  std::vector<uint8_t> both = *rec1;
  both.insert(both.end(), early.begin(), early.end());
  CAF_REQUIRE(second.receive(both, app).ok());
  CAF_CHECK_EQUAL(second.current_phase(), phase::awaiting_accept);
  CAF_CHECK(app.empty());
  auto rec2b = second.accept(bytes_of("s"));
  CAF_REQUIRE(rec2b.ok());
  CAF_CHECK(*rec2b == *rec2);
  CAF_REQUIRE(second.receive({}, app).ok());
  CAF_CHECK_EQUAL(std::string(app.begin(), app.end()), "early bird");
}

CAF_TEST(truncated_record_then_rest) {
  pair p;
  p.establish();
  struct {
    const char* name;
    size_t first;
  } cases[] = {{"half header", 1}, {"header only", 2}, {"all but one byte", 0}};
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    std::vector<uint8_t> rec;
    CAF_REQUIRE(p.client.seal(bytes_of("split me"), rec).ok());
    size_t first = c.first == 0 ? rec.size() - 1 : c.first;
    std::vector<uint8_t> app;
    CAF_REQUIRE(p.server.receive(std::span{rec}.first(first), app).ok());
    CAF_CHECK(app.empty());
    CAF_REQUIRE(p.server.receive(std::span{rec}.subspan(first), app).ok());
    CAF_CHECK_EQUAL(std::string(app.begin(), app.end()), "split me");
  }
}

// -- rejections ----------------------------------------------------------------

CAF_TEST(wrong_server_key_fails) {
  auto before = counter_value("control_channel_handshake_failed");
  auto server_key = machine_private_key::generate();
  auto impostor = machine_private_key::generate();
  auto client = control_channel::client(machine_private_key::generate(),
                                        impostor.public_key());
  auto server = control_channel::server(server_key);
  auto rec1 = client.initiate({});
  CAF_REQUIRE(rec1.ok());
  std::vector<uint8_t> app;
  auto r = server.receive(*rec1, app);
  CAF_CHECK_EQUAL(r.code(), errc::handshake_failed);
  CAF_CHECK_EQUAL(server.current_phase(), phase::failed);
  CAF_CHECK_EQUAL(counter_value("control_channel_handshake_failed"), before + 1);
  // The failure is final and sticky.
  CAF_CHECK_EQUAL(server.receive({}, app).code(), errc::handshake_failed);
  CAF_CHECK_EQUAL(server.accept({}).code(), errc::handshake_failed);
}

CAF_TEST(bad_preambles) {
  struct {
    const char* name;
    std::vector<uint8_t> first;
    std::vector<uint8_t> second;
    errc want;
  } cases[] = {
    {"wrong magic", {'X', 'F', 'C', 1}, {}, errc::protocol_violation},
    {"wrong version", {'T', 'F', 'C', 1}, {}, errc::unsupported_version},
    {"wrong version after split", {'T', 'F', 'C'}, {9}, errc::unsupported_version},
    {"wrong second byte after split", {'T'}, {'T'}, errc::protocol_violation},
    {"http", {'G', 'E', 'T', ' ', '/'}, {}, errc::protocol_violation},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto before = counter_value("control_channel_bad_preamble");
    auto server = control_channel::server(machine_private_key::generate());
    std::vector<uint8_t> app;
    auto r = server.receive(c.first, app);
    if (!c.second.empty()) {
      CAF_REQUIRE(r.ok());
      CAF_CHECK_EQUAL(server.current_phase(), phase::awaiting_preamble);
      r = server.receive(c.second, app);
    }
    CAF_CHECK_EQUAL(r.code(), c.want);
    CAF_CHECK_EQUAL(server.current_phase(), phase::failed);
    CAF_CHECK_EQUAL(counter_value("control_channel_bad_preamble"), before + 1);
  }
}

CAF_TEST(corrupted_records) {
  struct {
    const char* name;
    size_t offset; // byte of the sealed record to change
    uint8_t xor_with;
    errc want;
    const char* counter;
  } cases[] = {
    {"ciphertext bit", 5, 0x01, errc::decrypt_failed, "control_channel_decrypt_failed"},
    {"tag bit", 20, 0x80, errc::decrypt_failed, "control_channel_decrypt_failed"},
    {"length too short for a tag", 1, 0x17 ^ 0x05, errc::malformed_frame,
     "control_channel_bad_record"},
    {"a bare tag, no padding length", 1, 0x17 ^ 0x10, errc::malformed_frame,
     "control_channel_bad_record"},
    {"zero length", 1, 0x17, errc::malformed_frame, "control_channel_bad_record"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    pair p;
    p.establish();
    std::vector<uint8_t> rec;
    CAF_REQUIRE(p.client.seal(bytes_of("secret"), rec).ok()); // length 0x0017
    rec[c.offset] ^= c.xor_with;
    auto before = counter_value(c.counter);
    std::vector<uint8_t> app;
    CAF_CHECK_EQUAL(p.server.receive(rec, app).code(), c.want);
    CAF_CHECK(app.empty());
    CAF_CHECK_EQUAL(counter_value(c.counter), before + 1);
    CAF_CHECK_EQUAL(p.server.current_phase(), phase::failed);
    std::vector<uint8_t> out;
    CAF_CHECK_EQUAL(p.server.seal(bytes_of("x"), out).code(), c.want);
    CAF_CHECK(out.empty());
  }
}

CAF_TEST(record_padding_received) {
  struct {
    const char* name;
    std::vector<uint8_t> plaintext; // chunk, padding, padding length
    std::string want;               // application bytes, if accepted
    errc code;                      // errc::ok when accepted
  } cases[] = {
    {"no padding", {'h', 'i', 0}, "hi", errc::ok},
    {"two bytes of padding", {'h', 'i', 0, 0, 2}, "hi", errc::ok},
    {"only padding", {0, 0, 0, 3}, "", errc::ok},
    {"only the length byte", {0}, "", errc::ok},
    {"nonzero padding", {'h', 'i', 1, 0, 2}, "", errc::malformed_frame},
    {"padding longer than the record", {'h', 'i', 3}, "", errc::malformed_frame},
    {"padding length 255 in a 1-byte record", {255}, "", errc::malformed_frame},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    pair p;
    p.establish();
    std::vector<uint8_t> rec;
    CAF_REQUIRE(p.client.seal_plaintext_for_test(c.plaintext, rec).ok());
    auto before = counter_value("control_channel_bad_record");
    std::vector<uint8_t> app{'>'};
    auto r = p.server.receive(rec, app);
    CAF_CHECK_EQUAL(r.code(), c.code);
    CAF_CHECK_EQUAL(std::string(app.begin(), app.end()), ">" + c.want);
    if (c.code == errc::ok) {
      CAF_CHECK_EQUAL(counter_value("control_channel_bad_record"), before);
      // The channel goes on: the next record arrives whole.
      std::vector<uint8_t> next;
      CAF_REQUIRE(p.client.seal(bytes_of("next"), next).ok());
      CAF_REQUIRE(p.server.receive(next, app).ok());
      CAF_CHECK_EQUAL(std::string(app.begin(), app.end()), ">" + c.want + "next");
    } else {
      CAF_CHECK_EQUAL(counter_value("control_channel_bad_record"), before + 1);
      CAF_CHECK_EQUAL(p.server.current_phase(), phase::failed);
    }
  }
}

CAF_TEST(corrupted_record_2_and_replayed_record) {
  {
    pair p;
    auto rec1 = p.client.initiate({});
    CAF_REQUIRE(rec1.ok());
    std::vector<uint8_t> app;
    CAF_REQUIRE(p.server.receive(*rec1, app).ok());
    auto rec2 = p.server.accept({});
    CAF_REQUIRE(rec2.ok());
    (*rec2)[10] ^= 0x40;
    auto before = counter_value("control_channel_handshake_failed");
    CAF_CHECK_EQUAL(p.client.receive(*rec2, app).code(), errc::handshake_failed);
    CAF_CHECK_EQUAL(counter_value("control_channel_handshake_failed"), before + 1);
  }
  pair p;
  p.establish();
  std::vector<uint8_t> rec;
  CAF_REQUIRE(p.client.seal(bytes_of("once"), rec).ok());
  std::vector<uint8_t> app;
  CAF_REQUIRE(p.server.receive(rec, app).ok());
  CAF_CHECK_EQUAL(p.server.receive(rec, app).code(), errc::decrypt_failed);
  CAF_CHECK_EQUAL(std::string(app.begin(), app.end()), "once");
}

CAF_TEST(bytes_in_the_wrong_phase) {
  {
    auto before = counter_value("control_channel_bad_record");
    auto client = control_channel::client(machine_private_key::generate(),
                                          machine_private_key::generate().public_key());
    std::vector<uint8_t> app;
    CAF_CHECK(client.receive({}, app).ok());
    CAF_CHECK_EQUAL(client.receive(bytes_of("early"), app).code(), errc::protocol_violation);
    CAF_CHECK_EQUAL(counter_value("control_channel_bad_record"), before + 1);
  }
  {
    // More than one record's worth of bytes before accept() is refused.
    pair p;
    auto rec1 = p.client.initiate({});
    CAF_REQUIRE(rec1.ok());
    std::vector<uint8_t> app;
    CAF_REQUIRE(p.server.receive(*rec1, app).ok());
    CAF_REQUIRE(p.server.receive(std::vector<uint8_t>(65537, 0xff), app).ok());
    auto before = counter_value("control_channel_bad_record");
    CAF_CHECK_EQUAL(p.server.receive(bytes_of("x"), app).code(), errc::protocol_violation);
    CAF_CHECK_EQUAL(counter_value("control_channel_bad_record"), before + 1);
  }
  struct {
    const char* name;
    int call;
  } misuse[] = {{"seal before established", 0}, {"accept on a client", 1},
                {"initiate on a server", 2}, {"initiate twice", 3}};
  for (auto& c : misuse) {
    CAF_MESSAGE("case " << c.name);
    pair p;
    std::vector<uint8_t> out;
    errc got = errc::ok;
    switch (c.call) {
      case 0: got = p.client.seal(bytes_of("x"), out).code(); break;
      case 1: got = p.client.accept({}).code(); break;
      case 2: got = p.server.initiate({}).code(); break;
      default:
        CAF_REQUIRE(p.client.initiate({}).ok());
        got = p.client.initiate({}).code();
    }
    CAF_CHECK_EQUAL(got, errc::invalid_argument);
  }
}

CAF_TEST(oversized_hello_and_moved_from) {
  pair p;
  std::vector<uint8_t> big(65535 - 32 - 48 - 16 + 1);
  CAF_CHECK_EQUAL(p.client.initiate(big).code(), errc::invalid_argument);
  pair q;
  q.establish();
  auto moved = std::move(q.client);
  CAF_CHECK_EQUAL(moved.current_phase(), phase::established);
  CAF_CHECK_EQUAL(q.client.current_phase(), phase::failed);
  std::vector<uint8_t> out;
  CAF_CHECK_EQUAL(q.client.seal(bytes_of("x"), out).code(), errc::closed);
  CAF_CHECK(moved.seal(bytes_of("x"), out).ok());
  std::vector<uint8_t> app;
  CAF_REQUIRE(q.server.receive(out, app).ok());
  CAF_CHECK_EQUAL(std::string(app.begin(), app.end()), "x");
}
