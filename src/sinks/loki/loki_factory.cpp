// The Loki receiver's config checks (validate_loki_config, also run by check-config) and its
// factory (make_loki_sink). Split out of loki_sink.cpp; declared in loki_sink.hpp.
#include <memory>
#include <string>
#include <utility>
#include <variant>

#include "sinks/loki/loki_sink.hpp"
#include "template/layout.hpp"

namespace ke::sinks::loki {

namespace {

using std::chrono::milliseconds;

// A receiver name made safe as one directory name.
std::string dir_name(std::string_view name) {
  std::string out;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    out += ok ? c : '_';
  }
  if (out.empty() || out == "." || out == "..") {
    out = "_" + out;
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// validation

void validate_loki_config(const config::loki_sink& cfg, const std::string& path,
                          diagnostics& problems) {
  using level = diagnostic::level;
  auto error = [&](const std::string& key, std::string m) {
    problems.push_back({level::error, path + "." + key, std::move(m)});
  };
  auto warn = [&](const std::string& key, std::string m) {
    problems.push_back({level::warning, path + "." + key, std::move(m)});
  };
  if (cfg.url.empty()) {
    error("url", "required (e.g. http://loki:3100/loki/api/v1/push)");
  } else {
    std::string why;
    const auto u = url::parse(cfg.url, &why);
    if (!u) {
      error("url", why);
    } else {
      if (u->target == "/") {
        warn("url", "no path: pushing to /loki/api/v1/push");
      }
      const bool tls_set = cfg.tls.insecure_skip_verify || !cfg.tls.server_name.empty() ||
                           !cfg.tls.ca_file.empty() || !cfg.tls.cert_file.empty() ||
                           !cfg.tls.key_file.empty();
      if (!u->https() && tls_set) {
        warn("tls", "ignored: the url is http, not https");
      }
      if (u->https() && cfg.tls.insecure_skip_verify) {
        warn("tls.insecureSkipVerify", "the Loki server certificate is not verified");
      }
    }
  }
  label_rules::compile(cfg, path, problems);

  if (cfg.encoding == config::loki_encoding::protobuf && cfg.gzip) {
    warn("gzip", "applies to encoding: json only (protobuf is snappy-compressed); ignored");
  }
  if (cfg.batch_size == 0) {
    error("batchSize", "must be greater than 0");
  } else if (cfg.batch_size > max_push_bytes) {
    warn("batchSize", "capped to " + std::to_string(max_push_bytes) +
                          " bytes: Loki's default ingestion burst (6 MB) rejects bigger pushes");
  }
  if (cfg.batch_wait <= milliseconds::zero()) {
    error("batchWait", "must be greater than 0");
  }
  if (cfg.timeout <= milliseconds::zero()) {
    error("timeout", "must be greater than 0");
  }
  if (cfg.min_backoff <= milliseconds::zero()) {
    error("minBackoff", "must be greater than 0");
  }
  if (cfg.max_backoff < cfg.min_backoff) {
    error("maxBackoff", "must not be less than minBackoff");
  }
  if (cfg.max_retries < 0) {
    error("maxRetries", "must not be negative");
  }
  if (cfg.max_retry_duration < milliseconds::zero()) {
    error("maxRetryDuration", "must not be negative (0: no bound)");
  }
  if (cfg.max_line_size > max_push_bytes) {
    warn("maxLineSize", "lines are limited to " + std::to_string(max_push_bytes) +
                            " bytes anyway (the largest push Loki accepts by default)");
  }
  if (cfg.max_queued_bytes == 0) {
    error("maxQueuedBytes", "must be greater than 0");
  }
  if (!cfg.spool.dir.empty() && cfg.spool.max_bytes == 0) {
    error("spool.maxBytes", "must be greater than 0");
  }

  const auto& ba = cfg.basic_auth;
  const bool basic = !ba.username.empty() || !ba.password.empty() || !ba.password_file.empty();
  const bool bearer = !cfg.bearer_token.empty() || !cfg.bearer_token_file.empty();
  if (!ba.password.empty() && !ba.password_file.empty()) {
    error("basicAuth.passwordFile", "set either password or passwordFile, not both");
  }
  if (basic && ba.username.empty()) {
    error("basicAuth.username", "required with a password");
  }
  if (!cfg.bearer_token.empty() && !cfg.bearer_token_file.empty()) {
    error("bearerTokenFile", "set either bearerToken or bearerTokenFile, not both");
  }
  if (basic && bearer) {
    error("bearerToken", "set either basicAuth or a bearer token, not both");
  }
  for (const auto& [name, value] : cfg.headers) {
    if (beast::iequals(name, "Authorization") && (basic || bearer)) {
      warn("headers." + name, "replaced by the basicAuth / bearer token credentials");
    }
    if (beast::iequals(name, "X-Scope-OrgID") && !cfg.tenant.empty()) {
      warn("headers." + name, "replaced by tenant");
    }
    if (beast::iequals(name, "Content-Type") || beast::iequals(name, "Content-Encoding") ||
        beast::iequals(name, "Content-Length") || beast::iequals(name, "Host")) {
      warn("headers." + name, "set by the Loki client; ignored");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// factory

sink_ptr make_loki_sink(net::any_io_executor ex, const config::receiver& r, ke::metrics& m,
                        diagnostics& problems) {
  const auto* cfg = std::get_if<config::loki_sink>(&r.sink);
  const std::string path = r.path + ".loki";
  if (cfg == nullptr) {
    problems.push_back({diagnostic::level::error, r.path, "not a loki receiver"});
    return nullptr;
  }
  diagnostics found;
  validate_loki_config(*cfg, path, found);
  const bool bad = has_errors(found);
  problems.insert(problems.end(), found.begin(), found.end());
  if (bad) {
    return nullptr;
  }
  diagnostics again;  // compile's diagnostics were already reported by validate
  auto rules = label_rules::compile(*cfg, path, again);
  auto endpoint = *url::parse(cfg->url);
  if (endpoint.target == "/") {
    endpoint.target = "/loki/api/v1/push";
  }
  std::shared_ptr<net::ssl::context> tls;
  if (endpoint.https()) {
    tls = http_client::make_tls_context(cfg->tls, path + ".tls", problems);
    if (!tls) {
      return nullptr;
    }
  }
  std::unique_ptr<const tmpl::layout> layout;
  if (cfg->layout && !cfg->layout->is_null()) {
    layout = tmpl::layout::compile(*cfg->layout, path + ".layout", problems);
    if (!layout) {
      return nullptr;
    }
  }
  std::unique_ptr<spool> sp;
  if (!cfg->spool.dir.empty()) {
    std::string error;
    sp = spool::open(cfg->spool.dir + "/" + dir_name(r.name), cfg->spool.max_bytes, &error);
    if (!sp) {
      problems.push_back({diagnostic::level::error, path + ".spool.dir", error});
      return nullptr;
    }
  }
  loki_sink::parts p{r.name,
                     *cfg,
                     std::move(*rules),
                     line_format(std::move(layout), false),
                     std::move(endpoint),
                     std::move(tls),
                     std::move(sp)};
  return std::make_unique<loki_sink>(std::move(ex), std::move(p), m);
}

}  // namespace ke::sinks::loki
