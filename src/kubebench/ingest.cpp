#include "kubebench/ingest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace ke::kubebench {

namespace {

using server::request;
using server::response;

std::string_view to_std(beast::string_view s) { return {s.data(), s.size()}; }

// SHA-256 of the parts as if concatenated (each followed by a 0 byte when separated), hex.
std::string sha256_hex(std::initializer_list<std::string_view> parts, bool separated = false) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                    &EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  for (const auto part : parts) {
    EVP_DigestUpdate(ctx.get(), part.data(), part.size());
    if (separated) {
      EVP_DigestUpdate(ctx.get(), "", 1);
    }
  }
  EVP_DigestFinal_ex(ctx.get(), digest, nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char b : digest) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

// The bearer token of an Authorization header, "" when there is none.
std::string bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size()) {
    return {};
  }
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) {
      return {};
    }
  }
  auto token = authorization.substr(scheme.size());
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
    token.remove_prefix(1);
  }
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
    token.remove_suffix(1);
  }
  return std::string(token);
}

// The media type of a Content-Type value, lower case, without parameters.
std::string media_type(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  std::string out;
  for (const char ch : content_type) {
    if (ch != ' ' && ch != '\t') {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    }
  }
  return out;
}

int hex_value(char ch) {
  if (ch >= '0' && ch <= '9') {
    return ch - '0';
  }
  if (ch >= 'a' && ch <= 'f') {
    return ch - 'a' + 10;
  }
  if (ch >= 'A' && ch <= 'F') {
    return ch - 'A' + 10;
  }
  return -1;
}

const char* source_name(totals_source s) {
  switch (s) {
    case totals_source::totals:
      return "Totals";
    case totals_source::controls:
      return "Controls";
    case totals_source::checks:
      return "checks";
  }
  return "checks";
}

}  // namespace

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) {
    return std::string();
  }
  std::string_view query = target.substr(q + 1);
  query = query.substr(0, query.find('#'));
  std::string found;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) {
      continue;
    }
    const auto raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    std::string value;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        value.push_back(' ');
      } else if (raw[i] == '%') {
        if (i + 2 >= raw.size()) {
          return std::nullopt;
        }
        const int hi = hex_value(raw[i + 1]);
        const int lo = hex_value(raw[i + 2]);
        if (hi < 0 || lo < 0) {
          return std::nullopt;
        }
        value.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
      } else {
        value.push_back(raw[i]);
      }
    }
    found = std::move(value);
    break;
  }
  return found;
}

ingest::ingest(ingest_options opt, submit_fn submit, gauges& g, ke::metrics& m,
               token_review_fn review)
    : opt_(std::move(opt)),
      submit_(std::move(submit)),
      gauges_(g),
      review_(std::move(review)),
      requests_(prometheus::BuildCounter()
                    .Name(m.prefix() + "kube_bench_ingest_requests_total")
                    .Help("kube-bench ingest requests by response status code")
                    .Register(m.registry())),
      checks_(prometheus::BuildCounter()
                  .Name(m.prefix() + "kube_bench_checks_accepted_total")
                  .Help("kube-bench checks accepted into the pipeline")
                  .Register(m.registry())
                  .Add({})) {}

void ingest::add_route(server::http_server& server) {
  server::route_options ro;
  ro.accepts_body = true;
  // Authenticated on the header: an unauthenticated client never gets its body read.
  ro.authorize = [this](const request& req) -> net::awaitable<std::optional<response>> {
    const auto a = co_await authenticate(req);
    if (a.status != http::status::ok) {
      co_return refusal(a);
    }
    co_return std::nullopt;
  };
  server.add_route(
      std::string("POST ") + path, [this](const request& req) { return handle(req); },
      std::move(ro));
}

response ingest::refusal(const auth_outcome& a) {
  spdlog::info("kube-bench ingest: {} {}", static_cast<unsigned>(a.status), a.error);
  auto res = reply(a.status, {{"error", a.error}});
  if (a.status == http::status::unauthorized) {
    res.set(http::field::www_authenticate, "Bearer");
  } else if (a.status == http::status::service_unavailable) {
    res.set(http::field::retry_after, std::to_string(opt_.retry_after.count()));
  }
  return res;
}

response ingest::reply(http::status status, const nlohmann::json& body) {
  response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  requests_.Add({{"code", std::to_string(static_cast<unsigned>(status))}}).Increment();
  return res;
}

