#include "pipeline/receiver.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>

#include "sinks/null_sink.hpp"
#include "support/fake_sink.hpp"

namespace ke::pipeline {
namespace {

using namespace std::chrono_literals;
using test::fake_sink;
using test::fake_state;
using test::make_record;
using test::run_ready;
using test::run_until;

class ReceiverTest : public ::testing::Test {
 protected:
  std::unique_ptr<receiver> make(std::size_t max, config::overflow_policy policy,
                                 std::string name = "r") {
    config::queue q;
    q.max_records = max;
    q.on_full = policy;
    auto rc = std::make_unique<receiver>(ioc.get_executor(), std::move(name), q,
                                         std::make_unique<fake_sink>(st), m);
    rc->set_backoff(ke::backoff(1ms, 2ms, [] { return 0.0; }));
    return rc;
  }

  // Spawns r->push(rec) and returns a flag set once the push has returned.
  std::shared_ptr<bool> spawn_push(receiver& r, record_ptr rec) {
    auto done = std::make_shared<bool>(false);
    net::co_spawn(
        ioc,
        [&r, rec, done]() -> net::awaitable<void> {
          co_await r.push(rec);
          *done = true;
        },
        net::detached);
    return done;
  }

  std::shared_ptr<bool> spawn_stop(receiver& r, std::chrono::steady_clock::duration in) {
    auto done = std::make_shared<bool>(false);
    const auto deadline = std::chrono::steady_clock::now() + in;
    net::co_spawn(
        ioc,
        [&r, deadline, done]() -> net::awaitable<void> {
          co_await r.stop(deadline);
          *done = true;
        },
        net::detached);
    return done;
  }

  double dropped(const std::string& reason, const std::string& name = "r") {
    return m.records_dropped(name, reason).Value();
  }

