// SPDX-License-Identifier: Apache-2.0
// Inbound packet handling of the shared stack: header validation tables,
// drops counted per reason, foreign and unknown destinations, ICMP/ICMPv6
// echo replies, a SYN to a closed port answered by RST through lwIP, and
// random garbage that must never crash; lwIP reaches our checksum and heap;
// only packets of co-located nodes skip lwIP's TCP checksum check.
#define CAF_SUITE netstack_packets
#include <caf/test/unit_test_impl.hpp>

#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "netstack/ack_loop.hpp"
#include "netstack/ip_check.hpp"
#include "netstack/stack.hpp"
#include "runtime/counters.hpp"
#include "tests/netstack/packet_util.hpp"

// lwIP's heap entry points (lwip/mem.h; Debian's build: mem_size_t is size_t).
extern "C" void* mem_malloc(size_t size);
extern "C" void mem_free(void* p);

using namespace tf;
using namespace tf::netstack;
using namespace tf::netstack::testing;

namespace {

const ip_addr node4 = *ip_addr::parse("100.64.50.1");
const ip_addr node6 = *ip_addr::parse("fd7a:115c:a1e0::3201");
const ip_addr peer4 = *ip_addr::parse("100.64.50.2");
const ip_addr peer6 = *ip_addr::parse("fd7a:115c:a1e0::3202");

std::vector<uint8_t> good_v4() {
  return tcp_syn(peer4, 40000, node4, 81);
}

std::vector<uint8_t> good_v6() {
  return tcp_syn(peer6, 40000, node6, 81);
}

std::vector<uint8_t> prefix(std::vector<uint8_t> p, size_t n) {
  p.resize(n);
  return p;
}

template <class F>
std::vector<uint8_t> edit(std::vector<uint8_t> p, F f) {
  f(p);
  return p;
}

// Re-seal the IPv4 header checksum after an edit.
void reseal(std::vector<uint8_t>& p) {
  size_t ihl = size_t{p[0] & 0x0fu} * 4;
  p[10] = p[11] = 0;
  put16(p, 10, inet_fold(inet_sum({p.data(), std::min(ihl, p.size())})));
}

/// options builds a node's options (no in-memory peers).
node_options options(const ip_addr& v4, const ip_addr& v6, output_sink sink) {
  node_options o;
  o.v4 = v4;
  o.v6 = v6;
  o.output = std::move(sink);
  return o;
}

struct bad_case {
  std::string name;
  std::vector<uint8_t> input;
  ip_drop want;
};

std::vector<bad_case> bad_cases() {
  return {
    {"empty", {}, ip_drop::truncated},
    {"v4 19 bytes", prefix(good_v4(), 19), ip_drop::truncated},
    {"version 5", edit(good_v4(), [](auto& p) { p[0] = 0x55; }), ip_drop::bad_version},
    {"version 0", edit(good_v4(), [](auto& p) { p[0] = 0x05; }), ip_drop::bad_version},
    {"ihl 4", edit(good_v4(), [](auto& p) { p[0] = 0x44; reseal(p); }), ip_drop::bad_header_length},
    {"ihl beyond packet", edit(good_v4(), [](auto& p) { p.resize(24); p[0] = 0x4f; }),
     ip_drop::bad_header_length},
    {"total length beyond packet", edit(good_v4(), [](auto& p) { put16(p, 2, 200); reseal(p); }),
     ip_drop::bad_total_length},
    {"total length below ihl", edit(good_v4(), [](auto& p) { put16(p, 2, 19); reseal(p); }),
     ip_drop::bad_total_length},
    {"bad checksum", edit(good_v4(), [](auto& p) { p[10] ^= 0x01; }), ip_drop::bad_checksum},
    {"multicast source", edit(good_v4(), [](auto& p) { p[12] = 224; reseal(p); }), ip_drop::bad_source},
    {"zero source", edit(good_v4(), [](auto& p) { p[12] = p[13] = p[14] = p[15] = 0; reseal(p); }),
     ip_drop::bad_source},
    {"more fragments", edit(good_v4(), [](auto& p) { p[6] = 0x20; reseal(p); }), ip_drop::fragment},
    {"fragment offset", edit(good_v4(), [](auto& p) { p[7] = 0x08; reseal(p); }), ip_drop::fragment},
    {"gre protocol", edit(good_v4(), [](auto& p) { p[9] = 47; reseal(p); }), ip_drop::unsupported_protocol},
    {"v6 39 bytes", prefix(good_v6(), 39), ip_drop::truncated},
    {"v6 payload beyond", edit(good_v6(), [](auto& p) { put16(p, 4, 900); }), ip_drop::bad_total_length},
    {"v6 fragment header", edit(good_v6(), [](auto& p) { p[6] = 44; }), ip_drop::fragment},
    {"v6 hop-by-hop", edit(good_v6(), [](auto& p) { p[6] = 0; }), ip_drop::unsupported_protocol},
    {"v6 icmpv4 inside", edit(good_v6(), [](auto& p) { p[6] = 1; }), ip_drop::unsupported_protocol},
    {"v6 multicast source", edit(good_v6(), [](auto& p) { p[8] = 0xff; }), ip_drop::bad_source},
  };
}

// capture is a node sink that records every packet.
struct capture {
  std::mutex mu;
  std::vector<std::vector<uint8_t>> packets;
  output_sink sink() {
    return [this](std::span<const uint8_t> p) {
      std::lock_guard<std::mutex> g(mu);
      packets.emplace_back(p.begin(), p.end());
    };
  }
  std::vector<std::vector<uint8_t>> take() {
    std::lock_guard<std::mutex> g(mu);
    return std::move(packets);
  }
};

struct fixture {
  capture out;
  node_id node = 0;
  fixture() {
    auto id = add_node(options(node4, node6, out.sink()));
    CAF_REQUIRE(id.ok());
    node = *id;
  }
  ~fixture() {
    CAF_CHECK(remove_node(node).ok());
  }
};

} // namespace

