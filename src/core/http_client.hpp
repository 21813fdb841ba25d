// A small asynchronous HTTP/1.1 client on the io_context (Beast coroutines), for http and https.
// It keeps one keep-alive connection to one origin (scheme, host, port) and sends one request at
// a time on it. Used by the Loki sink and meant for the Kubernetes API client too.
//
// Contract:
// - Threading: one client is used from one coroutine at a time on its executor's thread; a second
//   send() while one is running fails at once with net::error::in_progress. close() may be called
//   from any coroutine on the same thread (it aborts the running exchange).
// - Connection reuse: the connection stays open after a response unless the response had a 5xx
//   status, said `Connection: close` (or was HTTP/1.0 without keep-alive), the request said
//   `Connection: close`, or any error happened. A request that fails on a *reused* connection
//   before a single response byte arrived (the server closed the idle connection) is sent once
//   more on a fresh connection, as Go's and curl's clients do; the request must therefore be
//   safe to repeat (Loki pushes are: Loki drops exact duplicates).
// - Timeouts: request::timeout bounds the whole exchange (resolve, connect, TLS handshake, write,
//   reading the response) and yields beast::error::timeout. For streamed bodies it bounds
//   everything up to the response header; after that request::idle_timeout bounds each read.
// - Errors are returned by value (http_result::error), never thrown, except std::bad_alloc.
// - TLS: server certificates are verified against the system store or tls.caFile, and the host
//   name (tls.serverName if set, else the URL host; IP literals are checked against IP SANs) is
//   verified, unless tls.insecureSkipVerify. SNI is sent for DNS names. tls.certFile/keyFile
//   give a client certificate.
// - The client adds Host, User-Agent (unless set) and Content-Length. Header values are never
//   logged by the client (they may hold secrets); it logs nothing at all.
#pragma once
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/asio.hpp"
#include "core/diagnostic.hpp"
#include "core/tls_options.hpp"

namespace ke {

// An absolute http(s) URL split for the client. IPv6 literals are written in brackets
// ("http://[::1]:3100/x"); host holds them without brackets.
struct url {
  std::string scheme;        // "http" or "https" (lower case)
  std::string host;          // DNS name or IP literal, without brackets
  std::uint16_t port = 0;    // explicit, else 80 / 443
  std::string target = "/";  // path and query ("/" when the URL has none); no fragment

  bool https() const { return scheme == "https"; }
  bool ipv6_literal() const { return host.find(':') != std::string::npos; }
  // The Host header value: host (bracketed if IPv6) plus ":port" unless it is the default.
  std::string host_header() const;
  // scheme://host[:port] (for messages; no path, no credentials).
  std::string origin() const;

  // Parses "scheme://[userinfo@]host[:port][/path][?query][#fragment]". userinfo is rejected
  // (credentials belong in basicAuth, not in URLs that end up in logs). Returns nullopt and sets
  // *error on failure.
  static std::optional<url> parse(std::string_view text, std::string* error = nullptr);
};

using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

struct http_result {
  boost::system::error_code error;  // transport error (timeout, reset, TLS...), else success
  http_response response;           // valid when !error
  bool ok() const { return !error; }
};

class http_client {
 public:
  struct options {
    // Bytes of response body kept at most (larger bodies fail with http::error::body_limit).
    std::uint64_t max_response_body = 16ull << 20;
    std::string user_agent = "kube-event-exporter";
  };

  // Builds the TLS context from tls settings. Reads caFile/certFile/keyFile now (call at
  // startup). On a problem adds an error diagnostic under `path` (e.g. "receivers[0].loki.tls")
  // naming the key, and returns nullptr.
  static std::shared_ptr<net::ssl::context> make_tls_context(const tls_options& tls,
                                                             const std::string& path,
                                                             diagnostics& problems);

  // origin: the server (its target is ignored; requests carry their own). tls_context: from
  // make_tls_context, required for https (without it every https send fails with
  // net::error::invalid_argument), ignored for http. tls: serverName and insecureSkipVerify.
  http_client(net::any_io_executor ex, url origin, std::shared_ptr<net::ssl::context> tls_context,
              tls_options tls);
  http_client(net::any_io_executor ex, url origin, std::shared_ptr<net::ssl::context> tls_context,
              tls_options tls, options opts);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  const url& origin() const { return origin_; }

  // Sends req (method, target, headers and body as given) and reads the whole response.
  net::awaitable<http_result> send(http_request req, std::chrono::milliseconds timeout);

  // Like send, but the response body is handed to on_body in pieces as it arrives and not kept
  // (for watch streams and streamed lists). on_body may suspend: nothing more is read until it
  // returns, so a slow consumer slows the sender down (TCP flow control) instead of making
  // memory grow. on_body returning false stops reading (the connection is closed, the result is
  // success). idle_timeout bounds each read once the header has arrived (the time on_body takes
  // is not counted).
  using body_callback = std::function<net::awaitable<bool>(std::string_view)>;
  net::awaitable<http_result> send_streaming(http_request req, std::chrono::milliseconds timeout,
                                             std::chrono::milliseconds idle_timeout,
                                             body_callback on_body);

  // Closes the connection; a running exchange fails with net::error::operation_aborted.
  void close();

  // Connections opened so far (for tests and metrics).
  std::uint64_t connections_opened() const { return connections_opened_; }
  bool connected() const;

 private:
  struct connection;
  net::awaitable<http_result> run(http_request& req, std::chrono::milliseconds timeout,
                                  std::chrono::milliseconds idle_timeout,
                                  const body_callback* on_body);

  net::any_io_executor ex_;
  url origin_;
  std::shared_ptr<net::ssl::context> tls_context_;
  tls_options tls_;
  options opts_;
  std::unique_ptr<connection> conn_;
  bool busy_ = false;
  std::uint64_t connections_opened_ = 0;
  std::uint64_t generation_ = 0;  // bumped by close(), so a running exchange notices
};

}  // namespace ke
