#include "pipeline/acks.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "pipeline/pipeline.hpp"
#include "route/rule_tree.hpp"
#include "support/fake_sink.hpp"

namespace ke::pipeline {
namespace {

using test::fake_sink;
using test::fake_state;
using test::run_until;

struct settled_log {
  std::vector<std::string> final;
  std::vector<std::string> lost;
  acks::listener listener() {
    return [this](std::string_view p, bool f) { (f ? final : lost).emplace_back(p); };
  }
};

// Verifies that a record is settled once every receiver it reached reported it, final unless
// one of them lost it at shutdown; other drops are final (the record is gone for good).
TEST(AcksTest, SettlesWhenEveryReceiverReported) {
  acks a;
  settled_log log;
  a.set_listener(log.listener());
  a.expect("p1", 2);
  a.expect("p2", 2);
  a.expect("p3", 0);  // routed nowhere: settled at once
  a.expect("", 1);    // no position: not tracked
  EXPECT_EQ(log.final, std::vector<std::string>{"p3"});
  a.delivered("a", {"p1", "p2"});
  EXPECT_EQ(a.pending(), 2u);
  a.dropped("b", {"p1"}, "queue_full");
  a.dropped("b", {"p2"}, "shutdown");
  a.delivered("b", {"unknown"});
  EXPECT_EQ(log.final, (std::vector<std::string>{"p3", "p1"}));
  EXPECT_EQ(log.lost, std::vector<std::string>{"p2"});
  EXPECT_EQ(a.pending(), 0u);
}

record_ptr positioned(int n) {
  auto r = std::make_shared<record>(*test::make_record(n));
  r->source_position = "pos-" + std::to_string(n);
  return r;
}

// Verifies the receivers' side through a pipeline: a sink that does not report deliveries gets
// its sends acknowledged by the receiver (ok -> delivered, drop -> dropped for good), and what
// is still queued when shutdown gives up is reported lost.
TEST(AcksTest, ReceiversReportForTheirSinks) {
  net::io_context ioc;
  ke::metrics m{""};
  config::route root;
  root.path = "route";
  config::rule rule;
  rule.receiver = "a";
  rule.path = "route.match[0]";
  root.match.push_back(rule);
  diagnostics problems;
  auto tree = route::rule_tree::compile(root, {"a"}, problems);
  ASSERT_NE(tree, nullptr);
  pipeline p(ioc.get_executor(), std::move(tree), m);
  auto state = std::make_shared<fake_state>(ioc.get_executor());
  p.add_receiver("a", config::queue{}, std::make_unique<fake_sink>(state));
  settled_log log;
  p.on_settled(log.listener());
  p.start();
  state->results.push_back(sinks::send_result::drop);
  bool sent = false;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        co_await p.dispatch(positioned(1));  // rejected by the sink
        co_await p.dispatch(positioned(2));
        sent = true;
      },
      net::detached);
  ASSERT_TRUE(run_until(ioc, [&] { return sent && log.final.size() == 2; }));
  EXPECT_EQ(log.final, (std::vector<std::string>{"pos-1", "pos-2"}));
  state->hold = true;  // the next send never completes
  net::co_spawn(
      ioc, [&]() -> net::awaitable<void> { co_await p.dispatch(positioned(3)); }, net::detached);
  ASSERT_TRUE(run_until(ioc, [&] {
    return !state->sends.empty() && state->sends.back().front()->source_position == "pos-3";
  }));
  EXPECT_EQ(p.unsettled(), 1u);
  bool stopped = false;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        co_await p.stop(std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
        stopped = true;
      },
      net::detached);
  ASSERT_TRUE(run_until(ioc, [&] { return stopped; }));
  EXPECT_EQ(log.lost, std::vector<std::string>{"pos-3"});
  EXPECT_EQ(p.unsettled(), 0u);
  state->release();
  ioc.poll();
}

}  // namespace
}  // namespace ke::pipeline