CAF_TEST(check_ip_packet_table) {
  for (auto& c : bad_cases()) {
    CAF_MESSAGE("case " << c.name);
    ip_view v;
    auto got = check_ip_packet(c.input, v);
    CAF_CHECK_EQUAL(static_cast<int>(got), static_cast<int>(c.want));
  }
  ip_view v;
  auto padded = good_v4();
  padded.resize(padded.size() + 6, 0xee);
  CAF_REQUIRE(check_ip_packet(padded, v) == ip_drop::none);
  CAF_CHECK_EQUAL(v.total_len, 40u);
  CAF_CHECK_EQUAL(v.header_len, 20u);
  CAF_CHECK_EQUAL(v.protocol, 6);
  CAF_REQUIRE(check_ip_packet(good_v6(), v) == ip_drop::none);
  CAF_CHECK_EQUAL(v.header_len, 40u);
  CAF_CHECK_EQUAL(v.total_len, 60u);
}

namespace {

/// tcp_segment builds a TCP segment with the given flags, numbers, window
/// and payload length.
std::vector<uint8_t> tcp_segment(const ip_addr& src, uint16_t sport, const ip_addr& dst,
                                 uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
                                 uint16_t wnd, size_t payload = 0) {
  std::vector<uint8_t> t(20 + payload, 0);
  put16(t, 0, sport);
  put16(t, 2, dport);
  put16(t, 4, seq >> 16);
  put16(t, 6, seq & 0xffff);
  put16(t, 8, ack >> 16);
  put16(t, 10, ack & 0xffff);
  t[12] = 5 << 4;
  t[13] = flags;
  put16(t, 14, wnd);
  return make_packet(src, dst, 6, std::move(t), 16);
}

} // namespace

