// A small Kubernetes API client: GET requests and watch streams over the core HTTP client, with
// the Kubernetes client rules client-go applies:
// - authentication from credentials (token, token file, exec plugin, client certificate);
// - TLS from the rest_config (CA bundle, client certificate, insecure-skip-tls-verify,
//   tls-server-name); SNI and host-name verification are on (core/http_client.hpp);
// - a token bucket (kubeQPS/kubeBurst) for non-watch requests only: watches are not rate
//   limited on the client (client-go rest/request.go);
// - 429, and any 5xx carrying Retry-After, are retried after Retry-After seconds, at most
//   `max_tries` tries in all (client-go maxRetries 10); a plain-text 429 body (API priority
//   and fairness) is fine;
// - a 401 drops the credential (token file re-read / exec plugin re-run) and the request is
//   tried once more with the fresh one;
// - keep-alive connections, one request at a time each, pooled (at most max_connections).
//
// Errors come back by value in api_response; this class logs only retries (warn, rate limited).
// Callers log failures with describe() and count them.
//
// Threading: everything on one executor's thread. Lifetime: the client must outlive every
// get()/watch() it runs; to shut down, close_all() and let the io_context finish them first.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "kube/credentials.hpp"
#include "kube/kube_config.hpp"
#include "kube/token_bucket.hpp"

namespace ke::kube {

// A metav1.Status, or what could be made of a non-Status error body.
struct api_status {
  int code = 0;                 // HTTP status (Status.code, else the response status)
  std::string reason;           // Expired, Gone, Forbidden, TooManyRequests, ...
  std::string message;          // Status.message, or the (trimmed) text body
  std::string continue_token;   // Status.metadata.continue (410 on an expired continue)
  int retry_after_seconds = 0;  // Status.details.retryAfterSeconds
};

// Parses a Status object (JSON) or falls back to the text. http_status fills code if missing.
api_status parse_status(const nlohmann::json& obj, int http_status);
api_status parse_status_body(std::string_view body, int http_status);

struct api_response {
  boost::system::error_code error;  // transport failure (connect, TLS, reset, timeout, abort)
  std::string decode_error;         // watch: the stream was not a valid WatchEvent stream
  int status = 0;                   // HTTP status (0 on transport failure)
  std::string body;                 // GET: the body; watch: the error body (non-2xx), if any
  std::optional<std::chrono::seconds> retry_after;
  std::uint64_t events = 0;      // watch: WatchEvents handed to the callback; list: items
  std::string resource_version;  // list: metadata.resourceVersion
  std::string continue_token;    // list: metadata.continue
  bool stopped = false;          // watch: the callback asked to stop
  int tries = 0;                 // requests sent for this call

  bool ok() const { return !error && decode_error.empty() && status >= 200 && status < 300; }
  api_status status_object() const { return parse_status_body(body, status); }
  // One line for logs: "HTTP 410 Expired: too old resource version" / "connection refused".
  std::string describe() const;
};

class api_client {
 public:
  struct options {
    double qps = 5;                                       // kubeQPS
    int burst = 10;                                       // kubeBurst
    std::chrono::milliseconds request_timeout{60000};     // whole non-watch request
    std::chrono::milliseconds watch_open_timeout{60000};  // until the watch response header
    int max_tries = 10;
    std::chrono::seconds max_retry_after{60};
    std::size_t max_connections = 8;
    std::size_t max_event_bytes = 16u << 20;  // largest single WatchEvent accepted
  };

  // Builds the TLS context now (CA, client certificate); on failure returns nullptr and sets
  // *error.
  static std::unique_ptr<api_client> create(net::any_io_executor ex, const rest_config& cfg,
                                            clock& c, options opt, std::string* error);
  ~api_client();
  api_client(const api_client&) = delete;
  api_client& operator=(const api_client&) = delete;

  struct get_options {
    bool rate_limited = true;
    // When set: if the token bucket would make this request wait longer, it fails at once
    // with net::error::would_block instead of waiting (enrichment lookups use this).
    std::optional<clock::duration> max_rate_wait;
    int max_tries = 0;  // 0 = options::max_tries
  };
  net::awaitable<api_response> get(std::string target, get_options go);
  net::awaitable<api_response> get(std::string target) { return get(std::move(target), {}); }

  // A request with a JSON body (POST, PUT): rate limited and retried like get().
  net::awaitable<api_response> send(http::verb method, std::string target, std::string body);

  // Opens a watch (target must include watch=1) and hands each WatchEvent, parsed, to
  // on_event until the stream ends or on_event returns false. Not rate limited; the opening
  // request is retried like get(). idle_timeout bounds each read once the stream is open.
  // on_event may suspend: reading waits for it (backpressure reaches the server through TCP).
  using event_callback = std::function<net::awaitable<bool>(nlohmann::json)>;
  net::awaitable<api_response> watch(std::string target, std::chrono::milliseconds idle_timeout,
                                     event_callback on_event);

  // A list request (rate limited and retried like get()) whose response is read as a stream:
  // each element of "items" is parsed and handed to on_item as soon as its bytes have arrived,
  // so neither the body nor a DOM of it is ever held whole, whatever the list's size (the
  // server may ignore `limit`). on_item may suspend, as in watch(). The list's
  // metadata.resourceVersion and continue come back in the response; a body that is not a
  // complete list sets decode_error. Each read is bounded by request_timeout.
  net::awaitable<api_response> list(std::string target, event_callback on_item);

  // Aborts every running request and makes new ones fail with operation_aborted until
  // reopen(). Pending token-bucket waits and Retry-After sleeps end through the clock.
  void close_all();
  void reopen() { closed_ = false; }

  token_bucket& limiter() { return bucket_; }
  credentials& creds() { return creds_; }
  const url& server() const { return origin_; }
  std::uint64_t requests_sent() const { return requests_sent_; }

 private:
  struct pooled;
  // A streamed response: what it holds and where its objects go.
  struct stream {
    enum class kind { none, watch, list };
    kind what = kind::none;
    const event_callback* on_object = nullptr;
  };
  class streamer;
  api_client(net::any_io_executor ex, const rest_config& cfg, url origin, clock& c, options opt);
  bool rebuild_tls(std::string* error);
  net::awaitable<std::unique_ptr<http_client>> borrow();
  void give_back(std::unique_ptr<http_client> c, std::uint64_t generation);
  net::awaitable<api_response> exchange(http::verb method, const std::string& target,
                                        const std::string& body, bool rate_limited,
                                        const get_options& go, stream streamed,
                                        std::chrono::milliseconds idle_timeout);

  net::any_io_executor ex_;
  rest_config cfg_;
  url origin_;
  clock& clock_;
  options opt_;
  token_bucket bucket_;
  credentials creds_;
  std::shared_ptr<net::ssl::context> tls_;
  std::uint64_t tls_generation_ = 0;  // credentials' generation the context was built from
  std::vector<std::pair<std::unique_ptr<http_client>, std::uint64_t>> idle_;
  std::set<http_client*> busy_;
  net::steady_timer slot_free_;
  bool closed_ = false;
  std::uint64_t requests_sent_ = 0;
  std::chrono::steady_clock::time_point last_retry_log_{};
  std::uint64_t retries_unlogged_ = 0;
};

// Percent-encodes a path segment or query parameter value.
std::string query_escape(std::string_view s);

}  // namespace ke::kube