  net::io_context ioc;
  ke::metrics m{""};
  std::shared_ptr<fake_state> st = std::make_shared<fake_state>(ioc.get_executor());
};

// Verifies that with policy block a full queue suspends the producer until the sink drains it.
TEST_F(ReceiverTest, BlockPolicySuspendsProducerUntilDrained) {
  auto r = make(2, config::overflow_policy::block);
  r->start();
  st->hold = true;
  auto p1 = spawn_push(*r, make_record(1));
  run_ready(ioc);
  ASSERT_TRUE(*p1);
  ASSERT_EQ(st->sends.size(), 1u);  // record 1 is in flight, the sink holds it
  auto p2 = spawn_push(*r, make_record(2));
  auto p3 = spawn_push(*r, make_record(3));
  auto p4 = spawn_push(*r, make_record(4));
  run_ready(ioc);
  EXPECT_TRUE(*p2);
  EXPECT_TRUE(*p3);
  EXPECT_FALSE(*p4);  // queue is full: the producer waits
  EXPECT_EQ(r->size(), 2u);
  EXPECT_DOUBLE_EQ(dropped("queue_full"), 0);

  st->release();
  ASSERT_TRUE(run_until(ioc, [&] { return *p4 && st->delivered.size() == 4; }));
  std::vector<std::string> messages;
  for (const auto& rec : st->delivered) {
    messages.push_back(rec->message);
  }
  EXPECT_EQ(messages,
            (std::vector<std::string>{"message 1", "message 2", "message 3", "message 4"}));
  EXPECT_DOUBLE_EQ(m.records_sent("r").Value(), 4);
}

// Verifies that with policy drop a full queue drops records and counts them as queue_full.
TEST_F(ReceiverTest, DropPolicyCountsQueueFull) {
  auto r = make(2, config::overflow_policy::drop, "dropper");
  r->start();
  st->hold = true;
  for (int i = 1; i <= 5; ++i) {
    auto done = spawn_push(*r, make_record(i));
    run_ready(ioc);
    EXPECT_TRUE(*done) << "push " << i << " must never wait with policy drop";
  }
  // 1 in flight, 2 and 3 queued, 4 and 5 dropped.
  EXPECT_EQ(r->size(), 2u);
  EXPECT_DOUBLE_EQ(dropped("queue_full", "dropper"), 2);
  const std::string text = m.serialize();
  EXPECT_NE(
      text.find("receiver_records_dropped_total{reason=\"queue_full\",receiver=\"dropper\"} 2"),
      std::string::npos)
      << text;
  st->release();
  ASSERT_TRUE(run_until(ioc, [&] { return st->delivered.size() == 3; }));
  EXPECT_EQ(st->delivered[2]->message, "message 3");
}

// Verifies that try_push refuses when full without dropping or counting anything.
TEST_F(ReceiverTest, TryPushRefusesWhenFullAndNeverDrops) {
  auto r = make(2, config::overflow_policy::drop);
  EXPECT_TRUE(r->try_push(make_record(1)));
  EXPECT_TRUE(r->try_push(make_record(2)));
  EXPECT_FALSE(r->try_push(make_record(3)));
  EXPECT_EQ(r->size(), 2u);
  EXPECT_DOUBLE_EQ(dropped("queue_full"), 0);
  EXPECT_DOUBLE_EQ(m.queue_depth("r").Value(), 2);
}

// Verifies that a retry result re-sends the same batch after a backoff, then counts it sent.
TEST_F(ReceiverTest, RetryResendsSameBatch) {
  auto r = make(100, config::overflow_policy::block);
  st->results = {send_result::retry, send_result::retry, send_result::ok};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(r->try_push(make_record(i)));
  }
  r->start();
  ASSERT_TRUE(run_until(ioc, [&] { return st->completed == 3; }));
  ASSERT_EQ(st->sends.size(), 3u);
  EXPECT_EQ(st->sends[0].size(), 3u);
  EXPECT_EQ(st->sends[1], st->sends[0]);
  EXPECT_EQ(st->sends[2], st->sends[0]);
  EXPECT_DOUBLE_EQ(m.records_sent("r").Value(), 3);
  EXPECT_DOUBLE_EQ(m.send_event_errors.value(), 2);  // one per failed attempt
  EXPECT_DOUBLE_EQ(dropped("rejected"), 0);
}

// Verifies that a drop result counts the batch as rejected and in send_event_errors.
TEST_F(ReceiverTest, DropResultCountsRejected) {
  auto r = make(100, config::overflow_policy::block);
  st->results = {send_result::drop};
  ASSERT_TRUE(r->try_push(make_record(1)));
  ASSERT_TRUE(r->try_push(make_record(2)));
  r->start();
  ASSERT_TRUE(run_until(ioc, [&] { return st->completed == 1; }));
  EXPECT_DOUBLE_EQ(dropped("rejected"), 2);
  EXPECT_DOUBLE_EQ(m.send_event_errors.value(), 2);
  EXPECT_DOUBLE_EQ(m.records_sent("r").Value(), 0);
  // The next record goes through.
  ASSERT_TRUE(r->try_push(make_record(3)));
  ASSERT_TRUE(run_until(ioc, [&] { return st->completed == 2; }));
  EXPECT_DOUBLE_EQ(m.records_sent("r").Value(), 1);
}

// Verifies that records reach the sink in push order, in batches of at most 1000.
TEST_F(ReceiverTest, PreservesOrderInBoundedBatches) {
  auto r = make(10000, config::overflow_policy::block);
  std::vector<record_ptr> pushed;
  for (int i = 0; i < 2500; ++i) {
    pushed.push_back(make_record(i));
    ASSERT_TRUE(r->try_push(pushed.back()));
  }
  r->start();
  ASSERT_TRUE(run_until(ioc, [&] { return st->delivered.size() == 2500; }));
  EXPECT_EQ(st->delivered, pushed);
  ASSERT_EQ(st->sends.size(), 3u);
  EXPECT_EQ(st->sends[0].size(), 1000u);
  EXPECT_EQ(st->sends[1].size(), 1000u);
  EXPECT_EQ(st->sends[2].size(), 500u);
}

// Verifies that the queue depth gauge follows the queue.
TEST_F(ReceiverTest, QueueDepthGaugeTracksQueue) {
  auto r = make(10, config::overflow_policy::block);
  EXPECT_DOUBLE_EQ(m.queue_depth("r").Value(), 0);
  ASSERT_TRUE(r->try_push(make_record(1)));
  ASSERT_TRUE(r->try_push(make_record(2)));
  EXPECT_DOUBLE_EQ(m.queue_depth("r").Value(), 2);
  r->start();
  ASSERT_TRUE(run_until(ioc, [&] { return st->delivered.size() == 2; }));
  EXPECT_DOUBLE_EQ(m.queue_depth("r").Value(), 0);
}

// Verifies that stop() delivers everything queued, closes the sink and then completes.
TEST_F(ReceiverTest, StopFlushesQueueAndClosesSink) {
  auto r = make(100, config::overflow_policy::block);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(r->try_push(make_record(i)));
  }
  // Never started: stop() drains anyway.
  auto stopped = spawn_stop(*r, 10s);
  ASSERT_TRUE(run_until(ioc, [&] { return *stopped; }));
  EXPECT_EQ(st->delivered.size(), 5u);
  EXPECT_EQ(st->closes, 1u);
  EXPECT_DOUBLE_EQ(m.records_sent("r").Value(), 5);
  EXPECT_DOUBLE_EQ(dropped("shutdown"), 0);
}