CAF_TEST(zero_window_ack_repeats_are_found_per_flow) {
  detail::ack_loop_breaker loops;
  auto seen = [&](const std::vector<uint8_t>& pkt) {
    ip_view v;
    CAF_REQUIRE(check_ip_packet(pkt, v) == ip_drop::none);
    return loops.repeat(v, pkt);
  };
  auto ack = [](const ip_addr& a, uint16_t ap, const ip_addr& b, uint16_t bp, uint32_t seq,
                uint32_t n, uint16_t wnd) { return tcp_segment(a, ap, b, bp, 0x10, seq, n, wnd); };
  CAF_MESSAGE("the loop: each side's window-0 ACK, again and again");
  CAF_CHECK(!seen(ack(peer4, 7000, node4, 49152, 100, 200, 0)));
  CAF_CHECK(!seen(ack(node4, 49152, peer4, 7000, 200, 100, 0))); // the other direction
  CAF_CHECK(seen(ack(peer4, 7000, node4, 49152, 100, 200, 0)));
  CAF_CHECK(seen(ack(node4, 49152, peer4, 7000, 200, 100, 0)));
  CAF_MESSAGE("anything new passes: numbers, an open window, data, SYN/FIN/RST, v6");
  CAF_CHECK(!seen(ack(peer4, 7000, node4, 49152, 100, 201, 0)));
  CAF_CHECK(!seen(ack(peer4, 7000, node4, 49152, 100, 201, 1024)));
  CAF_CHECK(!seen(ack(peer4, 7000, node4, 49152, 100, 201, 1024)));
  CAF_CHECK(!seen(tcp_segment(peer4, 7000, node4, 49152, 0x18, 100, 201, 0, 10)));
  CAF_CHECK(!seen(tcp_segment(peer4, 7000, node4, 49152, 0x18, 100, 201, 0, 10)));
  for (uint8_t flag : {0x01, 0x02, 0x04}) {
    auto p = tcp_segment(peer4, 7000, node4, 49152, static_cast<uint8_t>(0x10 | flag), 100,
                         201, 0);
    CAF_CHECK(!seen(p));
    CAF_CHECK(!seen(p));
  }
  CAF_CHECK(!seen(ack(peer6, 7000, node6, 49152, 5, 6, 0)));
  CAF_CHECK(seen(ack(peer6, 7000, node6, 49152, 5, 6, 0)));
  CAF_CHECK(!seen(ack(peer6, 7001, node6, 49152, 5, 6, 0))); // another port: another flow
  CAF_MESSAGE("a new drain starts clean");
  loops.clear();
  CAF_CHECK(!seen(ack(peer6, 7000, node6, 49152, 5, 6, 0)));
  CAF_MESSAGE("not TCP, or too short for a TCP header: never a repeat");
  auto udp = make_packet(peer4, node4, 17, std::vector<uint8_t>(8, 0));
  CAF_CHECK(!seen(udp));
  CAF_CHECK(!seen(udp));
}

CAF_TEST_FIXTURE_SCOPE(stack_input, fixture)

CAF_TEST(malformed_packets_are_dropped_and_counted) {
  for (auto& c : bad_cases()) {
    CAF_MESSAGE("case " << c.name);
    std::string name{drop_counter_name(c.want)};
    auto before = counter_value(name);
    deliver(node, c.input);
    CAF_CHECK_EQUAL(counter_value(name), before + 1);
  }
  CAF_CHECK(out.take().empty());
}

CAF_TEST(foreign_and_unknown_destinations_are_dropped) {
  auto before = counter_value("netstack_rx_not_for_node");
  deliver(node, tcp_syn(peer4, 40000, peer4, 80));         // to another address
  deliver(node, tcp_syn(peer6, 40000, peer6, 80));
  deliver(node, tcp_syn(peer4, 40000, *ip_addr::parse("8.8.8.8"), 80)); // never forwarded
  CAF_CHECK_EQUAL(counter_value("netstack_rx_not_for_node"), before + 3);
  auto unknown = counter_value("netstack_rx_unknown_node");
  deliver(node + 1000000, good_v4());
  CAF_CHECK_EQUAL(counter_value("netstack_rx_unknown_node"), unknown + 1);
  CAF_CHECK(out.take().empty());
}

CAF_TEST(syn_to_closed_port_gets_rst_through_lwip) {
  for (bool six : {false, true}) {
    CAF_MESSAGE("case " << (six ? "ipv6" : "ipv4"));
    deliver(node, six ? good_v6() : good_v4());
    auto got = out.take();
    CAF_REQUIRE_EQUAL(got.size(), 1u);
    ip_view v;
    CAF_REQUIRE(check_ip_packet(got[0], v) == ip_drop::none);
    CAF_CHECK_EQUAL(v.protocol, 6);
    CAF_CHECK_EQUAL(std::memcmp(v.src, (six ? node6 : node4).bytes().data(), v.addr_len()), 0);
    CAF_CHECK_EQUAL(std::memcmp(v.dst, (six ? peer6 : peer4).bytes().data(), v.addr_len()), 0);
    const uint8_t* tcp = got[0].data() + v.header_len;
    CAF_CHECK_EQUAL((tcp[0] << 8 | tcp[1]), 81);
    CAF_CHECK_EQUAL((tcp[2] << 8 | tcp[3]), 40000);
    CAF_CHECK((tcp[13] & 0x04) != 0); // RST
  }
}

