#include "kubebench/ingest_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/base64.hpp"
#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "kube/api_client.hpp"
#include "kube/kube_config.hpp"
#include "kubebench/gauges.hpp"
#include "kubebench/ingest.hpp"
#include "kubebench/token_review.hpp"
#include "server/http_server.hpp"

namespace ke::kubebench {

namespace {

std::string base64url(std::string_view s) {
  std::string b = ke::base64_encode(s);
  for (auto& ch : b) {
    if (ch == '+') {
      ch = '-';
    } else if (ch == '/') {
      ch = '_';
    }
  }
  return b.empty() ? "=" : b;
}

// PUTs one report's gauges to the Pushgateway group job/<job>/node/target (replacing it).
net::awaitable<void> push(net::any_io_executor ex, url origin, std::string path, std::string body,
                          prometheus::Counter* failures) {
  std::shared_ptr<net::ssl::context> tls;
  if (origin.https()) {
    diagnostics ignored;
    tls = http_client::make_tls_context({}, "kubeBench.pushgateway", ignored);
  }
  http_client client(ex, origin, tls, {});
  http_request req{http::verb::put, path, 11};
  req.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  req.body() = std::move(body);
  req.prepare_payload();
  auto res = co_await client.send(std::move(req), std::chrono::seconds(10));
  if (res.error || res.response.result_int() / 100 != 2) {
    failures->Increment();
    spdlog::warn("kube-bench: Pushgateway PUT {} failed: {}", path,
                 res.error ? res.error.message()
                           : "HTTP " + std::to_string(res.response.result_int()) + ": " +
                                 res.response.body());
  }
}

// The static token (ingest.auth.tokenFile) without its trailing newline; "" when unreadable.
std::string read_token(const std::string& file) {
  std::ifstream f(file, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string token = f ? ss.str() : "";
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) {
    token.pop_back();
  }
  return token;
}

server::options server_options(const config::ingest& in, const std::string& address_flag) {
  server::options so;
  so.address = address_flag.empty() ? in.address : address_flag;
  so.address_name = address_flag.empty() ? "ingest.address" : "-ingest-address";
  so.max_body_bytes = in.max_body_bytes;
  so.read_timeout = in.read_timeout;
  if (!in.tls_cert_file.empty()) {
    server::tls_server_config t;
    t.cert_file = in.tls_cert_file;
    t.key_file = in.tls_key_file;
    so.tls = t;
  }
  return so;
}

}  // namespace

void ingest_service::validate(const config::config& cfg, const std::string& address_flag,
                              diagnostics& problems) {
  const auto& in = cfg.ingest;
  switch (in.auth_mode) {
    case config::ingest_auth_mode::none:
      break;
    case config::ingest_auth_mode::static_token:
      if (read_token(in.token_file).empty()) {
        problems.push_back({diagnostic::level::error, "ingest.auth.tokenFile",
                            "cannot read a token from \"" + in.token_file + "\""});
      }
      break;
    case config::ingest_auth_mode::token_review:
      if (in.allowed_service_accounts.empty()) {
        problems.push_back({diagnostic::level::error, "ingest.auth.allowedServiceAccounts",
                            "tokenReview (the default) needs at least one namespace:name"});
      }
      break;
  }
  if (const auto& pg = cfg.kube_bench.pushgateway; !pg.url.empty()) {
    std::string err;
    if (!url::parse(pg.url, &err)) {
      problems.push_back({diagnostic::level::error, "kubeBench.pushgateway.url", err});
    }
  }
  // The listener's options (address, TLS files) are checked by building it, unbound.
  net::io_context scratch;
  server::http_server check(scratch.get_executor(), server_options(in, address_flag), problems);
}

struct ingest_service::impl {
  net::any_io_executor ex;
  std::string address;
  std::unique_ptr<ke::clock> clock;
  std::unique_ptr<kube::api_client> api;
  std::unique_ptr<gauges> g;
  std::unique_ptr<ingest> handler;
  std::unique_ptr<server::http_server> server;
  bool stopped = false;
};

ingest_service::ingest_service(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
ingest_service::~ingest_service() { stop(); }

std::unique_ptr<ingest_service> ingest_service::create(
    net::any_io_executor ex, const config::config& cfg, const std::string& address_flag,
    const std::string& kubeconfig_flag, submit_fn submit, ke::metrics& m, diagnostics& problems) {
  diagnostics found;
  validate(cfg, address_flag, found);
  const bool bad = has_errors(found);
  problems.insert(problems.end(), found.begin(), found.end());
  if (bad) {
    return nullptr;
  }
  const auto& in = cfg.ingest;
  auto p = std::make_unique<impl>();
  p->ex = ex;
  p->address = address_flag.empty() ? in.address : address_flag;

  ingest_options io;
  io.allowed_service_accounts = in.allowed_service_accounts;
  io.parse.stream_labels = cfg.kube_bench.stream_labels;
  // A report must fit, all at once, in a receiver's queue: more checks than the largest
  // queue.maxRecords can never be admitted, so such a report is refused while counting, before a
  // single record is built (not after building all of them, as the pipeline's admission would).
  std::size_t largest_queue = 0;
  for (const auto& r : cfg.receivers) {
    largest_queue = std::max(largest_queue, r.queue.max_records);
  }
  io.parse.max_checks = largest_queue > 0 ? std::min(in.max_checks, largest_queue) : in.max_checks;
  switch (in.auth_mode) {
    case config::ingest_auth_mode::none:
      io.mode = auth_mode::none;
      spdlog::warn("kube-bench ingest: authentication is off (ingest.auth.mode: none)");
      break;
    case config::ingest_auth_mode::static_token: {
      io.mode = auth_mode::static_token;
      io.static_token = read_token(in.token_file);
      break;
    }
    case config::ingest_auth_mode::token_review: {
      io.mode = auth_mode::token_review;
      std::string error;
      auto rc = kube::resolve_rest_config(kubeconfig_flag, kube::kube_environment{}, &error);
      if (!rc) {
        problems.push_back({diagnostic::level::error, "ingest.auth",
                            "tokenReview needs the Kubernetes API: " + error});
        return nullptr;
      }
      p->clock = std::make_unique<ke::clock>(ex);
      kube::api_client::options ao;
      ao.max_tries = 3;
      ao.request_timeout = std::chrono::seconds(10);
      p->api = kube::api_client::create(ex, *rc, *p->clock, ao, &error);
      if (!p->api) {
        problems.push_back({diagnostic::level::error, "ingest.auth", error});
        return nullptr;
      }
      break;
    }
  }

  p->g = std::make_unique<gauges>(m.registry());
  // Pushgateway forwarding wraps the submit: a report is pushed once it was accepted.
  const auto& pg = cfg.kube_bench.pushgateway;
  std::optional<url> pg_url;
  if (!pg.url.empty()) {
    pg_url = url::parse(pg.url);  // validated above
  }
  p->handler = std::make_unique<ingest>(std::move(io), std::move(submit), *p->g, m,
                                        p->api ? make_token_reviewer(*p->api) : token_review_fn{});
  if (pg_url) {
    auto* failures = &prometheus::BuildCounter()
                          .Name(m.prefix() + "kube_bench_pushgateway_failures_total")
                          .Help("Failed pushes of kube-bench gauges to the Pushgateway")
                          .Register(m.registry())
                          .Add({});
    p->handler->on_accepted = [ex, origin = *pg_url, prefix = pg_url->target, job = pg.job,
                               failures](const report& r, double now) {
      std::string path = prefix;
      while (!path.empty() && path.back() == '/') {
        path.pop_back();
      }
      path += "/metrics/job@base64/" + base64url(job) + "/kube_bench_node_name@base64/" +
              base64url(r.node_name) + "/kube_bench_target@base64/" + base64url(r.target);
      net::co_spawn(ex, push(ex, origin, path, gauges::exposition(r, now), failures),
                    net::detached);
    };
  }

  p->server = std::make_unique<server::http_server>(std::move(ex), server_options(in, address_flag),
                                                    problems);
  if (has_errors(problems)) {
    return nullptr;
  }
  p->handler->add_route(*p->server);
  return std::unique_ptr<ingest_service>(new ingest_service(std::move(p)));
}

unsigned short ingest_service::start() {
  const auto port = impl_->server->start();
  spdlog::info("kube-bench ingest: POST {} on {} (port {})", ingest::path, impl_->address, port);
  return port;
}

void ingest_service::set_ready(bool ready) { impl_->server->set_ready(ready); }

void ingest_service::stop() {
  if (impl_ && !impl_->stopped) {
    impl_->stopped = true;
    impl_->server->stop();
    if (impl_->api) {
      impl_->api->close_all();
    }
  }
}

const std::string& ingest_service::address() const { return impl_->address; }

}  // namespace ke::kubebench
