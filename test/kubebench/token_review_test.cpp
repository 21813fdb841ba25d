#include "kubebench/token_review.hpp"

#include <gtest/gtest.h>

#include "kubebench/post_bench.hpp"

namespace ke::kubebench {
namespace {

// Verifies that an authenticated TokenReview yields the user and the bound node.
TEST(TokenReview, Authenticated) {
  const auto r = parse_token_review(
      201, R"({"kind":"TokenReview","status":{"authenticated":true,"user":{"username":)"
           R"("system:serviceaccount:kube-bench:kube-bench","extra":{)"
           R"("authentication.kubernetes.io/node-name":["wk1-k8s"]}}}})");
  EXPECT_EQ(r.result, review_result::outcome::authenticated);
  EXPECT_EQ(r.username, "system:serviceaccount:kube-bench:kube-bench");
  EXPECT_EQ(r.node_name, "wk1-k8s");
}

// Verifies that a rejected token is "rejected" with the API server's reason.
TEST(TokenReview, Rejected) {
  const auto r = parse_token_review(
      201, R"({"status":{"authenticated":false,"error":"invalid bearer token"}})");
  EXPECT_EQ(r.result, review_result::outcome::rejected);
  EXPECT_EQ(r.error, "invalid bearer token");
  EXPECT_EQ(parse_token_review(201, R"({"status":{}})").result, review_result::outcome::rejected);
}

// Verifies that API errors (e.g. no RBAC to create tokenreviews) are errors, not rejections.
TEST(TokenReview, ApiErrors) {
  const auto r = parse_token_review(
      403,
      R"({"kind":"Status","status":"Failure","message":"tokenreviews is forbidden","code":403})");
  EXPECT_EQ(r.result, review_result::outcome::error);
  EXPECT_NE(r.error.find("tokenreviews is forbidden"), std::string::npos);
  EXPECT_EQ(parse_token_review(200, "not json").result, review_result::outcome::error);
}

// Verifies the post-bench URL: the endpoint path is added to a bare origin, parameters encoded.
TEST(PostBench, Url) {
  post_bench_options o;
  o.url = "http://exporter:8080";
  o.node = "wk1";
  o.target = "node";
  o.syntax = "kube-bench run --targets=node";
  EXPECT_EQ(post_bench_url(o),
            "http://exporter:8080/api/v1/kube-bench?node=wk1&target=node&syntax=kube-bench%20run%"
            "20--targets%3Dnode");
  o.url = "https://e/";
  o.syntax.clear();
  EXPECT_EQ(post_bench_url(o), "https://e/api/v1/kube-bench?node=wk1&target=node");
  o.url = "http://e/custom/path";
  EXPECT_EQ(post_bench_url(o), "http://e/custom/path?node=wk1&target=node");
}

}  // namespace
}  // namespace ke::kubebench
