// SPDX-License-Identifier: Apache-2.0
// Tables for length-prefixed frames: the header layout, every split of a
// stream, several frames per feed, empty and oversize frames (sticky, counted)
// and the exact maximum. Single-threaded test binary.
#define CAF_SUITE frame
#include <caf/test/unit_test_impl.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/counters.hpp"
#include "runtime/frame.hpp"

using namespace tf;

namespace {

std::vector<uint8_t> payload_of(size_t len, uint8_t seed) {
  std::vector<uint8_t> out(len);
  for (size_t i = 0; i < len; ++i) {
    out[i] = static_cast<uint8_t>(seed + i * 7);
  }
  return out;
}

/// drain collects every frame `dec` can produce now; fails the test on an
/// error.
std::vector<std::vector<uint8_t>> drain(frame_decoder& dec) {
  std::vector<std::vector<uint8_t>> out;
  std::vector<uint8_t> frame;
  for (;;) {
    auto got = dec.next(frame);
    if (!got.ok()) {
      CAF_FAIL("unexpected error: " << got.error().message());
    }
    if (!*got) {
      return out;
    }
    out.push_back(frame);
  }
}

} // namespace

CAF_TEST(header_is_four_bytes_big_endian) {
  std::vector<uint8_t> out{0xee};
  auto payload = payload_of(0x010203, 1);
  append_frame(out, payload);
  CAF_REQUIRE_EQUAL(out.size(), 1 + frame_header_len + payload.size());
  CAF_CHECK_EQUAL(out[0], 0xee); // appended, not overwritten
  CAF_CHECK_EQUAL(out[1], 0x00);
  CAF_CHECK_EQUAL(out[2], 0x01);
  CAF_CHECK_EQUAL(out[3], 0x02);
  CAF_CHECK_EQUAL(out[4], 0x03);
  CAF_CHECK(std::equal(payload.begin(), payload.end(), out.begin() + 5));
}

CAF_TEST(every_split_of_a_stream_yields_the_same_frames) {
  std::vector<std::vector<uint8_t>> want = {payload_of(1, 1), payload_of(300, 2),
                                            payload_of(5, 3)};
  std::vector<uint8_t> stream;
  for (auto& p : want) {
    append_frame(stream, p);
  }
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    frame_decoder dec;
    dec.feed(std::span<const uint8_t>{stream}.subspan(0, cut));
    auto got = drain(dec);
    CAF_CHECK_EQUAL(dec.buffered() + [&] {
      size_t n = 0;
      for (auto& f : got) {
        n += frame_header_len + f.size();
      }
      return n;
    }(), cut);
    dec.feed(std::span<const uint8_t>{stream}.subspan(cut));
    auto rest = drain(dec);
    got.insert(got.end(), rest.begin(), rest.end());
    if (got != want) {
      CAF_FAIL("split at " << cut << ": got " << got.size() << " frames; want 3 equal ones");
    }
    CAF_CHECK_EQUAL(dec.buffered(), 0u);
  }
  // One byte at a time, pulling after every byte.
  frame_decoder dec;
  std::vector<std::vector<uint8_t>> got;
  for (auto b : stream) {
    dec.feed(std::span<const uint8_t>{&b, 1});
    auto some = drain(dec);
    got.insert(got.end(), some.begin(), some.end());
    CAF_CHECK_LESS_OR_EQUAL(dec.buffered(), frame_header_len + 300);
  }
  CAF_CHECK(got == want);
}

CAF_TEST(several_frames_in_one_feed_and_large_frames) {
  std::vector<std::vector<uint8_t>> want;
  std::vector<uint8_t> stream;
  for (size_t i = 0; i < 50; ++i) {
    want.push_back(payload_of(1 + i * 13, static_cast<uint8_t>(i)));
    append_frame(stream, want.back());
  }
  want.push_back(payload_of(3u << 20, 9)); // grows past the eager reservation
  append_frame(stream, want.back());
  frame_decoder dec;
  dec.feed(stream);
  CAF_CHECK_EQUAL(dec.buffered(), stream.size());
  auto got = drain(dec);
  CAF_CHECK(got == want);
  CAF_CHECK_EQUAL(dec.buffered(), 0u);
  // The large frame again, in 64 KiB pieces.
  std::vector<uint8_t> big;
  append_frame(big, want.back());
  for (size_t off = 0; off < big.size(); off += 65536) {
    dec.feed(std::span<const uint8_t>{big}.subspan(off, std::min<size_t>(65536, big.size() - off)));
  }
  auto again = drain(dec);
  CAF_REQUIRE_EQUAL(again.size(), 1u);
  CAF_CHECK(again[0] == want.back());
}

