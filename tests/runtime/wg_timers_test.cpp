// SPDX-License-Identifier: Apache-2.0
// The WireGuard session timers, with the clock driven by hand: rekey after
// REKEY_AFTER_TIME (old keys accepted until the new ones are confirmed),
// retries and give-up after REKEY_ATTEMPT_TIME, passive and persistent
// keepalives, a new handshake when data gets no answer, key expiry, and the
// bounded queue of packets waiting for a key. Nothing sleeps.
#define CAF_SUITE wg_timers
#include <caf/test/unit_test_impl.hpp>

#include "runtime/counters.hpp"
#include "tests/runtime/wg_test_util.hpp"

using namespace tf;
using namespace tf::wg;
using namespace tf::wg::test;
using namespace std::chrono_literals;

CAF_TEST_FIXTURE_SCOPE(wg_timer_tests, wg_pair)

CAF_TEST(rekey_after_time_keeps_old_keys_until_confirmed) {
  handshake(t0);
  auto k1_a = sa->current()->local_index;
  auto k1_b = sb->current()->local_index;
  auto t1 = t0 + rekey_after_time + 1s;

  auto out = sa->send(ipv4_packet(50, 1), t1);
  CAF_CHECK_EQUAL(out.datagrams.size(), 2u); // data on the old keys, then an initiation
  CAF_CHECK_EQUAL(count_len(out, initiation_len), 1u);
  auto held_a_old = sa->send(ipv4_packet(50, 2), t1 + 1ms); // rate-limited: data only
  CAF_REQUIRE_EQUAL(held_a_old.datagrams.size(), 1u);
  auto held_a_old2 = sa->send(ipv4_packet(50, 3), t1 + 1ms);

  auto at_b = to_b(out, t1);
  CAF_CHECK_EQUAL(at_b.packets.size(), 1u);
  CAF_REQUIRE_EQUAL(count_len(at_b, response_len), 1u);
  CAF_CHECK(sb->next() != nullptr);
  CAF_CHECK_EQUAL(sb->current()->local_index, k1_b);
  auto b_old = sb->send(ipv4_packet(50, 4), t1 + 2ms); // B still sends on K1

  auto at_a = to_a(at_b, t1 + 3ms);
  CAF_CHECK(has_event(at_a, event::handshake_complete));
  CAF_CHECK_NOT_EQUAL(sa->current()->local_index, k1_a);
  CAF_REQUIRE(sa->previous() != nullptr);
  CAF_CHECK_EQUAL(sa->previous()->local_index, k1_a);
  CAF_REQUIRE_EQUAL(at_a.datagrams.size(), 1u); // keepalive on K2 (confirms)
  CAF_CHECK_EQUAL(at_a.datagrams[0].size(), transport_min_len);

  CAF_MESSAGE("A still accepts B's packets on the old keys");
  CAF_CHECK_EQUAL(to_a(b_old, t1 + 4ms).packets.size(), 1u);
  CAF_MESSAGE("B still accepts A's late packets on the old keys");
  CAF_CHECK_EQUAL(to_b(held_a_old, t1 + 5ms).packets.size(), 1u);
  CAF_CHECK(sb->next() != nullptr); // old keys do not confirm the new ones

  CAF_MESSAGE("the first packet on K2 confirms it at B");
  auto confirmed = to_b(at_a, t1 + 6ms);
  CAF_CHECK(has_event(confirmed, event::handshake_complete));
  CAF_CHECK(sb->next() == nullptr);
  CAF_CHECK_EQUAL(sb->current()->remote_index, sa->current()->local_index);
  CAF_REQUIRE(sb->previous() != nullptr);
  CAF_CHECK_EQUAL(sb->previous()->local_index, k1_b);
  CAF_CHECK_EQUAL(to_b(held_a_old2, t1 + 7ms).packets.size(), 1u);
  auto b_new = sb->send(ipv4_packet(50, 5), t1 + 8ms);
  CAF_CHECK_EQUAL(to_a(b_new, t1 + 9ms).packets.size(), 1u);
}