net::awaitable<ingest::auth_outcome> ingest::authenticate(const request& req) {
  auth_outcome out;
  if (opt_.mode == auth_mode::none) {
    co_return out;
  }
  const std::string token = bearer_token(to_std(req[http::field::authorization]));
  if (token.empty()) {
    out.status = http::status::unauthorized;
    out.error = "missing bearer token (Authorization: Bearer <token>)";
    co_return out;
  }
  if (opt_.mode == auth_mode::static_token) {
    if (token.size() != opt_.static_token.size() ||
        CRYPTO_memcmp(token.data(), opt_.static_token.data(), token.size()) != 0) {
      out.status = http::status::unauthorized;
      out.error = "invalid token";
    }
    co_return out;
  }
  // tokenReview, cached by the token's digest (the token itself is not kept).
  const auto key = sha256_hex({token});
  const auto now = std::chrono::steady_clock::now();
  review_result rr;
  if (auto it = review_cache_.find(key); it != review_cache_.end() && it->second.expires > now) {
    rr = it->second.result;
  } else {
    if (!review_) {
      out.status = http::status::service_unavailable;
      out.error = "no TokenReview client";
      co_return out;
    }
    if (pending_reviews_ >= opt_.max_pending_reviews) {
      out.status = http::status::service_unavailable;
      out.error = "too many token reviews in progress";
      co_return out;
    }
    ++pending_reviews_;
    try {
      rr = co_await review_(token);
    } catch (...) {
      --pending_reviews_;
      throw;
    }
    --pending_reviews_;
    if (rr.result != review_result::outcome::error) {
      if (review_cache_.size() >= opt_.review_cache_max) {
        std::erase_if(review_cache_, [&](const auto& e) { return e.second.expires <= now; });
        if (review_cache_.size() >= opt_.review_cache_max) {
          review_cache_.clear();
        }
      }
      review_cache_[key] = {rr, now + opt_.review_cache_ttl};
    }
  }
  switch (rr.result) {
    case review_result::outcome::error:
      out.status = http::status::service_unavailable;
      out.error = "TokenReview failed: " + rr.error;
      co_return out;
    case review_result::outcome::rejected:
      out.status = http::status::unauthorized;
      out.error =
          rr.error.empty() ? "token not authenticated" : "token not authenticated: " + rr.error;
      co_return out;
    case review_result::outcome::authenticated:
      break;
  }
  constexpr std::string_view sa_prefix = "system:serviceaccount:";
  const std::string_view user = rr.username;
  const bool allowed =
      user.starts_with(sa_prefix) &&
      std::find(opt_.allowed_service_accounts.begin(), opt_.allowed_service_accounts.end(),
                user.substr(sa_prefix.size())) != opt_.allowed_service_accounts.end();
  if (!allowed) {
    out.status = http::status::forbidden;
    out.error = "\"" + rr.username + "\" is not an allowed ServiceAccount";
    co_return out;
  }
  out.node_name = rr.node_name;
  co_return out;
}

