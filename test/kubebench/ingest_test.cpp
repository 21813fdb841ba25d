#include "kubebench/ingest.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace ke::kubebench {
namespace {

std::string read(const std::string& name) {
  std::ifstream in(std::string(KE_TEST_DATA) + "/kubebench/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class IngestTest : public ::testing::Test {
 protected:
  IngestTest() : metrics_("event_exporter_"), gauges_(metrics_.registry()) {}

  void make(ingest_options opt) {
    opt.allowed_service_accounts = {"kube-bench:kube-bench"};
    ingest_ = std::make_unique<ingest>(
        std::move(opt),
        [this](const std::vector<record_ptr>& rs) {
          if (next_ == pipeline::admission::accepted) {
            submitted_.insert(submitted_.end(), rs.begin(), rs.end());
          }
          return next_;
        },
        gauges_, metrics_,
        [this](std::string token) -> net::awaitable<review_result> {
          ++reviews_;
          review_result r;
          if (token == "good") {
            r.result = review_result::outcome::authenticated;
            r.username = "system:serviceaccount:kube-bench:kube-bench";
            r.node_name = "bound-node";
          } else if (token == "other") {
            r.result = review_result::outcome::authenticated;
            r.username = "system:serviceaccount:default:default";
          } else if (token.starts_with("slow")) {
            // Waits until the test cancels the gate (a TokenReview queued at the rate limiter).
            boost::system::error_code ec;
            co_await gate_.async_wait(net::redirect_error(net::use_awaitable, ec));
            r.result = review_result::outcome::rejected;
          } else if (token == "down") {
            r.result = review_result::outcome::error;
            r.error = "connection refused";
          } else {
            r.result = review_result::outcome::rejected;
          }
          co_return r;
        });
  }

  server::response post(std::string target, std::string body, std::string token = "good",
                        std::string type = "application/json") {
    server::request req{http::verb::post, target, 11};
    if (!token.empty()) {
      req.set(http::field::authorization, "Bearer " + token);
    }
    if (!type.empty()) {
      req.set(http::field::content_type, type);
    }
    req.body() = std::move(body);
    auto fut = net::co_spawn(ioc_, ingest_->handle(req), net::use_future);
    ioc_.restart();
    ioc_.run();
    return fut.get();
  }

  static nlohmann::json body(const server::response& r) { return nlohmann::json::parse(r.body()); }

  net::io_context ioc_;
  ke::metrics metrics_;
  gauges gauges_;
  std::unique_ptr<ingest> ingest_;
  pipeline::admission next_ = pipeline::admission::accepted;
  std::vector<record_ptr> submitted_;
  int reviews_ = 0;
  net::steady_timer gate_{ioc_, std::chrono::steady_clock::time_point::max()};
};

// Verifies that an allowed ServiceAccount's report is accepted: 202, records, gauges.
TEST_F(IngestTest, AcceptsReport) {
  make({});
  const auto res = post("/api/v1/kube-bench?node=wk1-k8s&target=node", read("result.json"));
  ASSERT_EQ(res.result(), http::status::accepted) << res.body();
  const auto b = body(res);
  EXPECT_EQ(b["accepted"], 3);
  EXPECT_EQ(b["node"], "wk1-k8s");
  EXPECT_EQ(b["target"], "node");
  EXPECT_EQ(b["syntax"], "kube-bench run --targets=node");
  EXPECT_EQ(b["totals"]["total_pass"], 49);
  EXPECT_EQ(b["totalsSource"], "Totals");
  EXPECT_EQ(submitted_.size(), 3u);
  EXPECT_EQ(gauges_.pairs(), 1u);
  EXPECT_NE(metrics_.serialize().find("kube_bench_info{kube_bench_node_name=\"wk1-k8s\""),
            std::string::npos);
}

// Verifies header parameters, percent-decoding, and the token's bound node as a fallback.
TEST_F(IngestTest, ParametersFromHeadersAndToken) {
  make({});
  auto res =
      post("/api/v1/kube-bench?syntax=kube-bench%20run+--targets%3Dmaster", read("result.json"));
  ASSERT_EQ(res.result(), http::status::accepted) << res.body();
  EXPECT_EQ(body(res)["node"], "bound-node");
  EXPECT_EQ(body(res)["syntax"], "kube-bench run --targets=master");
  EXPECT_EQ(body(res)["target"], "master,etcd,controlplane");
}

// Verifies the auth outcomes: missing 401, rejected 401, other SA 403, review error 503.
TEST_F(IngestTest, TokenReviewOutcomes) {
  make({});
  const std::string t = "/api/v1/kube-bench?node=n";
  EXPECT_EQ(post(t, "[]", "").result(), http::status::unauthorized);
  EXPECT_EQ(post(t, "[]", "garbage").result(), http::status::unauthorized);
  EXPECT_EQ(post(t, "[]", "other").result(), http::status::forbidden);
  const auto down = post(t, "[]", "down");
  EXPECT_EQ(down.result(), http::status::service_unavailable);
  EXPECT_EQ(down[http::field::retry_after], "5");
  EXPECT_TRUE(submitted_.empty());
}

// Verifies that TokenReviews in progress are bounded: with max_pending_reviews taken by a slow
// review, another unknown token gets 503 + Retry-After at once (no review sent); once the slow
// one ends, reviews run again.
TEST_F(IngestTest, PendingTokenReviewsAreBounded) {
  ingest_options o;
  o.max_pending_reviews = 1;
  make(o);
  server::request req{http::verb::post, "/api/v1/kube-bench?node=n", 11};
  req.set(http::field::authorization, "Bearer slow-1");
  auto first = net::co_spawn(ioc_, ingest_->handle(req), net::use_future);
  while (reviews_ < 1 && ioc_.poll_one() > 0) {
  }
  ASSERT_EQ(reviews_, 1);
  req.set(http::field::authorization, "Bearer slow-2");
  auto second = net::co_spawn(ioc_, ingest_->handle(req), net::use_future);
  while (second.wait_for(std::chrono::seconds(0)) != std::future_status::ready &&
         ioc_.poll_one() > 0) {
  }
  ASSERT_EQ(second.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  const auto busy = second.get();
  EXPECT_EQ(busy.result(), http::status::service_unavailable);
  EXPECT_EQ(busy[http::field::retry_after], "5");
  EXPECT_EQ(reviews_, 1);
  gate_.cancel();
  ioc_.run();
  EXPECT_EQ(first.get().result(), http::status::unauthorized);
  EXPECT_EQ(post("/api/v1/kube-bench?node=n", "[]", "garbage").result(),
            http::status::unauthorized);
  EXPECT_EQ(reviews_, 2);
}

// Verifies that the same report posted again (a client retrying after a timeout) is answered
// 202 "duplicate" without shipping its checks twice; another node's identical body, or a changed
// body, is a new report.
TEST_F(IngestTest, RepeatedReportIsNotShippedTwice) {
  make({});
  const std::string report = read("result.json");
  const auto first = post("/api/v1/kube-bench?node=wk1&target=node", report);
  ASSERT_EQ(first.result(), http::status::accepted) << first.body();
  const auto checks = submitted_.size();
  ASSERT_GT(checks, 0u);
  const auto again = post("/api/v1/kube-bench?node=wk1&target=node", report);
  ASSERT_EQ(again.result(), http::status::accepted);
  EXPECT_EQ(body(again)["duplicate"], true);
  EXPECT_EQ(body(again)["accepted"], body(first)["accepted"]);
  EXPECT_EQ(submitted_.size(), checks);
  ASSERT_EQ(post("/api/v1/kube-bench?node=wk2&target=node", report).result(),
            http::status::accepted);
  EXPECT_EQ(submitted_.size(), 2 * checks);
  ASSERT_EQ(post("/api/v1/kube-bench?node=wk1&target=node", report + "\n").result(),
            http::status::accepted);
  EXPECT_EQ(submitted_.size(), 3 * checks);
}

// Verifies that a report refused for lack of room is not remembered: its retry is shipped.
TEST_F(IngestTest, RefusedReportIsShippedOnRetry) {
  make({});
  next_ = pipeline::admission::full;
  EXPECT_EQ(post("/api/v1/kube-bench?node=wk1", read("result.json")).result(),
            http::status::too_many_requests);
  next_ = pipeline::admission::accepted;
  const auto retry = post("/api/v1/kube-bench?node=wk1", read("result.json"));
  EXPECT_EQ(retry.result(), http::status::accepted);
  EXPECT_FALSE(body(retry).contains("duplicate"));
  EXPECT_FALSE(submitted_.empty());
}

// Verifies that a report over the check limit is 413 (counted before any record is built), not
// 400, and nothing is submitted.
TEST_F(IngestTest, ReportOverTheCheckLimitIs413) {
  ingest_options o;
  o.parse.max_checks = 2;
  make(o);
  const auto res = post("/api/v1/kube-bench?node=wk1", read("result.json"));  // 3 checks
  EXPECT_EQ(res.result(), http::status::payload_too_large) << res.body();
  EXPECT_TRUE(submitted_.empty());
}

// Verifies that TokenReview results are cached (errors are not).
TEST_F(IngestTest, ReviewsAreCached) {
  make({});
  post("/api/v1/kube-bench?node=n", "[]", "good");
  post("/api/v1/kube-bench?node=n", "[]", "good");
  post("/api/v1/kube-bench?node=n", "[]", "garbage");
  post("/api/v1/kube-bench?node=n", "[]", "garbage");
  post("/api/v1/kube-bench?node=n", "[]", "down");
  post("/api/v1/kube-bench?node=n", "[]", "down");
  EXPECT_EQ(reviews_, 4);
}

// Verifies static token auth and mode none.
TEST_F(IngestTest, StaticTokenAndNone) {
  ingest_options o;
  o.mode = auth_mode::static_token;
  o.static_token = "s3cret";
  make(o);
  EXPECT_EQ(post("/api/v1/kube-bench?node=n", "[]", "s3cret").result(), http::status::accepted);
  EXPECT_EQ(post("/api/v1/kube-bench?node=n", "[]", "s3cre").result(), http::status::unauthorized);
  EXPECT_EQ(post("/api/v1/kube-bench?node=n", "[]", "").result(), http::status::unauthorized);
  o.mode = auth_mode::none;
  make(o);
  EXPECT_EQ(post("/api/v1/kube-bench?node=n", "[]", "").result(), http::status::accepted);
}

// Verifies 400 with the byte offset for malformed JSON, 415, and bad parameters.
TEST_F(IngestTest, BadRequests) {
  make({});
  auto res = post("/api/v1/kube-bench?node=n", R"({"Controls":[}])");
  ASSERT_EQ(res.result(), http::status::bad_request);
  EXPECT_EQ(body(res)["offset"], 13);
  EXPECT_NE(body(res)["error"].get<std::string>().find("at byte 13"), std::string::npos);
  EXPECT_EQ(post("/api/v1/kube-bench?node=n", "[]", "good", "application/xml").result(),
            http::status::unsupported_media_type);
  EXPECT_EQ(post("/api/v1/kube-bench?node=%zz", "[]").result(), http::status::bad_request);
  EXPECT_EQ(post("/api/v1/kube-bench?node=a%0Ab", "[]").result(), http::status::bad_request);
  EXPECT_EQ(post("/api/v1/kube-bench?node=n", "").result(), http::status::bad_request);
  EXPECT_EQ(post("/api/v1/kube-bench?node=n", std::string(1000, '[')).result(),
            http::status::bad_request);
  EXPECT_TRUE(submitted_.empty());
  EXPECT_EQ(gauges_.pairs(), 0u);
}

// Verifies text/plain reports and their unparsed lines.
TEST_F(IngestTest, TextReport) {
  make({});
  const auto res = post("/api/v1/kube-bench?node=kind", read("Expected_output.data"), "good",
                        "text/plain; charset=utf-8");
  ASSERT_EQ(res.result(), http::status::accepted) << res.body();
  EXPECT_EQ(body(res)["accepted"], 123);
  EXPECT_FALSE(body(res).contains("unparsedLines"));
}

// Verifies 429 (Retry-After) when the pipeline is full, 503 when it is closed and 413 when a
// queue could never hold the report; nothing is taken and the gauges keep the previous report.
TEST_F(IngestTest, PipelineFull) {
  make({});
  next_ = pipeline::admission::full;
  auto res = post("/api/v1/kube-bench?node=n", read("result.json"));
  EXPECT_EQ(res.result(), http::status::too_many_requests);
  EXPECT_EQ(res[http::field::retry_after], "5");
  next_ = pipeline::admission::closed;
  EXPECT_EQ(post("/api/v1/kube-bench?node=n", read("result.json")).result(),
            http::status::service_unavailable);
  next_ = pipeline::admission::too_large;
  EXPECT_EQ(post("/api/v1/kube-bench?node=n", read("result.json")).result(),
            http::status::payload_too_large);
  EXPECT_EQ(gauges_.pairs(), 0u);
  EXPECT_NE(
      metrics_.serialize().find("event_exporter_kube_bench_ingest_requests_total{code=\"429\"} 1"),
      std::string::npos);
}

// Verifies query parameter decoding.
TEST(KubeBenchQuery, Decodes) {
  EXPECT_EQ(query_param("/p?a=1&node=x%2Fy+z", "node"), "x/y z");
  EXPECT_EQ(query_param("/p?nodes=1", "node"), "");
  EXPECT_EQ(query_param("/p", "node"), "");
  EXPECT_EQ(query_param("/p?node=%4", "node"), std::nullopt);
}

}  // namespace
}  // namespace ke::kubebench
