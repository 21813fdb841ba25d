// GET /metrics on the http_server: the Prometheus text exposition of a ke::metrics.
#pragma once
#include "core/metrics.hpp"
#include "server/http_server.hpp"

namespace ke::server {

// Registers "GET /metrics" (and so HEAD) answering metrics.serialize() with Content-Type
// metrics::content_type. `metrics` must outlive the server.
void add_metrics_route(http_server& server, const ke::metrics& metrics);

}  // namespace ke::server