net::awaitable<response> ingest::handle(const request& req) {
  // The server ran authenticate() on the header already; a TokenReview comes from its cache.
  const auto auth = co_await authenticate(req);
  if (auth.status != http::status::ok) {
    co_return refusal(auth);
  }

  const std::string type = media_type(to_std(req[http::field::content_type]));
  const bool text = type == "text/plain";
  if (!text && !type.empty() && type != "application/json" && !type.ends_with("+json")) {
    co_return reply(http::status::unsupported_media_type,
                    {{"error", "unsupported Content-Type \"" + type +
                                   "\" (use application/json or text/plain)"}});
  }

  // Node, target, syntax: query parameter, else header, else fallback.
  const auto target = to_std(req.target());
  report_meta meta;
  struct param {
    const char* name;
    const char* header;
    std::string* out;
    std::size_t max;
  };
  for (const param& p : {param{"node", "X-Kube-Bench-Node", &meta.node_name, 253},
                         param{"target", "X-Kube-Bench-Target", &meta.target, 253},
                         param{"syntax", "X-Kube-Bench-Syntax", &meta.syntax, 1024}}) {
    auto value = query_param(target, p.name);
    if (!value) {
      co_return reply(http::status::bad_request,
                      {{"error", std::string("malformed query parameter ") + p.name}});
    }
    if (value->empty()) {
      value = std::string(to_std(req[p.header]));
    }
    if (auto bad = check_label_value(p.name, *value, p.max)) {
      co_return reply(http::status::bad_request, {{"error", *bad}});
    }
    *p.out = std::move(*value);
  }
  if (meta.node_name.empty()) {
    meta.node_name = auth.node_name;
  }
  if (meta.node_name.empty()) {
    co_return reply(http::status::bad_request,
                    {{"error",
                      "node name missing: give the query parameter node or the header "
                      "X-Kube-Bench-Node"}});
  }
  if (req.body().empty()) {
    co_return reply(http::status::bad_request, {{"error", "empty body"}, {"offset", 0}});
  }

  const auto now = std::chrono::steady_clock::now();
  // Hashed in place: the body (up to maxBodyBytes) is not copied.
  const std::string digest = sha256_hex(
      {meta.node_name, meta.target, meta.syntax, text ? "text" : "json", req.body()}, true);
  if (auto it = accepted_.find(digest); it != accepted_.end() && it->second.expires > now) {
    spdlog::info("kube-bench ingest: node {}: the same report again (a retry?); not shipped twice",
                 meta.node_name);
    auto again = it->second.answer;
    again["duplicate"] = true;
    co_return reply(http::status::accepted, again);
  }

  parse_options po = opt_.parse;
  po.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  po.source_position_prefix = "ingest:" + std::to_string(++next_request_);
  auto parsed = text ? parse_text(req.body(), meta, po) : parse_json(req.body(), meta, po);
  if (!parsed.ok()) {
    const auto status =
        parsed.error.too_large ? http::status::payload_too_large : http::status::bad_request;
    spdlog::info("kube-bench ingest: {} from node {}: {}", static_cast<unsigned>(status),
                 meta.node_name, parsed.error.to_string());
    std::string error = parsed.error.to_string();
    if (parsed.error.too_large) {
      error +=
          " (the limit is ingest.maxChecks, at most the largest receiver queue.maxRecords: a "
          "report is taken whole or not at all)";
    }
    co_return reply(status, {{"error", error}, {"offset", parsed.error.offset}});
  }
  const report& rep = *parsed.value;
  if (auto bad = check_label_value("target", rep.target, 253)) {
    co_return reply(http::status::bad_request, {{"error", *bad}});
  }

  switch (submit_(rep.records)) {
    case pipeline::admission::full: {
      spdlog::warn("kube-bench ingest: pipeline full, 429 for node {} ({} checks)", rep.node_name,
                   rep.records.size());
      auto res =
          reply(http::status::too_many_requests, {{"error", "pipeline full, retry later"},
                                                  {"retryAfterSeconds", opt_.retry_after.count()}});
      res.set(http::field::retry_after, std::to_string(opt_.retry_after.count()));
      co_return res;
    }
    case pipeline::admission::too_large:
      co_return reply(http::status::payload_too_large,
                      {{"error", std::to_string(rep.records.size()) +
                                     " checks do not fit in a receiver queue (queue.maxRecords)"}});
    case pipeline::admission::closed: {
      auto res = reply(http::status::service_unavailable, {{"error", "shutting down"}});
      res.set(http::field::retry_after, std::to_string(opt_.retry_after.count()));
      co_return res;
    }
    case pipeline::admission::accepted:
      break;
  }
  // Whole milliseconds on purpose: the gauges carry Prometheus millisecond timestamps.
  const double now_s =
      static_cast<double>(po.time_ns / 1000000) / 1000.0;  // NOLINT(bugprone-integer-division)
  gauges_.update(rep, now_s);
  if (on_accepted) {
    on_accepted(rep, now_s);
  }
  checks_.Increment(static_cast<double>(rep.records.size()));
  spdlog::info(
      "kube-bench ingest: node {} target {}: {} checks, totals pass {} fail {} warn {} "
      "info {} (from {})",
      rep.node_name, rep.target, rep.records.size(), rep.totals.pass, rep.totals.fail,
      rep.totals.warn, rep.totals.info, source_name(rep.source));
  nlohmann::json body = {
      {"accepted", rep.records.size()},
      {"node", rep.node_name},
      {"target", rep.target},
      {"syntax", rep.syntax},
      {"totals",
       {{"total_pass", rep.totals.pass},
        {"total_fail", rep.totals.fail},
        {"total_warn", rep.totals.warn},
        {"total_info", rep.totals.info}}},
      {"totalsSource", source_name(rep.source)},
  };
  if (rep.unparsed_count > 0) {
    body["unparsedLineCount"] = rep.unparsed_count;
  }
  if (accepted_.size() >= opt_.accepted_memory_max) {
    std::erase_if(accepted_, [&](const auto& e) { return e.second.expires <= now; });
    if (accepted_.size() >= opt_.accepted_memory_max) {
      accepted_.clear();  // bounded: forget rather than grow
    }
  }
  accepted_[digest] = {body, now + opt_.accepted_memory_ttl};
  if (rep.unparsed_count > 0) {
    body["unparsedLines"] = rep.unparsed_lines;
  }
  co_return reply(http::status::accepted, body);
}

}  // namespace ke::kubebench
