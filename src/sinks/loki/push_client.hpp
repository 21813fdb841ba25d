// One Loki push over the shared HTTP client: adds the receiver's headers, tenant and
// credentials, and classifies Loki's answer the way promtail and Alloy do (retry 429, 5xx and
// transport errors; never retry 400). Credentials from files are re-read every minute so that
// rotated tokens are picked up. Header values are never logged.
#pragma once
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "core/asio.hpp"
#include "core/http_client.hpp"
#include "sinks/loki/encoder.hpp"

namespace ke::sinks::loki {

struct push_outcome {
  enum class kind {
    ok,            // 2xx
    retry,         // 408, 429, 5xx, transport error: send again after a backoff
    auth,          // 401, 403: retried, but logged as errors (credentials or tenant are wrong)
    bad_request,   // 400: Loki stored the valid part; never retried
    too_large,     // 413: the body is too large for Loki (or a proxy in front); split it
    client_error,  // any other status: not retried
  };
  kind what = kind::retry;
  unsigned status = 0;  // HTTP status, 0 for transport errors
  std::string detail;   // transport error text, or the first 1024 bytes of the error body
  std::optional<std::chrono::milliseconds> retry_after;  // from Retry-After (429/503)
  std::size_t rejected = 0;  // 400: entries Loki reports ignored ("total ignored: N"), 0 unknown

  // Label for the batches_total{code} metric: the status, or "error".
  std::string code() const { return status == 0 ? "error" : std::to_string(status); }
};

// Parses a Retry-After value: delta-seconds or an HTTP-date (relative to now).
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view v, std::chrono::system_clock::time_point now);
// Sums "total ignored: N out of M" in a Loki 400 body (0 when absent).
std::size_t parse_ignored_entries(std::string_view body);
// Maps an HTTP status (0 = transport error) to what the sink does with the batch.
push_outcome::kind classify_status(unsigned status);

class push_client {
 public:
  // target: the URL's path and query (the push endpoint). tls_context: for https URLs.
  push_client(net::any_io_executor ex, const url& u, std::shared_ptr<net::ssl::context> tls_context,
              const config::loki_sink& cfg);

  // Sends one push and waits for the answer (at most cfg.timeout).
  net::awaitable<push_outcome> push(const payload& p);
  // Aborts a running push (it returns a transport error) and closes the connection.
  void close() { http_.close(); }

  http_client& http() { return http_; }

  // How often passwordFile / bearerTokenFile are read again.
  static constexpr std::chrono::seconds reread_period{60};

 private:
  void refresh_credentials(bool force);

  http_client http_;
  std::string target_;
  config::loki_sink cfg_;
  std::string authorization_;  // "Basic ..." / "Bearer ..." / ""
  std::chrono::steady_clock::time_point read_at_{};
};

}  // namespace ke::sinks::loki