CAF_TEST(lwip_heap_recycles_packet_blocks) {
  // liblwip's mem_malloc/mem_free reach netstack/lwip_mem.cpp.
  CAF_CHECK_EQUAL(counter_value("netstack_lwip_libc_heap"), 0u);
  void* a = mem_malloc(1500);
  void* b = mem_malloc(1500);
  void* big = mem_malloc(100000); // beyond a block: malloc
  CAF_REQUIRE(a != nullptr && b != nullptr && big != nullptr);
  CAF_CHECK(a != b);
  std::memset(a, 0xa1, 1500);
  std::memset(b, 0xb2, 1500);
  std::memset(big, 0xc3, 100000);
  CAF_CHECK_EQUAL(static_cast<uint8_t*>(a)[1499], 0xa1);
  mem_free(big);
  mem_free(a);
  void* again = mem_malloc(1200);
#if !defined(__SANITIZE_ADDRESS__)
  CAF_CHECK(again == a); // the freed block comes back first
#endif
  mem_free(again);
  mem_free(b);
  mem_free(nullptr);
}

CAF_TEST(lwip_checks_and_fills_tcp_checksums_with_our_sum) {
  // liblwip's checksum calls reach netstack/lwip_checksum.cpp's sum.
  CAF_CHECK_EQUAL(counter_value("netstack_lwip_slow_checksum"), 0u);
  for (bool six : {false, true}) {
    CAF_MESSAGE("case " << (six ? "ipv6" : "ipv4"));
    // A SYN whose TCP checksum is off by one: lwIP drops it, no RST.
    auto broken = six ? good_v6() : good_v4();
    size_t csum = (six ? 40 : 20) + 16;
    broken[csum + 1] ^= 0x01;
    deliver(node, broken);
    CAF_CHECK(out.take().empty());
    // The intact SYN gets an RST whose checksum is right by RFC 1071.
    deliver(node, six ? good_v6() : good_v4());
    auto got = out.take();
    CAF_REQUIRE_EQUAL(got.size(), 1u);
    ip_view v;
    CAF_REQUIRE(check_ip_packet(got[0], v) == ip_drop::none);
    std::span<const uint8_t> tcp{got[0].data() + v.header_len, got[0].size() - v.header_len};
    ip_addr from = six ? node6 : node4;
    ip_addr to = six ? peer6 : peer4;
    CAF_CHECK_EQUAL(inet_fold(inet_sum(tcp, pseudo_sum(from, to, 6, tcp.size()))), 0);
  }
}

CAF_TEST(only_packets_from_this_process_skip_the_tcp_checksum_check) {
  for (bool six : {false, true}) {
    CAF_MESSAGE("case " << (six ? "ipv6" : "ipv4"));
    auto broken = six ? good_v6() : good_v4();
    size_t csum = (six ? 40 : 20) + 16;
    broken[csum + 1] ^= 0x01;
    // From a co-located node the sum is trusted, so lwIP answers even this
    // SYN; its answer, built while the trusted SYN was in hand, is summed.
    auto trusted = counter_value("netstack_rx_checksum_trusted");
    deliver_in_memory(node, broken);
    CAF_CHECK_EQUAL(counter_value("netstack_rx_checksum_trusted"), trusted + 1);
    auto got = out.take();
    CAF_REQUIRE_EQUAL(got.size(), 1u);
    ip_view v;
    CAF_REQUIRE(check_ip_packet(got[0], v) == ip_drop::none);
    std::span<const uint8_t> tcp{got[0].data() + v.header_len, got[0].size() - v.header_len};
    CAF_CHECK_EQUAL(inet_fold(inet_sum(tcp, pseudo_sum(six ? node6 : node4, six ? peer6 : peer4,
                                                       6, tcp.size()))),
                    0);
    // The same bytes from outside (a wire, a cipher) are checked and dropped.
    deliver(node, broken);
    CAF_CHECK(out.take().empty());
  }
}

