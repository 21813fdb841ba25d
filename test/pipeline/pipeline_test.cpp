#include "pipeline/pipeline.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/async.hpp"
#include "route/rule_tree.hpp"
#include "support/fake_sink.hpp"

namespace ke::pipeline {
namespace {

using test::fake_sink;
using test::fake_state;
using test::make_record;
using test::run_until;

// A pipeline with receivers "a" and "b", every record routed to both.
class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config::route root;
    root.path = "route";
    for (const char* name : {"a", "b"}) {
      config::rule r;
      r.receiver = name;
      r.path = "route.match[" + std::to_string(root.match.size()) + "]";
      root.match.push_back(r);
    }
    diagnostics problems;
    auto tree = route::rule_tree::compile(root, {"a", "b"}, problems);
    ASSERT_NE(tree, nullptr);
    p = std::make_unique<pipeline>(ioc.get_executor(), std::move(tree), m);
    p->add_receiver("a", config::queue{}, std::make_unique<fake_sink>(sa));
    p->add_receiver("b", config::queue{}, std::make_unique<fake_sink>(sb));
  }

  bool stop_now(std::chrono::milliseconds budget = std::chrono::seconds(10)) {
    bool done = false;
    net::co_spawn(
        ioc,
        [&]() -> net::awaitable<void> {
          co_await p->stop(std::chrono::steady_clock::now() + budget);
          done = true;
        },
        net::detached);
    return run_until(ioc, [&] { return done; });
  }

  net::io_context ioc;
  ke::metrics m{""};
  std::shared_ptr<fake_state> sa = std::make_shared<fake_state>(ioc.get_executor());
  std::shared_ptr<fake_state> sb = std::make_shared<fake_state>(ioc.get_executor());
  std::unique_ptr<pipeline> p;
  std::vector<std::string> log;
};

// Verifies the shutdown order: sources stop first, and what a source dispatches while it stops
// still reaches every sink; receivers close only after every source has stopped.
TEST_F(PipelineTest, SourcesStopBeforeReceiversDrain) {
  p->add_source({"watch", [this] { log.push_back("watch started"); },
                 [this](time_point) -> net::awaitable<void> {
                   log.push_back("watch stopping");
                   co_await p->dispatch(make_record(2));  // a last event in flight
                   log.push_back("watch stopped");
                 }});
  p->add_source({"ingest", [this] { log.push_back("ingest started"); },
                 [this](time_point) -> net::awaitable<void> {
                   log.push_back("ingest stopped");
                   EXPECT_EQ(sa->closes, 0u);  // receivers still open
                   co_return;
                 }});
  p->start();
  EXPECT_EQ(log, (std::vector<std::string>{"watch started", "ingest started"}));
  ASSERT_EQ(p->admit({make_record(1)}), admission::accepted);

  ASSERT_TRUE(stop_now());
  EXPECT_EQ(log, (std::vector<std::string>{"watch started", "ingest started", "watch stopping",
                                           "watch stopped", "ingest stopped"}));
  for (const auto& st : {sa, sb}) {
    ASSERT_EQ(st->delivered.size(), 2u);
    EXPECT_EQ(st->delivered[0]->name, make_record(1)->name);
    EXPECT_EQ(st->delivered[1]->name, make_record(2)->name);
    EXPECT_EQ(st->closes, 1u);
  }
  // After stop nothing is taken any more.
  EXPECT_EQ(p->admit({make_record(3)}), admission::closed);
}

// Verifies that receivers drain in parallel: one receiver whose sink hangs does not keep the
// other from delivering and closing, and the hung one gives up at the deadline, counted.
TEST_F(PipelineTest, ReceiversDrainInParallelWithinTheDeadline) {
  p->start();
  ASSERT_EQ(p->admit({make_record(1)}), admission::accepted);
  sa->hold = true;  // "a" never completes its send
  ASSERT_TRUE(run_until(ioc, [&] { return sa->sends.size() == 1 && sb->completed == 1; }));
  ASSERT_TRUE(stop_now(std::chrono::milliseconds(300)));
  EXPECT_EQ(sb->closes, 1u);
  EXPECT_EQ(sa->delivered.size(), 0u);
  EXPECT_DOUBLE_EQ(m.records_dropped("a", "shutdown").Value(), 1);
  EXPECT_DOUBLE_EQ(m.records_dropped("b", "shutdown").Value(), 0);
  sa->release();
  test::drain(ioc);
}

// Verifies that a source that does not stop in time does not eat the receivers' budget: the
// receivers still drain what was queued.
TEST_F(PipelineTest, SlowSourceGetsHalfTheBudget) {
  notifier never(ioc.get_executor());
  p->add_source(
      {"stuck", [] {}, [&](time_point) -> net::awaitable<void> { co_await never.wait(); }});
  p->start();
  ASSERT_EQ(p->admit({make_record(1)}), admission::accepted);
  ASSERT_TRUE(stop_now(std::chrono::milliseconds(400)));
  EXPECT_EQ(sa->delivered.size(), 1u);
  EXPECT_EQ(sb->delivered.size(), 1u);
  never.notify_all();
  test::drain(ioc);
}

// Verifies that a receiver that can no longer deliver is reported (readiness asks this): a sink
// that says it failed. (A sink whose send throws is retried by its receiver, which stays up.)
TEST_F(PipelineTest, FailureNamesTheReceiverThatCannotDeliver) {
  p->start();
  EXPECT_EQ(p->failure(), "");
  sb->failure = "loki b: the send loop stopped";
  EXPECT_EQ(p->failure(), "loki b: the send loop stopped");
  sb->failure.clear();
  EXPECT_EQ(p->failure(), "");
  EXPECT_TRUE(stop_now());
}

}  // namespace
}  // namespace ke::pipeline
