#include "kubebench/post_bench.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/http_client.hpp"

namespace ke::kubebench {

namespace {

constexpr const char* default_token = "/var/run/secrets/kubernetes.io/serviceaccount/token";
constexpr const char* endpoint = "/api/v1/kube-bench";

std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else {
      out.push_back('%');
      out.push_back(hex[ch >> 4]);
      out.push_back(hex[ch & 15]);
    }
  }
  return out;
}

bool read_all(const std::string& file, std::string& out) {
  std::stringstream ss;
  if (file == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return false;
    }
    ss << in.rdbuf();
  }
  out = ss.str();
  return true;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

// The server's message: the "error" of a JSON body, else the body.
std::string server_message(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) {
    return j["error"].get<std::string>();
  }
  return trim(body);
}

bool retryable(unsigned status) { return status == 429 || status >= 500; }

}  // namespace

std::string post_bench_url(const post_bench_options& opt) {
  std::string u = opt.url;
  const auto scheme = u.find("://");
  const auto path = u.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (path == std::string::npos || u.substr(path) == "/") {
    u = u.substr(0, path) + endpoint;
  }
  std::string query;
  for (const auto& [k, v] : {std::pair<const char*, const std::string*>{"node", &opt.node},
                             {"target", &opt.target},
                             {"syntax", &opt.syntax}}) {
    if (!v->empty()) {
      query += (query.empty() ? "" : "&") + std::string(k) + "=" + percent_encode(*v);
    }
  }
  if (!query.empty()) {
    u += (u.find('?') == std::string::npos ? "?" : "&") + query;
  }
  return u;
}

int post_bench(const post_bench_options& opt, std::ostream& out, std::ostream& err) {
  if (opt.file.empty() || opt.url.empty()) {
    err << "post-bench: -file and -url are required\n";
    return 2;
  }
  std::string body;
  if (!read_all(opt.file, body)) {
    err << "post-bench: cannot read " << opt.file << "\n";
    return 2;
  }
  std::string url_error;
  const auto target_url = post_bench_url(opt);
  const auto u = url::parse(target_url, &url_error);
  if (!u) {
    err << "post-bench: -url " << opt.url << ": " << url_error << "\n";
    return 2;
  }
  std::string token;
  const std::string token_file = !opt.token_file.empty()
                                     ? opt.token_file
                                     : (std::ifstream(default_token).good() ? default_token : "");
  if (!token_file.empty()) {
    if (!read_all(token_file, token)) {
      err << "post-bench: cannot read the token file " << token_file << "\n";
      return 2;
    }
    token = trim(token);
  }
  const auto first = body.find_first_not_of(" \t\r\n");
  const bool json = first != std::string::npos && (body[first] == '{' || body[first] == '[');

  net::io_context ioc{1};
  diagnostics problems;
  std::shared_ptr<net::ssl::context> tls;
  if (u->https()) {
    tls_options t;
    t.ca_file = opt.ca_file;
    tls = http_client::make_tls_context(t, "post-bench", problems);
    if (!tls) {
      err << "post-bench: TLS setup failed";
      for (const auto& p : problems) {
        err << "; " << p.to_string();
      }
      err << "\n";
      return 2;
    }
  }
  int code = 1;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        http_client client(ioc.get_executor(), *u, tls, {});
        auto backoff = opt.first_backoff;
        for (int attempt = 0;; ++attempt) {
          http_request req{http::verb::post, u->target, 11};
          req.set(http::field::content_type,
                  json ? "application/json" : "text/plain; charset=utf-8");
          if (!token.empty()) {
            req.set(http::field::authorization, "Bearer " + token);
          }
          req.body() = body;
          req.prepare_payload();
          auto res = co_await client.send(std::move(req), opt.timeout);
          std::chrono::milliseconds wait = backoff;
          std::string why;
          if (res.error) {
            why = res.error.message();
          } else {
            const auto status = res.response.result_int();
            if (status >= 200 && status < 300) {
              out << trim(res.response.body()) << "\n";
              code = 0;
              co_return;
            }
            why = "HTTP " + std::to_string(status) + ": " + server_message(res.response.body());
            if (!retryable(status)) {
              err << "post-bench: rejected: " << why << "\n";
              co_return;
            }
            const auto ra = res.response[http::field::retry_after];
            if (!ra.empty() && std::all_of(ra.begin(), ra.end(), ::isdigit) && ra.size() < 6) {
              wait = std::chrono::seconds(std::stoi(std::string(ra)));
            }
          }
          if (attempt >= opt.retries) {
            err << "post-bench: giving up after " << attempt + 1 << " attempts: " << why << "\n";
            co_return;
          }
          err << "post-bench: " << why << "; retrying in " << wait.count() << " ms\n";
          net::steady_timer timer(ioc, wait);
          co_await timer.async_wait(net::use_awaitable);
          backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
        }
      },
      [&](const std::exception_ptr& e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& x) {
            err << "post-bench: " << x.what() << "\n";
          }
        }
      });
  ioc.run();
  return code;
}

}  // namespace ke::kubebench