// Verifies that pushes after stop() are refused and counted as dropped (shutdown).
TEST_F(ReceiverTest, PushAfterStopIsRefused) {
  auto r = make(100, config::overflow_policy::block);
  r->start();
  auto stopped = spawn_stop(*r, 10s);
  ASSERT_TRUE(run_until(ioc, [&] { return *stopped; }));
  auto pushed = spawn_push(*r, make_record(1));
  run_ready(ioc);
  EXPECT_TRUE(*pushed);
  EXPECT_FALSE(r->try_push(make_record(2)));
  EXPECT_EQ(r->size(), 0u);
  EXPECT_TRUE(st->sends.empty());
  EXPECT_DOUBLE_EQ(dropped("shutdown"), 1);
}

// Verifies that a producer blocked on a full queue is released (refused) by stop().
TEST_F(ReceiverTest, StopReleasesBlockedProducer) {
  auto r = make(1, config::overflow_policy::block);
  ASSERT_TRUE(r->try_push(make_record(1)));
  auto blocked = spawn_push(*r, make_record(2));
  run_ready(ioc);
  ASSERT_FALSE(*blocked);
  auto stopped = spawn_stop(*r, 10s);
  ASSERT_TRUE(run_until(ioc, [&] { return *stopped && *blocked; }));
  EXPECT_EQ(st->delivered.size(), 1u);
  EXPECT_DOUBLE_EQ(dropped("shutdown"), 1);
}

// Verifies that records the sink cannot take before the deadline are counted as shutdown drops.
TEST_F(ReceiverTest, StopCountsUndeliverableRecordsAtDeadline) {
  auto r = make(100, config::overflow_policy::block);
  st->results.assign(100000, send_result::retry);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(r->try_push(make_record(i)));
  }
  r->start();
  ASSERT_TRUE(run_until(ioc, [&] { return st->completed >= 1; }));
  auto stopped = spawn_stop(*r, 50ms);
  ASSERT_TRUE(run_until(ioc, [&] { return *stopped; }));
  EXPECT_DOUBLE_EQ(dropped("shutdown"), 3);
  EXPECT_DOUBLE_EQ(m.records_sent("r").Value(), 0);
  EXPECT_EQ(st->closes, 1u);
}

// Verifies that stop() returns at its deadline even when the sink never completes a send.
TEST_F(ReceiverTest, StopReturnsAtDeadlineWhenSinkHangs) {
  auto r = make(100, config::overflow_policy::block);
  st->hold = true;
  ASSERT_TRUE(r->try_push(make_record(1)));
  r->start();
  run_ready(ioc);
  ASSERT_EQ(st->sends.size(), 1u);
  ASSERT_TRUE(r->try_push(make_record(2)));
  auto stopped = spawn_stop(*r, 30ms);
  ASSERT_TRUE(run_until(ioc, [&] { return *stopped; }));
  EXPECT_DOUBLE_EQ(dropped("shutdown"), 2);  // one in flight, one queued
  EXPECT_DOUBLE_EQ(m.records_sent("r").Value(), 0);
}

// Verifies that sink errors reported via take_errors() are added to send_event_errors.
TEST_F(ReceiverTest, SinkErrorsAreCounted) {
  auto r = make(100, config::overflow_policy::block);
  st->errors = 2;
  ASSERT_TRUE(r->try_push(make_record(1)));
  r->start();
  ASSERT_TRUE(run_until(ioc, [&] { return st->completed == 1; }));
  EXPECT_DOUBLE_EQ(m.send_event_errors.value(), 2);
  EXPECT_DOUBLE_EQ(m.records_sent("r").Value(), 1);
}

// Verifies that records for an unsupported sink kind are counted as unsupported_sink drops.
TEST_F(ReceiverTest, UnsupportedSinkCountsDrops) {
  config::queue q;
  receiver r(ioc.get_executor(), "es", q, std::make_unique<sinks::null_sink>("elasticsearch"), m);
  ASSERT_TRUE(r.try_push(make_record(1)));
  ASSERT_TRUE(r.try_push(make_record(2)));
  r.start();
  ASSERT_TRUE(
      run_until(ioc, [&] { return r.size() == 0 && dropped("unsupported_sink", "es") == 2; }));
  EXPECT_DOUBLE_EQ(m.send_event_errors.value(), 0);
  EXPECT_DOUBLE_EQ(dropped("rejected", "es"), 0);
  auto stopped = spawn_stop(r, 10s);
  ASSERT_TRUE(run_until(ioc, [&] { return *stopped; }));
}

}  // namespace
}  // namespace ke::pipeline
