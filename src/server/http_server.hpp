// One Beast HTTP server (optionally TLS / basic auth from an exporter-toolkit web config):
// /metrics, /-/healthy, /-/ready, and routes other components register (kube-bench ingest).
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/asio.hpp"
#include "core/diagnostic.hpp"
#include "server/web_config.hpp"

namespace ke::server {

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;
// Handlers run on the io_context and must not block. An exception thrown by a handler becomes a
// 500 response (and an error log line). The request outlives the returned awaitable.
using handler = std::function<net::awaitable<response>(const request&)>;

// Per-route settings (add_route's third argument).
struct route_options {
  // The route reads request bodies up to options.max_body_bytes; every other route takes at most
  // options.max_small_body_bytes, so a client cannot make the server hold a large body for a
  // route that ignores it.
  bool accepts_body = false;
  // Runs once the request header is read, before the body is (and before 100 Continue is sent):
  // a response refuses the request; it is sent with Connection: close and the body is never
  // read. The request passed has no body yet.
  std::function<net::awaitable<std::optional<response>>(const request&)> authorize;
};

struct options {
  // -metrics-address, in Go's forms: ":2112" (all interfaces), "127.0.0.1:0", "[::1]:9000",
  // "localhost:2112" (resolved once at start(); the first address is used, IPv4 preferred).
  std::string address = ":2112";
  std::string web_config_file;  // -metrics-tls-config (exporter-toolkit format), "" = plain HTTP
  // TLS without a web config file (e.g. ingest.tls certFile/keyFile); ignored when
  // web_config_file is set.
  std::optional<tls_server_config> tls;
  // TLS certificate, key and client CA files are re-read when their modification time or size
  // changes (a renewed certificate); checked on accept, at most this often.
  std::chrono::milliseconds tls_reload_check{std::chrono::seconds(10)};
  // What the address is called in diagnostics and errors (the flag or config key).
  std::string address_name = "-metrics-address";
  std::size_t max_body_bytes = 8 << 20;  // larger request bodies get 413 (accepts_body routes)
  std::size_t max_small_body_bytes = 4 << 10;  // the body limit of every other route
  // Concurrent connections; one more is closed right after accept (counted, logged rate-limited).
  std::size_t max_connections = 64;
  // Request bodies held at once, in bytes (each reserves its Content-Length, or the route's limit
  // when chunked, from header to response): a request that does not fit gets 503 with
  // Retry-After before its body is read. With max_connections this bounds the server's memory:
  // about max_connections * (max_header_bytes + 16 KiB of buffers) + this.
  std::size_t max_body_bytes_in_flight = 32 << 20;
  // Basic-auth passwords waiting for bcrypt (which runs on its own thread, never the io
  // thread); beyond this a request gets 503 with Retry-After.
  std::size_t max_pending_password_checks = 8;
  std::size_t max_header_bytes = 64 << 10;  // larger request headers get 431
  // Deadline for reading one request (header and body; also the keep-alive idle time) and for
  // writing one response. Slow clients are disconnected.
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
};

class http_server {
 public:
  // Validates options (bad address or web config -> error diagnostics naming the flag/key).
  http_server(net::any_io_executor ex, options opt, diagnostics& problems);
  ~http_server();  // stop()s
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Exact-path routes (the query string is ignored); unknown paths give 404, wrong method 405 with
  // Allow. A GET route also answers HEAD. Adding a route twice replaces it. Call before start().
  // Built in: GET / (landing page), GET /-/healthy, GET /-/ready. Throws std::invalid_argument
  // unless the form is "METHOD /path".
  void add_route(std::string method_and_path, handler h,
                 route_options ro = {});  // e.g. "GET /metrics"
  // /-/ready answers 200 only when true (503 before); /-/healthy always 200. Any thread.
  void set_ready(bool ready);
  // While ready, a non-empty answer of `failure` (asked on each /-/ready, on the io thread) turns
  // /-/ready into 503 with that text: a part that can no longer work (a dead sender).
  void set_failure_check(std::function<std::string()> failure);

  // Binds and starts accepting; returns the bound port (useful with port 0 in tests). Throws
  // std::system_error when the address cannot be resolved or bound, std::logic_error when the
  // constructor reported errors.
  unsigned short start();
  // Closes the listener and every open connection (Boost 1.74 has no per-operation
  // cancellation). Safe from any thread; the work runs on the server's executor. Idempotent.
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace ke::server