CAF_TEST(rekey_after_messages_and_reject_after_messages) {
  handshake(t0);
  CAF_MESSAGE("past REKEY_AFTER_MESSAGES even the responder starts a handshake");
  sb->current_for_test()->send_counter = rekey_after_messages + 1;
  auto out = sb->send(ipv4_packet(40, 1), t0 + 1s);
  CAF_REQUIRE_EQUAL(out.datagrams.size(), 2u);
  CAF_CHECK_EQUAL(count_len(out, initiation_len), 1u);
  auto v = parse_transport(out.datagrams[0]);
  CAF_REQUIRE(v.ok());
  auto counter = v->counter;
  CAF_CHECK_EQUAL(counter, rekey_after_messages + 1);
  CAF_MESSAGE("A accepts the high counter (within its window)");
  CAF_CHECK_EQUAL(to_a(actions{{out.datagrams[0]}, {}, {}, false}, t0 + 1s).packets.size(), 1u);
  CAF_MESSAGE("at REJECT_AFTER_MESSAGES the keypair no longer sends: staged instead");
  sa->current_for_test()->send_counter = reject_after_messages;
  auto blocked = sa->send(ipv4_packet(40, 2), t0 + 2s);
  CAF_CHECK_EQUAL(count_len(blocked, transport_min_len + 48), 0u);
  CAF_CHECK_EQUAL(sa->num_staged(), 1u);
  CAF_MESSAGE("empty packets are the session's own keepalives, not the caller's");
  auto before = counter_value("wg_rejected_empty_packet");
  CAF_CHECK(sa->send({}, t0 + 2s).datagrams.empty());
  CAF_CHECK_EQUAL(counter_value("wg_rejected_empty_packet"), before + 1);
}

CAF_TEST(handshake_retries_then_gives_up) {
  auto before = counter_value("wg_dropped_staged_gave_up");
  auto first = sa->send(ipv4_packet(40, 1), t0);
  CAF_REQUIRE_EQUAL(count_len(first, initiation_len), 1u);
  size_t initiations = 1;
  auto last = t0;
  std::optional<time_point> gave_up_at;
  while (auto next = sa->next_timer()) {
    CAF_REQUIRE(*next < t0 + 200s);
    auto r = sa->tick(*next);
    if (has_event(r, event::handshake_gave_up)) {
      gave_up_at = *next;
      CAF_CHECK(r.datagrams.empty());
      break;
    }
    CAF_REQUIRE_EQUAL(count_len(r, initiation_len), 1u);
    auto gap = *next - last;
    CAF_CHECK(gap >= rekey_timeout && gap < rekey_timeout + rekey_timeout_jitter_max);
    last = *next;
    ++initiations;
  }
  CAF_REQUIRE(gave_up_at.has_value());
  CAF_CHECK(*gave_up_at >= t0 + rekey_attempt_time);
  CAF_CHECK(*gave_up_at < t0 + rekey_attempt_time + rekey_timeout + rekey_timeout_jitter_max);
  CAF_MESSAGE("initiations sent: " << initiations);
  CAF_CHECK(initiations >= 17 && initiations <= 18);
  CAF_CHECK_EQUAL(sa->num_staged(), 0u);
  CAF_CHECK(!sa->handshake_pending());
  CAF_CHECK_EQUAL(counter_value("wg_dropped_staged_gave_up"), before + 1);
  CAF_CHECK(!sa->next_timer().has_value());
  CAF_MESSAGE("a new packet starts over");
  auto again = sa->send(ipv4_packet(40, 2), *gave_up_at + 1s);
  CAF_CHECK_EQUAL(count_len(again, initiation_len), 1u);
}

CAF_TEST(passive_keepalive_after_keepalive_timeout) {
  handshake(t0); // B received data at t0 and has not answered
  auto expiry = t0 + reject_after_time;
  CAF_REQUIRE(sb->next_timer().has_value());
  CAF_CHECK(*sb->next_timer() == t0 + keepalive_timeout);
  CAF_CHECK(sb->tick(t0 + keepalive_timeout - 1ms).datagrams.empty());
  auto ka_out = sb->tick(t0 + keepalive_timeout);
  CAF_REQUIRE_EQUAL(ka_out.datagrams.size(), 1u);
  CAF_CHECK_EQUAL(ka_out.datagrams[0].size(), transport_min_len);
  auto at_a = to_a(ka_out, t0 + keepalive_timeout);
  CAF_CHECK(at_a.authenticated);
  CAF_CHECK(at_a.packets.empty());
  CAF_CHECK(at_a.datagrams.empty()); // keepalives are not answered
  // A's "no answer to my data" timer was cleared by the keepalive.
  CAF_CHECK(*sa->next_timer() == expiry);
  CAF_CHECK(*sb->next_timer() == expiry);

  CAF_MESSAGE("no keepalive when B answers with data in time");
  auto t1 = t0 + 30s;
  to_b(sa->send(ipv4_packet(40, 1), t1), t1);
  to_a(sb->send(ipv4_packet(40, 2), t1 + 2s), t1 + 2s);
  CAF_CHECK(*sb->next_timer() > t1 + 11s); // only B's own "answer me" timer
  CAF_CHECK(sb->tick(t1 + 11s).datagrams.empty());
}

