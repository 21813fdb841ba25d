#include "core/http_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <boost/asio/ssl.hpp>
#include <cctype>
#include <charconv>
#include <limits>

namespace ke {

namespace {

using steady = std::chrono::steady_clock;
using tcp = net::ip::tcp;
using tls_stream = net::ssl::stream<beast::tcp_stream>;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool fail(std::string* error, std::string message) {
  if (error != nullptr) {
    *error = std::move(message);
  }
  return false;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// Errors that mean "the server closed the idle keep-alive connection before reading our request".
bool is_stale_connection_error(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted || ec == net::ssl::error::stream_truncated;
}

steady::time_point deadline_after(std::chrono::milliseconds d) {
  if (d <= std::chrono::milliseconds::zero()) {
    return steady::time_point::max();
  }
  return steady::now() + d;
}

// Re-arms the stream's timeout for the next operation (no timeout when deadline is max()).
void arm(beast::tcp_stream& s, steady::time_point deadline) {
  if (deadline == steady::time_point::max()) {
    s.expires_never();
  } else {
    s.expires_at(deadline);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// url

std::string url::host_header() const {
  std::string h = ipv6_literal() ? "[" + host + "]" : host;
  const std::uint16_t def = https() ? 443 : 80;
  if (port != def) {
    h += ":" + std::to_string(port);
  }
  return h;
}

std::string url::origin() const {
  std::string h = ipv6_literal() ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + std::to_string(port);
}

std::optional<url> url::parse(std::string_view text, std::string* error) {
  url u;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) {
    fail(error, "not an absolute URL (expected http:// or https://)");
    return std::nullopt;
  }
  u.scheme = lower(text.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") {
    fail(error, "unsupported URL scheme \"" + u.scheme + "\" (expected http or https)");
    return std::nullopt;
  }
  std::string_view rest = text.substr(sep + 3);
  const auto auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view tail = auth_end == std::string_view::npos ? "" : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos) {
    fail(error, "credentials in the URL are not supported (use basicAuth)");
    return std::nullopt;
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      fail(error, "unterminated IPv6 literal in URL host");
      return std::nullopt;
    }
    u.host = std::string(authority.substr(1, close - 1));
    // RFC 6874 zone identifiers are percent-encoded ("%25eth0").
    if (const auto z = u.host.find("%25"); z != std::string::npos) {
      u.host.replace(z, 3, "%");
    }
    boost::system::error_code ec;
    net::ip::make_address_v6(u.host, ec);
    if (ec) {
      fail(error, "invalid IPv6 literal \"" + u.host + "\" in URL host");
      return std::nullopt;
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        fail(error, "unexpected characters after the IPv6 literal in URL host");
        return std::nullopt;
      }
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      authority = authority.substr(0, colon);
    }
    u.host = std::string(authority);
    if (u.host.find(':') != std::string::npos) {
      fail(error, "IPv6 literals in URLs must be written in brackets, e.g. http://[::1]:3100");
      return std::nullopt;
    }
  }
  if (u.host.empty()) {
    fail(error, "URL has no host");
    return std::nullopt;
  }
  if (port_text.empty()) {
    u.port = u.https() ? 443 : 80;
  } else {
    unsigned value = 0;
    const auto* end = port_text.data() + port_text.size();
    const auto [ptr, ec] = std::from_chars(port_text.data(), end, value);
    if (ec != std::errc() || ptr != end || value == 0 || value > 65535) {
      fail(error, "invalid port \"" + std::string(port_text) + "\" in URL");
      return std::nullopt;
    }
    u.port = static_cast<std::uint16_t>(value);
  }
  const auto hash = tail.find('#');
  if (hash != std::string_view::npos) {
    tail = tail.substr(0, hash);
  }
  if (tail.empty()) {
    u.target = "/";
  } else if (tail.front() == '?') {
    u.target = "/" + std::string(tail);
  } else {
    u.target = std::string(tail);
  }
  return u;
}

// ---------------------------------------------------------------------------------------------
// TLS context

std::shared_ptr<net::ssl::context> http_client::make_tls_context(const tls_options& tls,
                                                                 const std::string& path,
                                                                 diagnostics& problems) {
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  const std::size_t before = problems.size();
  auto problem = [&](const std::string& key, const std::string& what) {
    problems.push_back({diagnostic::level::error, path + "." + key, what});
  };
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  if (!tls.ca_file.empty()) {
    ctx->load_verify_file(tls.ca_file, ec);
    if (ec) {
      problem("caFile",
              "cannot load CA certificates from \"" + tls.ca_file + "\": " + ec.message());
    }
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec) {
      problem("caFile", "cannot load the system CA certificates: " + ec.message());
    }
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    problem(tls.cert_file.empty() ? "certFile" : "keyFile",
            "certFile and keyFile must be given together");
  } else if (!tls.cert_file.empty()) {
    ctx->use_certificate_chain_file(tls.cert_file, ec);
    if (ec) {
      problem("certFile",
              "cannot load the client certificate from \"" + tls.cert_file + "\": " + ec.message());
    } else {
      ctx->use_private_key_file(tls.key_file, net::ssl::context::pem, ec);
      if (ec) {
        problem("keyFile",
                "cannot load the client key from \"" + tls.key_file + "\": " + ec.message());
      } else if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        problem("keyFile", "the key in \"" + tls.key_file + "\" does not match certFile");
      }
    }
  }
  ctx->set_verify_mode(tls.insecure_skip_verify ? net::ssl::verify_none : net::ssl::verify_peer);
  if (problems.size() != before) {
    return nullptr;
  }
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// connection

