// One Beast HTTP server (optionally TLS / basic auth from an exporter-toolkit web config):
// /metrics, /-/healthy, /-/ready, and routes other components register (kube-bench ingest).
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "core/asio.hpp"
#include "core/diagnostic.hpp"

namespace ke::server {

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;
// Handlers run on the io_context and must not block.
using handler = std::function<net::awaitable<response>(const request&)>;

struct options {
  std::string address = ":2112";  // -metrics-address; ":2112" means all interfaces
  std::string web_config_file;    // -metrics-tls-config (exporter-toolkit format), "" = plain HTTP
  std::size_t max_body_bytes = 8 << 20;
  std::chrono::seconds read_timeout{30};
};

class http_server {
 public:
  // Validates options (bad address or web config -> error diagnostics naming the flag/key).
  http_server(net::any_io_executor ex, options opt, diagnostics& problems);
  ~http_server();

  // Exact-path routes; unknown paths give 404, wrong method 405.
  void add_route(std::string method_and_path, handler h);  // e.g. "GET /metrics"
  void set_ready(bool ready);  // /-/ready answers 200 only when true; /-/healthy always 200

  // Binds and starts accepting; returns the bound port (useful with port 0 in tests).
  unsigned short start();
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace ke::server
