// SPDX-License-Identifier: Apache-2.0
// Two in-memory devices talking through hand-delivered datagrams: handshake
// and data both ways, wrong keys, replayed and flooding initiations, forged
// packets, the cookie path under load, and shared index tables. Timers are
// in wg_timers_test.cpp. The clock is a plain value; nothing sleeps.
#define CAF_SUITE wg_session
#include <caf/test/unit_test_impl.hpp>

#include "runtime/counters.hpp"
#include "tests/runtime/wg_test_util.hpp"

using namespace tf;
using namespace tf::wg;
using namespace tf::wg::test;
using namespace std::chrono_literals;

CAF_TEST_FIXTURE_SCOPE(wg_session_tests, wg_pair)

CAF_TEST(handshake_and_data_both_ways) {
  auto ping = ipv4_packet(84, 1);
  auto out = sa->send(ping, t0);
  CAF_REQUIRE_EQUAL(out.datagrams.size(), 1u);
  CAF_CHECK_EQUAL(out.datagrams[0].size(), initiation_len);
  CAF_CHECK_EQUAL(sa->num_staged(), 1u);

  auto at_b = to_b(out, t0);
  CAF_CHECK(at_b.authenticated);
  CAF_REQUIRE_EQUAL(at_b.datagrams.size(), 1u);
  CAF_CHECK_EQUAL(at_b.datagrams[0].size(), response_len);
  CAF_CHECK(sb->next() != nullptr);
  CAF_CHECK(sb->current() == nullptr);

  auto at_a = to_a(at_b, t0 + 1ms);
  CAF_CHECK(at_a.authenticated);
  CAF_CHECK(has_event(at_a, event::handshake_complete));
  CAF_REQUIRE_EQUAL(at_a.datagrams.size(), 1u); // the staged ping
  CAF_CHECK_EQUAL(sa->num_staged(), 0u);

  auto delivered = to_b(at_a, t0 + 2ms);
  CAF_CHECK(has_event(delivered, event::handshake_complete)); // responder confirmed
  CAF_REQUIRE_EQUAL(delivered.packets.size(), 1u);
  CAF_CHECK(delivered.packets[0] == ping); // padding removed
  CAF_CHECK(sb->current() != nullptr && sb->next() == nullptr);

  auto pong = ipv4_packet(84, 2);
  auto reply = sb->send(pong, t0 + 3ms);
  CAF_REQUIRE_EQUAL(reply.datagrams.size(), 1u);
  auto back = to_a(reply, t0 + 4ms);
  CAF_REQUIRE_EQUAL(back.packets.size(), 1u);
  CAF_CHECK(back.packets[0] == pong);
  CAF_CHECK_EQUAL(sa->current()->local_index, sb->current()->remote_index);
  CAF_CHECK_EQUAL(sb->current()->local_index, sa->current()->remote_index);
}

CAF_TEST(wrong_peer_keys_are_rejected) {
  CAF_MESSAGE("an initiator that is not a configured peer");
  device stranger{node_private_key::generate()};
  auto* s = *stranger.add_peer({kb.public_key()});
  auto before = counter_value("wg_rejected_unknown_peer");
  auto res = b.receive(s->send(ipv4_packet(40, 0), t0).datagrams.at(0), src_a.span(), t0);
  CAF_CHECK(res.peer == nullptr);
  CAF_CHECK(res.out.datagrams.empty());
  CAF_CHECK_EQUAL(counter_value("wg_rejected_unknown_peer"), before + 1);

  CAF_MESSAGE("an initiator that has the wrong key for us");
  auto wrong = node_private_key::generate();
  auto* s2 = *a.add_peer({wrong.public_key()});
  auto before_mac = counter_value("wg_rejected_bad_mac1");
  auto res2 = b.receive(s2->send(ipv4_packet(40, 0), t0).datagrams.at(0), src_a.span(), t0);
  CAF_CHECK(res2.peer == nullptr);
  CAF_CHECK_EQUAL(counter_value("wg_rejected_bad_mac1"), before_mac + 1);

  CAF_MESSAGE("a session refuses an initiation from another peer's key");
  auto before_peer = counter_value("wg_rejected_unknown_peer");
  auto direct = sb->receive(s->send(ipv4_packet(40, 0), t0 + 6s).datagrams.at(0), t0 + 6s);
  CAF_CHECK(direct.datagrams.empty());
  CAF_CHECK_EQUAL(counter_value("wg_rejected_unknown_peer"), before_peer + 1);
}

