#include "sinks/loki/push_client.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <charconv>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/base64.hpp"

namespace ke::sinks::loki {

namespace {

// Reads a secret file, without trailing whitespace. False when it cannot be read.
bool read_secret(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return false;
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) {
    out.pop_back();
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view v, std::chrono::system_clock::time_point now) {
  v = trim(v);
  if (v.empty()) {
    return std::nullopt;
  }
  if (std::isdigit(static_cast<unsigned char>(v.front()))) {
    long long seconds = 0;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
    if (ec != std::errc() || ptr != v.data() + v.size()) {
      return std::nullopt;
    }
    return std::chrono::milliseconds(std::min<long long>(seconds, 86400LL * 365) * 1000);
  }
  std::tm tm{};
  const std::string text(v);
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') {
    return std::nullopt;
  }
  const auto at = std::chrono::system_clock::from_time_t(::timegm(&tm));
  if (at <= now) {
    return std::chrono::milliseconds(0);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
}

std::size_t parse_ignored_entries(std::string_view body) {
  static constexpr std::string_view marker = "total ignored: ";
  std::size_t total = 0;
  std::size_t pos = 0;
  while ((pos = body.find(marker, pos)) != std::string_view::npos) {
    pos += marker.size();
    std::size_t n = 0;
    const auto [ptr, ec] = std::from_chars(body.data() + pos, body.data() + body.size(), n);
    if (ec == std::errc()) {
      total += n;
      pos = static_cast<std::size_t>(ptr - body.data());
    }
  }
  return total;
}

push_outcome::kind classify_status(unsigned status) {
  using kind = push_outcome::kind;
  if (status == 0 || status == 408 || status == 429 || status >= 500) {
    return kind::retry;
  }
  if (status >= 200 && status < 300) {
    return kind::ok;
  }
  if (status == 401 || status == 403) {
    return kind::auth;
  }
  if (status == 400) {
    return kind::bad_request;
  }
  if (status == 413) {
    return kind::too_large;
  }
  return kind::client_error;
}

push_client::push_client(net::any_io_executor ex, const url& u,
                         std::shared_ptr<net::ssl::context> tls_context,
                         const config::loki_sink& cfg)
    : http_(std::move(ex), u, std::move(tls_context), cfg.tls), target_(u.target), cfg_(cfg) {
  refresh_credentials(true);
}

void push_client::refresh_credentials(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - read_at_ < reread_period) {
    return;
  }
  read_at_ = now;
  if (!cfg_.bearer_token.empty() || !cfg_.bearer_token_file.empty()) {
    std::string token = cfg_.bearer_token;
    if (!cfg_.bearer_token_file.empty() && !read_secret(cfg_.bearer_token_file, token)) {
      spdlog::error("loki: cannot read bearerTokenFile {}; keeping the previous token",
                    cfg_.bearer_token_file);
      return;
    }
    authorization_ = "Bearer " + token;
  } else if (!cfg_.basic_auth.username.empty()) {
    std::string password = cfg_.basic_auth.password;
    if (!cfg_.basic_auth.password_file.empty() &&
        !read_secret(cfg_.basic_auth.password_file, password)) {
      spdlog::error("loki: cannot read basicAuth.passwordFile {}; keeping the previous password",
                    cfg_.basic_auth.password_file);
      return;
    }
    authorization_ = "Basic " + base64_encode(cfg_.basic_auth.username + ":" + password);
  }
}

net::awaitable<push_outcome> push_client::push(const payload& p) {
  refresh_credentials(false);
  http_request req{http::verb::post, target_, 11};
  for (const auto& [k, v] : cfg_.headers) {
    req.set(k, v);
  }
  if (!cfg_.tenant.empty()) {
    req.set("X-Scope-OrgID", cfg_.tenant);
  }
  if (!authorization_.empty()) {
    req.set(http::field::authorization, authorization_);
  }
  req.set(http::field::content_type, p.content_type);
  if (!p.content_encoding.empty()) {
    req.set(http::field::content_encoding, p.content_encoding);
  } else {
    req.erase(http::field::content_encoding);
  }
  req.body() = p.body;

  push_outcome out;
  auto res = co_await http_.send(std::move(req), cfg_.timeout);
  if (!res.ok()) {
    out.what = push_outcome::kind::retry;
    out.detail = res.error.message();
    co_return out;
  }
  out.status = res.response.result_int();
  out.what = classify_status(out.status);
  if (out.what != push_outcome::kind::ok) {
    out.detail = res.response.body().substr(0, 1024);
    if (const auto it = res.response.find(http::field::retry_after); it != res.response.end()) {
      const auto v = it->value();
      out.retry_after =
          parse_retry_after(std::string_view(v.data(), v.size()), std::chrono::system_clock::now());
    }
    if (out.what == push_outcome::kind::bad_request) {
      out.rejected = parse_ignored_entries(res.response.body());
    }
  }
  co_return out;
}

}  // namespace ke::sinks::loki
