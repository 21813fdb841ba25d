#include "pipeline/dispatcher.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>

#include "route/rule_tree.hpp"
#include "support/fake_sink.hpp"

namespace ke::pipeline {
namespace {

using namespace std::chrono_literals;
using test::fake_sink;
using test::fake_state;
using test::make_record;
using test::run_ready;
using test::run_until;

config::rule match_rule(std::string receiver, std::string reason = "") {
  config::rule r;
  r.receiver = std::move(receiver);
  r.reason = std::move(reason);
  return r;
}

class DispatcherTest : public ::testing::Test {
 protected:
  // Receivers "a" (queue max_a) and "b" (queue max_b), both policy block, each with a fake sink.
  void build(std::vector<config::rule> rules, std::size_t max_a = 100, std::size_t max_b = 100) {
    config::route root;
    root.path = "route";
    for (std::size_t i = 0; i < rules.size(); ++i) {
      rules[i].path = "route.match[" + std::to_string(i) + "]";
    }
    root.match = std::move(rules);
    diagnostics problems;
    tree = route::rule_tree::compile(root, {"a", "b"}, problems);
    ASSERT_NE(tree, nullptr);
    config::queue qa;
    qa.max_records = max_a;
    config::queue qb;
    qb.max_records = max_b;
    a = std::make_unique<receiver>(ioc.get_executor(), "a", qa, std::make_unique<fake_sink>(sa), m);
    b = std::make_unique<receiver>(ioc.get_executor(), "b", qb, std::make_unique<fake_sink>(sb), m);
    d = std::make_unique<dispatcher>(*tree, std::vector<receiver*>{a.get(), b.get()}, m);
  }

  std::shared_ptr<bool> spawn_dispatch(record_ptr r) {
    auto done = std::make_shared<bool>(false);
    net::co_spawn(
        ioc,
        [this, r, done]() -> net::awaitable<void> {
          co_await d->dispatch(r);
          *done = true;
        },
        net::detached);
    return done;
  }