CAF_TEST(new_handshake_when_data_gets_no_answer) {
  handshake(t0);
  to_a(sb->tick(t0 + keepalive_timeout), t0 + keepalive_timeout);
  auto t1 = t0 + 20s;
  auto out = sa->send(ipv4_packet(40, 1), t1);
  CAF_REQUIRE_EQUAL(out.datagrams.size(), 1u); // dropped on the way
  auto when = *sa->next_timer();
  CAF_CHECK(when >= t1 + keepalive_timeout + rekey_timeout);
  CAF_CHECK(when < t1 + keepalive_timeout + rekey_timeout + rekey_timeout_jitter_max);
  auto r = sa->tick(when);
  CAF_CHECK_EQUAL(count_len(r, initiation_len), 1u);
  CAF_CHECK(sa->handshake_pending());
}

CAF_TEST(keys_expire_after_reject_after_time) {
  handshake(t0);
  CAF_CHECK(!has_event(sb->tick(t0 + reject_after_time - 1ms), event::keys_expired));
  auto r = sb->tick(t0 + reject_after_time);
  CAF_CHECK(has_event(r, event::keys_expired));
  CAF_CHECK(sb->current() == nullptr);
  CAF_MESSAGE("A's old keypair is refused by B and unusable for A");
  auto late = sa->send(ipv4_packet(40, 1), t0 + reject_after_time);
  CAF_CHECK_EQUAL(count_len(late, initiation_len), 1u); // staged, handshake instead
  CAF_CHECK_EQUAL(sa->num_staged(), 1u);
}

CAF_TEST(staged_packets_are_bounded_oldest_dropped) {
  auto before = counter_value("wg_dropped_staged_overflow");
  actions first;
  for (uint8_t i = 0; i < 130; ++i) {
    auto out = sa->send(ipv4_packet(40, i), t0);
    if (i == 0) {
      first = std::move(out);
    } else {
      CAF_CHECK(out.datagrams.empty());
    }
  }
  CAF_CHECK_EQUAL(sa->num_staged(), default_max_staged_packets);
  CAF_CHECK_EQUAL(counter_value("wg_dropped_staged_overflow"), before + 2);
  auto flushed = to_a(to_b(first, t0), t0);
  CAF_CHECK_EQUAL(flushed.datagrams.size(), default_max_staged_packets);
  auto delivered = to_b(flushed, t0);
  CAF_REQUIRE_EQUAL(delivered.packets.size(), default_max_staged_packets);
  CAF_CHECK_EQUAL(delivered.packets.front()[10], 2); // packets 0 and 1 were dropped
  CAF_CHECK_EQUAL(delivered.packets.back()[10], 129);
}

CAF_TEST(persistent_keepalive) {
  device p{node_private_key::generate()};
  device q{node_private_key::generate()};
  auto* pq = *p.add_peer({q.public_key(), {}, 25s});
  auto* qp = *q.add_peer({p.public_key()});
  auto init = pq->send(ipv4_packet(40, 1), t0);
  auto resp = q.receive(init.datagrams.at(0), src_a.span(), t0).out;
  auto data = p.receive(resp.datagrams.at(0), src_b.span(), t0).out;
  CAF_REQUIRE(q.receive(data.datagrams.at(0), src_a.span(), t0).out.packets.size() == 1u);
  // Q's passive keepalive answers at t0+10 s; P then stays silent.
  auto qka = qp->tick(t0 + keepalive_timeout);
  (void) p.receive(qka.datagrams.at(0), src_b.span(), t0 + keepalive_timeout);
  CAF_CHECK(*pq->next_timer() == t0 + 25s);
  auto r = pq->tick(t0 + 25s);
  CAF_REQUIRE_EQUAL(r.datagrams.size(), 1u);
  CAF_CHECK_EQUAL(r.datagrams[0].size(), transport_min_len);
  CAF_CHECK(*pq->next_timer() == t0 + 50s);
}

CAF_TEST_FIXTURE_SCOPE_END()