struct http_client::connection {
  std::optional<beast::tcp_stream> plain;
  std::optional<tls_stream> secure;
  beast::flat_buffer buffer;
  std::uint64_t exchanges = 0;  // completed request/response exchanges

  beast::tcp_stream& lowest() { return secure ? secure->next_layer() : *plain; }
  void close() {
    boost::system::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }
};

http_client::http_client(net::any_io_executor ex, url origin,
                         std::shared_ptr<net::ssl::context> tls_context, tls_options tls)
    : http_client(std::move(ex), std::move(origin), std::move(tls_context), std::move(tls),
                  options{}) {}

http_client::http_client(net::any_io_executor ex, url origin,
                         std::shared_ptr<net::ssl::context> tls_context, tls_options tls,
                         options opts)
    : ex_(std::move(ex)),
      origin_(std::move(origin)),
      tls_context_(std::move(tls_context)),
      tls_(std::move(tls)),
      opts_(std::move(opts)) {}

http_client::~http_client() = default;

bool http_client::connected() const { return conn_ && conn_->lowest().socket().is_open(); }

void http_client::close() {
  ++generation_;
  if (!conn_) {
    return;
  }
  conn_->close();
  if (!busy_) {
    conn_.reset();
  }
}

net::awaitable<http_result> http_client::send(http_request req, std::chrono::milliseconds timeout) {
  co_return co_await run(req, timeout, timeout, nullptr);
}

net::awaitable<http_result> http_client::send_streaming(http_request req,
                                                        std::chrono::milliseconds timeout,
                                                        std::chrono::milliseconds idle_timeout,
                                                        body_callback on_body) {
  co_return co_await run(req, timeout, idle_timeout, &on_body);
}