CAF_TEST(bad_lengths_are_sticky_errors) {
  struct {
    const char* name;
    size_t max_frame_len;
    std::vector<uint8_t> header;
    errc want;
    const char* counter;
  } cases[] = {
    {"zero length", 100, {0, 0, 0, 0}, errc::malformed_frame, "control_frames_rejected_empty"},
    {"one above max", 100, {0, 0, 0, 101}, errc::frame_too_large,
     "control_frames_rejected_oversize"},
    {"default max plus one", default_max_frame_len, {0x08, 0, 0, 1}, errc::frame_too_large,
     "control_frames_rejected_oversize"},
    {"all ones", default_max_frame_len, {0xff, 0xff, 0xff, 0xff}, errc::frame_too_large,
     "control_frames_rejected_oversize"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    auto before = counter_value(c.counter);
    frame_decoder dec{c.max_frame_len};
    auto good = payload_of(7, 1);
    std::vector<uint8_t> stream;
    append_frame(stream, good);
    stream.insert(stream.end(), c.header.begin(), c.header.end());
    stream.insert(stream.end(), {1, 2, 3});
    dec.feed(stream);
    CAF_CHECK_EQUAL(counter_value(c.counter), before + 1);
    std::vector<uint8_t> frame;
    auto first = dec.next(frame); // the frame before the bad header still arrives
    CAF_REQUIRE(first.ok() && *first);
    CAF_CHECK(frame == good);
    for (int i = 0; i < 3; ++i) { // sticky, also after more input
      auto err = dec.next(frame);
      CAF_REQUIRE(!err.ok());
      CAF_CHECK_EQUAL(err.code(), c.want);
      dec.feed(stream);
    }
    CAF_CHECK_EQUAL(counter_value(c.counter), before + 1); // counted once
    CAF_CHECK_EQUAL(dec.buffered(), 0u);
  }
}

CAF_TEST(exact_maximum_is_accepted) {
  struct {
    const char* name;
    size_t max_frame_len;
    size_t len;
    bool ok;
  } cases[] = {
    {"one byte, max one", 1, 1, true},
    {"two bytes, max one", 1, 2, false},
    {"exact max 4096", 4096, 4096, true},
    {"max 4096 plus one", 4096, 4097, false},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    frame_decoder dec{c.max_frame_len};
    CAF_CHECK_EQUAL(dec.max_frame_len(), c.max_frame_len);
    std::vector<uint8_t> stream;
    append_frame(stream, payload_of(c.len, 5));
    dec.feed(stream);
    std::vector<uint8_t> frame;
    auto got = dec.next(frame);
    CAF_CHECK_EQUAL(got.ok(), c.ok);
    if (c.ok) {
      CAF_CHECK(*got);
      CAF_CHECK(frame == payload_of(c.len, 5));
    } else {
      CAF_CHECK_EQUAL(got.code(), errc::frame_too_large);
    }
  }
  // The default maximum, exactly: only the header is fed, so this checks the
  // length test without allocating 128 MiB.
  frame_decoder dec;
  uint8_t header[] = {0x08, 0x00, 0x00, 0x00};
  dec.feed(header);
  std::vector<uint8_t> frame;
  auto pending = dec.next(frame);
  CAF_REQUIRE(pending.ok());
  CAF_CHECK(!*pending);
  CAF_CHECK_EQUAL(dec.buffered(), frame_header_len);
}

CAF_TEST(no_growth_across_many_frames) {
  frame_decoder dec;
  std::vector<uint8_t> frame;
  std::vector<uint8_t> one;
  append_frame(one, payload_of(1000, 4));
  for (int i = 0; i < 10000; ++i) {
    dec.feed(std::span<const uint8_t>{one}.subspan(0, 600));
    auto none = dec.next(frame);
    bool partial_ok = none.ok() && !*none && dec.buffered() == 600;
    dec.feed(std::span<const uint8_t>{one}.subspan(600));
    auto got = dec.next(frame);
    if (!partial_ok || !got.ok() || !*got || dec.buffered() != 0 || frame.size() != 1000) {
      CAF_FAIL("iteration " << i << ": buffered " << dec.buffered());
    }
  }
  CAF_CHECK(frame == payload_of(1000, 4));
}