CAF_TEST(echo_requests_get_replies) {
  for (bool six : {false, true}) {
    CAF_MESSAGE("case " << (six ? "icmpv6" : "icmpv4"));
    const ip_addr& me = six ? node6 : node4;
    const ip_addr& them = six ? peer6 : peer4;
    auto replied = counter_value("netstack_icmp_echo_replied");
    deliver(node, echo_request(them, me, 0x1234, 7, 56));
    CAF_CHECK_EQUAL(counter_value("netstack_icmp_echo_replied"), replied + 1);
    auto got = out.take();
    CAF_REQUIRE_EQUAL(got.size(), 1u);
    ip_view v;
    CAF_REQUIRE(check_ip_packet(got[0], v) == ip_drop::none);
    CAF_CHECK_EQUAL(std::memcmp(v.src, me.bytes().data(), v.addr_len()), 0);
    CAF_CHECK_EQUAL(std::memcmp(v.dst, them.bytes().data(), v.addr_len()), 0);
    std::span<const uint8_t> icmp(got[0].data() + v.header_len, v.total_len - v.header_len);
    CAF_REQUIRE_EQUAL(icmp.size(), 64u);
    CAF_CHECK_EQUAL(icmp[0], six ? 129 : 0);
    CAF_CHECK_EQUAL((icmp[4] << 8 | icmp[5]), 0x1234);
    CAF_CHECK_EQUAL((icmp[6] << 8 | icmp[7]), 7);
    CAF_CHECK_EQUAL(icmp[8 + 10], static_cast<uint8_t>(70));
    uint32_t sum = six ? pseudo_sum(me, them, 58, icmp.size()) : 0;
    CAF_CHECK_EQUAL(inet_fold(inet_sum(icmp, sum)), 0);
    // A broken ICMP checksum gets no answer.
    auto bad = echo_request(them, me, 1, 1, 8);
    bad.back() ^= 0xff;
    auto malformed = counter_value("netstack_rx_icmp_malformed");
    deliver(node, bad);
    CAF_CHECK_EQUAL(counter_value("netstack_rx_icmp_malformed"), malformed + 1);
    CAF_CHECK(out.take().empty());
  }
}

CAF_TEST(random_garbage_never_crashes) {
  std::mt19937 rng(42);
  std::vector<std::vector<uint8_t>> seeds{good_v4(), good_v6(), echo_request(peer4, node4, 1, 1, 16)};
  for (int i = 0; i < 20000; ++i) {
    auto p = seeds[i % seeds.size()];
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      p[rng() % p.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
    if (rng() % 4 == 0) {
      p.resize(rng() % (p.size() + 1));
    }
    deliver(node, p);
  }
  // Replies (RSTs, echo replies) may come out; all must be well-formed.
  for (auto& p : out.take()) {
    ip_view v;
    CAF_CHECK(check_ip_packet(p, v) == ip_drop::none);
  }
  CAF_CHECK(remove_node(node).ok());
  CAF_CHECK_EQUAL(num_pcbs_at(node4), 0u);
  node = *add_node(options(node4, node6, out.sink()));
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(add_node_rejects_bad_options) {
  struct {
    const char* name;
    node_options opts;
  } cases[] = {
    {"no v4", options(ip_addr{}, {}, [](std::span<const uint8_t>) {})},
    {"v6 as v4", options(node6, {}, [](std::span<const uint8_t>) {})},
    {"loopback", options(*ip_addr::parse("127.0.0.1"), {}, [](std::span<const uint8_t>) {})},
    {"multicast v6", options(node4, *ip_addr::parse("ff02::1"), [](std::span<const uint8_t>) {})},
    {"link-local v6", options(node4, *ip_addr::parse("fe80::1"), [](std::span<const uint8_t>) {})},
    {"no sink", options(node4, {}, nullptr)},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("case " << c.name);
    CAF_CHECK_EQUAL(add_node(c.opts).code(), errc::invalid_argument);
  }
  auto a = add_node(options(node4, {}, [](std::span<const uint8_t>) {}));
  CAF_REQUIRE(a.ok());
  CAF_CHECK_EQUAL(add_node(options(node4, {}, [](std::span<const uint8_t>) {})).code(),
                  errc::invalid_argument);
  CAF_CHECK(remove_node(*a).ok());
  CAF_CHECK_EQUAL(remove_node(*a).code(), errc::not_found);
}
