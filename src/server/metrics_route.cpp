#include "server/metrics_route.hpp"

namespace ke::server {

namespace {

// A coroutine with its arguments in its own frame (no lambda captures to outlive).
net::awaitable<response> serve_metrics(const ke::metrics* metrics) {
  response res{http::status::ok, 11};
  constexpr auto type = ke::metrics::content_type;
  res.set(http::field::content_type, beast::string_view(type.data(), type.size()));
  res.body() = metrics->serialize();
  co_return res;
}

}  // namespace

void add_metrics_route(http_server& server, const ke::metrics& metrics) {
  server.add_route("GET /metrics", [m = &metrics](const request&) { return serve_metrics(m); });
}

}  // namespace ke::server