  net::io_context ioc;
  ke::metrics m{""};
  std::shared_ptr<fake_state> sa = std::make_shared<fake_state>(ioc.get_executor());
  std::shared_ptr<fake_state> sb = std::make_shared<fake_state>(ioc.get_executor());
  std::unique_ptr<const route::rule_tree> tree;
  std::unique_ptr<receiver> a;
  std::unique_ptr<receiver> b;
  std::unique_ptr<dispatcher> d;
};

// Verifies that a receiver named by two matching rules gets the record twice.
TEST_F(DispatcherTest, ReceiverNamedTwiceGetsRecordTwice) {
  build({match_rule("a"), match_rule("a"), match_rule("b")});
  auto rec = make_record(1);
  auto done = spawn_dispatch(rec);
  run_ready(ioc);
  ASSERT_TRUE(*done);
  EXPECT_EQ(a->size(), 2u);
  EXPECT_EQ(b->size(), 1u);
  a->start();
  ASSERT_TRUE(run_until(ioc, [&] { return sa->delivered.size() == 2; }));
  EXPECT_EQ(sa->delivered[0], rec);
  EXPECT_EQ(sa->delivered[1], rec);
}

// Verifies that a record no rule matches is counted as routed nowhere.
TEST_F(DispatcherTest, UnmatchedRecordCountsRoutedNowhere) {
  build({match_rule("a", "^Killing$")});
  auto done = spawn_dispatch(make_record(1, "Started"));
  run_ready(ioc);
  ASSERT_TRUE(*done);
  EXPECT_EQ(a->size(), 0u);
  EXPECT_DOUBLE_EQ(m.records_routed_nowhere().Value(), 1);
  EXPECT_EQ(d->admit({make_record(2, "Started")}), admission::accepted);
  EXPECT_DOUBLE_EQ(m.records_routed_nowhere().Value(), 2);
}

// Verifies that only the receivers whose rules match get the record.
TEST_F(DispatcherTest, RoutesByRule) {
  build({match_rule("a", "^Killing$"), match_rule("b", "^Started$")});
  EXPECT_EQ(d->admit({make_record(1, "Started")}), admission::accepted);
  EXPECT_EQ(d->admit({make_record(2, "Killing")}), admission::accepted);
  EXPECT_EQ(d->admit({make_record(3, "Started")}), admission::accepted);
  EXPECT_EQ(a->size(), 1u);
  EXPECT_EQ(b->size(), 2u);
}

// Verifies that admit enqueues nothing when any reached receiver is full.
TEST_F(DispatcherTest, AdmitOneIsAllOrNothing) {
  build({match_rule("a"), match_rule("b")}, /*max_a=*/5, /*max_b=*/1);
  ASSERT_EQ(d->admit({make_record(1)}), admission::accepted);
  EXPECT_EQ(a->size(), 1u);
  EXPECT_EQ(b->size(), 1u);
  EXPECT_EQ(d->admit({make_record(2)}), admission::full);  // b is full
  EXPECT_EQ(a->size(), 1u);                                // a did not take it either
  EXPECT_EQ(b->size(), 1u);
  EXPECT_DOUBLE_EQ(m.records_dropped("a", "queue_full").Value(), 0);
  EXPECT_DOUBLE_EQ(m.records_dropped("b", "queue_full").Value(), 0);
}

// Verifies that admit needs one free slot per time a receiver is reached.
TEST_F(DispatcherTest, AdmitCountsDuplicateSlots) {
  build({match_rule("a"), match_rule("a")}, /*max_a=*/3);
  ASSERT_EQ(d->admit({make_record(1)}), admission::accepted);
  EXPECT_EQ(a->size(), 2u);
  EXPECT_EQ(d->admit({make_record(2)}), admission::full);  // needs 2, 1 free
  EXPECT_EQ(a->size(), 2u);
}

// Verifies that admit takes all records of a batch or none: full when a reached
// receiver lacks room for the whole batch, too_large when its queue could never hold it.
TEST_F(DispatcherTest, AdmitIsAllOrNothing) {
  build({match_rule("a"), match_rule("b", "Started")}, /*max_a=*/10, /*max_b=*/3);
  using result = admission;
  const std::vector<record_ptr> three = {make_record(1), make_record(2, "Killing"), make_record(3)};
  ASSERT_EQ(d->admit(three), result::accepted);
  EXPECT_EQ(a->size(), 3u);
  EXPECT_EQ(b->size(), 2u);                  // only the Started ones
  EXPECT_EQ(d->admit(three), result::full);  // b needs 2, has 1 free
  EXPECT_EQ(a->size(), 3u);
  EXPECT_EQ(b->size(), 2u);
  const std::vector<record_ptr> five(5, make_record(4));
  EXPECT_EQ(d->admit(five), result::too_large);  // b holds at most 3
  EXPECT_EQ(a->size(), 3u);
}

// Verifies that dispatch waits on a full blocking receiver, then feeds it in order.
TEST_F(DispatcherTest, DispatchWaitsForFullReceiver) {
  build({match_rule("a"), match_rule("b")}, /*max_a=*/100, /*max_b=*/1);
  auto r1 = make_record(1);
  auto r2 = make_record(2);
  auto d1 = spawn_dispatch(r1);
  run_ready(ioc);
  ASSERT_TRUE(*d1);
  auto d2 = spawn_dispatch(r2);
  run_ready(ioc);
  EXPECT_FALSE(*d2);         // b is full
  EXPECT_EQ(a->size(), 2u);  // a was fed before b was reached
  EXPECT_EQ(b->size(), 1u);
  // An admit meanwhile must not disturb the suspended dispatch.
  EXPECT_EQ(d->admit({make_record(3)}), admission::full);
  b->start();
  ASSERT_TRUE(run_until(ioc, [&] { return *d2 && sb->delivered.size() == 2; }));
  EXPECT_EQ(sb->delivered[0], r1);
  EXPECT_EQ(sb->delivered[1], r2);
}

}  // namespace
}  // namespace ke::pipeline
