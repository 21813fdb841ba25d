// POST /api/v1/kube-bench: the kube-bench ingest endpoint.
//
// Body: `kube-bench run --json` output (Content-Type application/json, */*+json or none), or
// the plain-text output (text/plain, best effort). Node, target and syntax come from the query
// parameters node, target, syntax or the headers X-Kube-Bench-Node, X-Kube-Bench-Target,
// X-Kube-Bench-Syntax; the node falls back to the node the caller's token is bound to (a pod-bound
// ServiceAccount token), the target to the report's node_type(s).
//
// Responses (JSON bodies): 202 {accepted, node, target, syntax, totals, totalsSource,
// unparsedLines?}; 400 {error, offset} for a malformed or invalid report; 401 missing/invalid
// credentials; 403 a ServiceAccount that is not allowed; 413 over maxBodyBytes (from the HTTP
// server); 415 an unknown Content-Type; 429 (Retry-After) when a receiver queue lacks room for
// the whole report (nothing is taken: all checks or none); 413 also when a receiver's whole
// queue (queue.maxRecords) is smaller than the report; 503 while shutting down or when the
// TokenReview could not be made.
//
// Threading: handle() runs on the io_context thread, like the dispatcher it feeds.
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/asio.hpp"
#include "core/metrics.hpp"
#include "core/record.hpp"
#include "kubebench/gauges.hpp"
#include "kubebench/report.hpp"
#include "pipeline/dispatcher.hpp"
#include "server/http_server.hpp"

namespace ke::kubebench {

enum class auth_mode { token_review, static_token, none };

struct review_result {
  enum class outcome { authenticated, rejected, error };
  outcome result = outcome::error;
  std::string username;   // e.g. system:serviceaccount:kube-bench:kube-bench
  std::string node_name;  // user.extra["authentication.kubernetes.io/node-name"], if any
  std::string error;      // why (for logs and the response; never contains the token)
};
// Validates a bearer token (a TokenReview). The token is a secret: never log it.
using token_review_fn = std::function<net::awaitable<review_result>(std::string token)>;

// Hands all records of one report to the pipeline, all or nothing.
using submit_fn = std::function<pipeline::admission(const std::vector<record_ptr>&)>;

struct ingest_options {
  auth_mode mode = auth_mode::token_review;
  std::vector<std::string> allowed_service_accounts;  // "namespace:name" (tokenReview)
  std::string static_token;                           // staticToken (secret)
  parse_options parse;                                // stream labels, limits
  std::chrono::seconds retry_after{5};                // Retry-After on 429/503
  std::chrono::seconds review_cache_ttl{60};          // accepted/denied TokenReviews are cached
  std::size_t review_cache_max = 4096;
  // TokenReviews waiting or running at once (they queue for the API client's rate limit); a
  // request beyond gets 503 + Retry-After at once, so a flood of made-up tokens cannot make real
  // posts wait behind it without bound.
  std::size_t max_pending_reviews = 8;
  // Accepted reports are remembered by a digest of node, target, syntax, format and body: the
  // same report posted again within this time (a client retrying after a timeout) is answered
  // 202 with the first answer and "duplicate": true, and not shipped again. At most
  // accepted_memory_max entries (about 300 bytes each).
  std::chrono::seconds accepted_memory_ttl{600};
  std::size_t accepted_memory_max = 1024;
};

class ingest {
 public:
  static constexpr const char* path = "/api/v1/kube-bench";

  // gauges and metrics must outlive this object. review is required for token_review mode.
  ingest(ingest_options opt, submit_fn submit, gauges& g, ke::metrics& m,
         token_review_fn review = {});
  ingest(const ingest&) = delete;
  ingest& operator=(const ingest&) = delete;

  net::awaitable<server::response> handle(const server::request& req);
  // Registers POST /api/v1/kube-bench on server; this must outlive the server.
  void add_route(server::http_server& server);

  // Called after a report was accepted and the gauges updated (Pushgateway forwarding).
  std::function<void(const report&, double unix_seconds)> on_accepted;

 private:
  struct auth_outcome {
    http::status status = http::status::ok;  // ok = authorised
    std::string error;
    std::string node_name;
  };
  net::awaitable<auth_outcome> authenticate(const server::request& req);
  server::response refusal(const auth_outcome& a);
  server::response reply(http::status status, const nlohmann::json& body);

  ingest_options opt_;
  submit_fn submit_;
  gauges& gauges_;
  token_review_fn review_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Counter& checks_;
  std::uint64_t next_request_ = 0;
  std::size_t pending_reviews_ = 0;

  struct cached_review {
    review_result result;
    std::chrono::steady_clock::time_point expires;
  };
  std::unordered_map<std::string, cached_review> review_cache_;  // key: SHA-256 of the token
  struct accepted_report {
    nlohmann::json answer;  // the 202 body, without unparsedLines
    std::chrono::steady_clock::time_point expires;
  };
  std::unordered_map<std::string, accepted_report> accepted_;  // key: SHA-256 (see options)
};

// Percent-decodes a query parameter value ('+' is a space). nullopt when malformed.
std::optional<std::string> query_param(std::string_view target, std::string_view name);

}  // namespace ke::kubebench