CAF_TEST(replayed_and_flooding_initiations_are_rejected) {
  auto init = sa->send(ipv4_packet(40, 0), t0);
  CAF_REQUIRE(to_b(init, t0).datagrams.size() == 1u);
  auto before = counter_value("wg_rejected_replayed_initiation");
  auto again = to_b(init, t0 + 1s);
  CAF_CHECK(again.datagrams.empty());
  CAF_CHECK(!again.authenticated);
  CAF_CHECK_EQUAL(counter_value("wg_rejected_replayed_initiation"), before + 1);

  CAF_MESSAGE("a newer initiation within 20 ms is a flood");
  auto retry = sa->tick(*sa->next_timer()); // retransmit: a fresh initiation
  CAF_REQUIRE_EQUAL(retry.datagrams.size(), 1u);
  auto before_flood = counter_value("wg_rejected_initiation_flood");
  CAF_CHECK(to_b(retry, t0 + 10ms).datagrams.empty());
  CAF_CHECK_EQUAL(counter_value("wg_rejected_initiation_flood"), before_flood + 1);
  CAF_MESSAGE("after the flood interval the same initiation is fine");
  CAF_CHECK_EQUAL(to_b(retry, t0 + 30ms).datagrams.size(), 1u);
}

CAF_TEST(forged_transport_is_rejected_and_counted) {
  handshake(t0);
  auto out = sa->send(ipv4_packet(100, 9), t0 + 1s);
  CAF_REQUIRE_EQUAL(out.datagrams.size(), 1u);
  auto forged = out.datagrams[0];
  forged[40] ^= 0x10;
  auto before = counter_value("wg_rejected_decrypt");
  auto res = b.receive(forged, src_a.span(), t0 + 1s);
  CAF_CHECK(res.out.packets.empty());
  CAF_CHECK(!res.out.authenticated);
  CAF_CHECK_EQUAL(counter_value("wg_rejected_decrypt"), before + 1);
  CAF_MESSAGE("the genuine packet still arrives, once");
  CAF_CHECK_EQUAL(to_b(out, t0 + 1s).packets.size(), 1u);
  auto replay_before = counter_value("wg_rejected_replay");
  CAF_CHECK(to_b(out, t0 + 1s).packets.empty());
  CAF_CHECK_EQUAL(counter_value("wg_rejected_replay"), replay_before + 1);
  CAF_MESSAGE("an unknown receiver index");
  auto unknown = out.datagrams[0];
  unknown[4] ^= 0xff;
  auto idx_before = counter_value("wg_rejected_unknown_index");
  CAF_CHECK(b.receive(unknown, src_a.span(), t0 + 1s).peer == nullptr);
  CAF_CHECK_EQUAL(counter_value("wg_rejected_unknown_index"), idx_before + 1);
}