namespace {

// Resolves host:port, giving up at deadline (the resolver does not honour tcp_stream expiry).
net::awaitable<tcp::resolver::results_type> resolve(net::any_io_executor ex, const url& u,
                                                    steady::time_point deadline,
                                                    boost::system::error_code& ec) {
  auto resolver = std::make_shared<tcp::resolver>(ex);
  auto timed_out = std::make_shared<bool>(false);
  net::steady_timer timer(ex, deadline);
  timer.async_wait([resolver, timed_out](boost::system::error_code e) {
    if (!e) {
      *timed_out = true;
      resolver->cancel();
    }
  });
  auto results = co_await resolver->async_resolve(u.host, std::to_string(u.port),
                                                  net::redirect_error(net::use_awaitable, ec));
  timer.cancel();
  if (*timed_out) {
    ec = beast::error::timeout;
  }
  co_return results;
}

// Reads the response into a string body.
template <class Stream>
net::awaitable<void> read_whole(Stream& s, beast::flat_buffer& buffer, http::verb method,
                                std::uint64_t limit, http_response& out, bool& got_some,
                                boost::system::error_code& ec) {
  http::response_parser<http::string_body> parser;
  // Beast 1.74 does not enforce body_limit against Content-Length (its optional comparison is
  // broken), so the header is read first and the length checked here; the limit still guards
  // chunked bodies.
  parser.body_limit(limit);
  if (method == http::verb::head) {
    parser.skip(true);
  }
  co_await http::async_read_header(s, buffer, parser, net::redirect_error(net::use_awaitable, ec));
  got_some = parser.got_some();
  if (ec) {
    co_return;
  }
  if (const auto len = parser.content_length(); len && *len > limit) {
    ec = http::error::body_limit;
    co_return;
  }
  if (!parser.is_done()) {
    co_await http::async_read(s, buffer, parser, net::redirect_error(net::use_awaitable, ec));
  }
  if (!ec) {
    out = parser.release();
  }
}

// Reads the header, then hands the body to on_body piece by piece.
template <class Stream>
net::awaitable<void> read_streamed(Stream& s, beast::tcp_stream& lowest, beast::flat_buffer& buffer,
                                   http::verb method, std::chrono::milliseconds idle_timeout,
                                   const http_client::body_callback& on_body, http_response& out,
                                   bool& got_some, bool& stopped, boost::system::error_code& ec) {
  http::response_parser<http::buffer_body> parser;
  // Unlimited. Not boost::none: Beast 1.74 then rejects every body with a Content-Length.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (method == http::verb::head) {
    parser.skip(true);
  }
  co_await http::async_read_header(s, buffer, parser, net::redirect_error(net::use_awaitable, ec));
  got_some = parser.got_some();
  if (ec) {
    co_return;
  }
  out = http_response(parser.get().base());
  std::array<char, 16 * 1024> chunk{};
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    if (idle_timeout > std::chrono::milliseconds::zero()) {
      lowest.expires_after(idle_timeout);
    } else {
      lowest.expires_never();
    }
    // read_some, not read: a watch stream trickles small chunks, and async_read would wait
    // until the 16 KiB buffer is full before handing any of them on.
    co_await http::async_read_some(s, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    if (ec == http::error::need_buffer) {
      ec = {};
    }
    if (ec) {
      co_return;
    }
    const std::size_t n = chunk.size() - parser.get().body().size;
    if (n > 0 && !co_await on_body(std::string_view(chunk.data(), n))) {
      stopped = true;
      co_return;
    }
  }
}

}  // namespace