CAF_TEST(cookie_path_under_load) {
  b.set_under_load(true);
  auto init = sa->send(ipv4_packet(60, 3), t0);
  auto before = counter_value("wg_rejected_cookie_required");
  auto res = b.receive(init.datagrams.at(0), src_a.span(), t0);
  CAF_CHECK(res.peer == nullptr);
  CAF_CHECK(res.out.datagrams.empty());
  CAF_REQUIRE_EQUAL(res.reply.size(), cookie_reply_len);
  CAF_CHECK_EQUAL(counter_value("wg_rejected_cookie_required"), before + 1);

  auto took = a.receive(res.reply, src_b.span(), t0 + 1ms);
  CAF_CHECK(took.peer == sa);
  CAF_CHECK(took.out.datagrams.empty());

  CAF_MESSAGE("the retry carries MAC2 and is answered");
  auto retry_at = *sa->next_timer();
  auto retry = sa->tick(retry_at);
  CAF_REQUIRE_EQUAL(retry.datagrams.size(), 1u);
  CAF_CHECK(!std::all_of(retry.datagrams[0].end() - 16, retry.datagrams[0].end(),
                         [](uint8_t x) { return x == 0; }));
  CAF_MESSAGE("from another source address the cookie does not fit");
  auto elsewhere = b.receive(retry.datagrams[0], src_other.span(), retry_at);
  CAF_CHECK_EQUAL(elsewhere.reply.size(), cookie_reply_len);
  CAF_CHECK(elsewhere.out.datagrams.empty());

  auto answer = to_b(retry, retry_at);
  CAF_REQUIRE_EQUAL(answer.datagrams.size(), 1u);
  auto done = to_a(answer, retry_at + 1ms);
  CAF_CHECK(has_event(done, event::handshake_complete));
  auto data = to_b(done, retry_at + 2ms);
  CAF_REQUIRE_EQUAL(data.packets.size(), 1u);
  CAF_CHECK(data.packets[0] == ipv4_packet(60, 3));

  CAF_MESSAGE("the flood limit hook drops handshakes while under load");
  device_options deny_all{[](auto, auto) { return false; }, {}};
  device limited{node_private_key::generate(), deny_all};
  limited.set_under_load(true);
  auto* lp = *limited.add_peer({ka.public_key()});
  (void) lp;
  auto* to_limited = *a.add_peer({limited.public_key()});
  auto first = to_limited->send(ipv4_packet(40, 0), t0);
  auto cookie = limited.receive(first.datagrams.at(0), src_a.span(), t0).reply;
  (void) a.receive(cookie, src_b.span(), t0);
  auto second = to_limited->tick(*to_limited->next_timer());
  auto rate_before = counter_value("wg_rejected_rate_limited");
  auto limited_res = limited.receive(second.datagrams.at(0), src_a.span(), t0 + 6s);
  CAF_CHECK(limited_res.out.datagrams.empty());
  CAF_CHECK(limited_res.reply.empty());
  CAF_CHECK_EQUAL(counter_value("wg_rejected_rate_limited"), rate_before + 1);
}

CAF_TEST(devices_sharing_an_index_table_route_by_index) {
  auto table = std::make_shared<index_table>();
  device x{node_private_key::generate(), device_options{{}, table}};
  device y{node_private_key::generate(), device_options{{}, table}};
  auto* x_to_a = *x.add_peer({ka.public_key()});
  auto* y_to_a = *y.add_peer({ka.public_key()});
  auto* a_to_x = *a.add_peer({x.public_key()});
  auto* a_to_y = *a.add_peer({y.public_key()});
  for (auto [from_a, local] : {std::pair{a_to_x, &x}, std::pair{a_to_y, &y}}) {
    auto init = from_a->send(ipv4_packet(40, 1), t0);
    auto& d = init.datagrams.at(0);
    CAF_CHECK(local->is_addressed_to(d));
    CAF_CHECK(!(local == &x ? y : x).is_addressed_to(d));
    auto resp = local->receive(d, src_a.span(), t0);
    CAF_REQUIRE_EQUAL(resp.out.datagrams.size(), 1u);
    auto data = a.receive(resp.out.datagrams[0], src_b.span(), t0);
    CAF_REQUIRE_EQUAL(data.out.datagrams.size(), 1u);
    // Transport goes through the *other* device: the shared table still finds
    // the right session.
    auto& other = local == &x ? y : x;
    auto got = other.receive(data.out.datagrams[0], src_a.span(), t0);
    CAF_CHECK(got.peer == (local == &x ? x_to_a : y_to_a));
    CAF_CHECK_EQUAL(got.out.packets.size(), 1u);
  }
  CAF_CHECK_EQUAL(table->size(), 2u);
  x.remove_peer(ka.public_key());
  CAF_CHECK_EQUAL(table->size(), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()