net::awaitable<http_result> http_client::run(http_request& req, std::chrono::milliseconds timeout,
                                             std::chrono::milliseconds idle_timeout,
                                             const body_callback* on_body) {
  http_result result;
  if (busy_) {
    result.error = net::error::in_progress;
    co_return result;
  }
  if (origin_.https() && !tls_context_) {
    result.error = net::error::invalid_argument;
    co_return result;
  }
  busy_ = true;
  struct busy_guard {
    bool& b;
    ~busy_guard() { b = false; }
  } guard{busy_};

  req.set(http::field::host, origin_.host_header());
  if (req.find(http::field::user_agent) == req.end()) {
    req.set(http::field::user_agent, opts_.user_agent);
  }
  req.prepare_payload();
  const auto deadline = deadline_after(timeout);
  const auto generation = generation_;

  for (int attempt = 0; attempt < 2; ++attempt) {
    boost::system::error_code ec;
    if (conn_ && !conn_->lowest().socket().is_open()) {
      conn_.reset();
    }
    if (!conn_) {
      auto results = co_await resolve(ex_, origin_, deadline, ec);
      if (!ec && generation != generation_) {
        ec = net::error::operation_aborted;
      }
      if (ec) {
        result.error = ec;
        co_return result;
      }
      auto c = std::make_unique<connection>();
      if (origin_.https()) {
        c->secure.emplace(ex_, *tls_context_);
      } else {
        c->plain.emplace(ex_);
      }
      conn_ = std::move(c);
      ++connections_opened_;
      arm(conn_->lowest(), deadline);
      co_await conn_->lowest().async_connect(results, net::redirect_error(net::use_awaitable, ec));
      if (!ec) {
        conn_->lowest().socket().set_option(tcp::no_delay(true), ec);
        ec = {};
      }
      if (!ec && conn_->secure) {
        const std::string& name = tls_.server_name.empty() ? origin_.host : tls_.server_name;
        SSL* ssl = conn_->secure->native_handle();
        const bool ip = is_ip_literal(name);
        if (!ip) {
          SSL_set_tlsext_host_name(ssl, name.c_str());
        }
        if (!tls_.insecure_skip_verify) {
          conn_->secure->set_verify_mode(net::ssl::verify_peer);
          if (ip) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
          } else {
            SSL_set1_host(ssl, name.c_str());
          }
        } else {
          conn_->secure->set_verify_mode(net::ssl::verify_none);
        }
        arm(conn_->lowest(), deadline);
        co_await conn_->secure->async_handshake(net::ssl::stream_base::client,
                                                net::redirect_error(net::use_awaitable, ec));
      }
      if (!ec && generation != generation_) {
        ec = net::error::operation_aborted;
      }
      if (ec) {
        conn_->close();
        conn_.reset();
        result.error = ec;
        co_return result;
      }
    }
    const bool reused = conn_->exchanges > 0;
    connection& c = *conn_;
    arm(c.lowest(), deadline);
    if (c.secure) {
      co_await http::async_write(*c.secure, req, net::redirect_error(net::use_awaitable, ec));
    } else {
      co_await http::async_write(*c.plain, req, net::redirect_error(net::use_awaitable, ec));
    }
    bool got_some = false;
    bool stopped = false;
    if (!ec) {
      arm(c.lowest(), deadline);
      if (on_body == nullptr) {
        if (c.secure) {
          co_await read_whole(*c.secure, c.buffer, req.method(), opts_.max_response_body,
                              result.response, got_some, ec);
        } else {
          co_await read_whole(*c.plain, c.buffer, req.method(), opts_.max_response_body,
                              result.response, got_some, ec);
        }
      } else if (c.secure) {
        co_await read_streamed(*c.secure, c.lowest(), c.buffer, req.method(), idle_timeout,
                               *on_body, result.response, got_some, stopped, ec);
      } else {
        co_await read_streamed(*c.plain, c.lowest(), c.buffer, req.method(), idle_timeout, *on_body,
                               result.response, got_some, stopped, ec);
      }
    }
    if (!ec && generation != generation_) {
      ec = net::error::operation_aborted;
    }
    if (ec) {
      conn_->close();
      conn_.reset();
      if (reused && !got_some && is_stale_connection_error(ec) && steady::now() < deadline) {
        continue;  // the server had closed the idle connection: once more on a fresh one
      }
      result.error = ec;
      result.response = {};
      co_return result;
    }
    ++c.exchanges;
    c.lowest().expires_never();
    const bool keep = !stopped && result.response.keep_alive() && req.keep_alive() &&
                      result.response.result_int() < 500;
    if (!keep) {
      conn_->close();
      conn_.reset();
    }
    co_return result;
  }
  result.error = net::error::connection_reset;  // not reached: the second attempt returns
  co_return result;
}

}  // namespace ke
