#include "server/http_server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <type_traits>

#include "core/log_limiter.hpp"
#include "server/web_config.hpp"
// clang-format off
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
// clang-format on

namespace ke::server {

namespace {

using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

auto redirect(error_code& ec) { return net::redirect_error(net::use_awaitable, ec); }

// Beast 1.74 uses boost::string_view throughout.
std::string_view to_std(beast::string_view s) { return {s.data(), s.size()}; }
beast::string_view to_beast(std::string_view s) { return {s.data(), s.size()}; }

constexpr std::string_view text_plain = "text/plain; charset=utf-8";

// basic_auth::verify with bcrypt, as a coroutine of its own (parameters, not lambda captures,
// so they live in its frame) to be spawned on the password thread.
net::awaitable<basic_auth::verdict> hash_password(basic_auth* a, std::string authorization) {
  co_return a->verify(authorization, true);
}

// Modification time and size of the TLS files a config names ("" for inline PEM): what changes
// when a certificate is renewed. A file that cannot be read stamps as "-".
std::string tls_files_stamp(const tls_server_config& t) {
  std::string out;
  for (const auto* f : {&t.cert_file, &t.key_file, &t.client_ca_file}) {
    std::error_code ec;
    if (!f->empty()) {
      const auto mtime = std::filesystem::last_write_time(*f, ec);
      const auto size = ec ? 0 : std::filesystem::file_size(*f, ec);
      out +=
          ec ? "-" : std::to_string(mtime.time_since_epoch().count()) + ":" + std::to_string(size);
    }
    out += '|';
  }
  return out;
}

// Bytes read and thrown away after an error response, so that the client sees the response rather
// than a reset caused by closing with unread input (a "lingering close").
constexpr std::size_t max_drain_bytes = 1 << 20;
constexpr std::chrono::milliseconds max_linger{2000};

constexpr std::string_view landing_page = R"(<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>kube-event-exporter</title></head>
<body>
<h1>kube-event-exporter</h1>
<p>Kubernetes events to Loki.</p>
<ul>
<li><a href="metrics">/metrics</a></li>
<li><a href="-/healthy">/-/healthy</a></li>
<li><a href="-/ready">/-/ready</a></li>
</ul>
</body>
</html>
)";

response text_response(http::status status, std::string body,
                       std::string_view content_type = text_plain) {
  response res{status, 11};
  res.set(http::field::content_type, to_beast(content_type));
  res.body() = std::move(body);
  return res;
}

// 503 with Retry-After: a limit of the server (bodies in flight, password checks) is reached.
response busy_response() {
  auto res = text_response(http::status::service_unavailable, "Service Unavailable\n");
  res.set(http::field::retry_after, "1");
  return res;
}

// Go's net.SplitHostPort rules: "host:port", "[v6]:port", ":port". An empty port means 0.
bool split_host_port(std::string_view addr, std::string& host, std::string& port,
                     std::string& err) {
  const auto colon = addr.rfind(':');
  if (colon == std::string_view::npos) {
    err = "missing port in address";
    return false;
  }
  std::string_view h = addr.substr(0, colon);
  port = std::string(addr.substr(colon + 1));
  if (!h.empty() && h.front() == '[') {
    if (h.back() != ']') {
      err = "missing ']' in address";
      return false;
    }
    h = h.substr(1, h.size() - 2);
  } else if (h.find_first_of("[]") != std::string_view::npos) {
    err = "unexpected '[' or ']' in address";
    return false;
  } else if (h.find(':') != std::string_view::npos) {
    err = "too many colons in address (write IPv6 addresses as [::1]:2112)";
    return false;
  }
  if (port.empty()) {
    port = "0";
  }
  if (std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }) &&
      (port.size() > 5 || std::stoul(port) > 65535)) {
    err = "invalid port \"" + port + "\"";
    return false;
  }
  host = std::string(h);
  return true;
}

// The path of an origin-form or absolute-form request target, without the query.
std::string_view target_path(std::string_view target) {
  if (auto q = target.find_first_of("?#"); q != std::string_view::npos) {
    target = target.substr(0, q);
  }
  if (!target.starts_with('/')) {
    const auto scheme = target.find("://");
    if (scheme != std::string_view::npos) {
      const auto slash = target.find('/', scheme + 3);
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  }
  return target;
}

void log_exception(std::string_view what, const std::exception_ptr& e) {
  if (!e) {
    return;
  }
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    spdlog::error("http server: {}: {}", what, x.what());
  } catch (...) {
    spdlog::error("http server: {}: unknown exception", what);
  }
}

}  // namespace

namespace detail {

class connection {
 public:
  virtual ~connection() = default;
  // Closes the socket from the connection's own executor.
  virtual void close() = 0;
};

// Everything the server shares with its connections (http_server::impl is this; it is named here
// so that the connection template below can use it).
struct server_core : std::enable_shared_from_this<server_core> {
  server_core(net::any_io_executor executor, options o)
      : ex(std::move(executor)), strand(net::make_strand(ex)), opt(std::move(o)) {}

  void configure(diagnostics& problems);
  unsigned short start();
  void stop();
  tcp::endpoint resolve_endpoint();
  void listen(const tcp::endpoint& ep);
  static net::awaitable<void> accept_loop(std::shared_ptr<server_core> self);
  void start_session(tcp::socket socket);
  struct route_entry {
    handler h;
    route_options ro;
  };
  // After the header: basic auth, routing and the route's authorize. A response refuses the
  // request before its body is read; otherwise r is the route to call.
  net::awaitable<std::optional<response>> admit(const request& req, const route_entry*& r);
  net::awaitable<basic_auth::verdict> check_password(std::string authorization);
  net::awaitable<response> respond(const request& req, const route_entry& r);
  response route(const request& req, const route_entry*& r);
  void finish(const request& req, response& res) const;
  // Reserves n body bytes from max_body_bytes_in_flight; false when they do not fit.
  bool reserve_body(std::size_t n) {
    auto cur = body_bytes.load();
    do {
      if (n > opt.max_body_bytes_in_flight || cur > opt.max_body_bytes_in_flight - n) {
        return false;
      }
    } while (!body_bytes.compare_exchange_weak(cur, cur + n));
    return true;
  }
  void release_body(std::size_t n) { body_bytes.fetch_sub(n); }
  std::size_t open_connections() {
    std::lock_guard lock(mu);
    return connections.size();
  }

  std::uint64_t remember(std::weak_ptr<connection> c) {
    std::lock_guard lock(mu);
    connections.emplace(++next_id, std::move(c));
    return next_id;
  }
  void forget(std::uint64_t id) {
    std::lock_guard lock(mu);
    connections.erase(id);
  }
  std::chrono::milliseconds linger() const { return std::min(opt.read_timeout, max_linger); }

  net::any_io_executor ex;
  net::any_io_executor strand;  // the acceptor's
  options opt;
  bool valid = false;
  std::string host;
  std::string port_name;
  web_config web;
  std::shared_ptr<net::ssl::context> tls;
  // Where tls came from, to reload it when its files change (a renewed certificate: cert-manager
  // writes the Secret, the kubelet updates the mounted files). Checked on accept, at most every
  // opt.tls_reload_check; a context that fails to build keeps the old one (logged).
  std::optional<tls_server_config> tls_source;
  std::string tls_source_name;
  std::string tls_stamp;
  std::chrono::steady_clock::time_point tls_checked{};
  void maybe_reload_tls();
  std::optional<basic_auth> auth;
  std::unique_ptr<net::thread_pool> password_pool;  // bcrypt, when basic auth is configured
  std::atomic<std::size_t> pending_passwords{0};
  std::atomic<std::size_t> body_bytes{0};
  log_limiter refused_log;  // connections over max_connections (accept strand only)
  // path -> method -> route
  std::map<std::string, std::map<std::string, route_entry>, std::less<>> routes;
  std::atomic<bool> ready{false};
  std::function<std::string()> failure_check;  // set before start()

  // Accessed only on `strand` once started.
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> accept_backoff;
  bool stopped = false;

  std::mutex mu;  // guards the connection registry
  std::map<std::uint64_t, std::weak_ptr<connection>> connections;
  std::uint64_t next_id = 0;
};

}  // namespace detail

namespace {

using detail::connection;
using detail::server_core;

// One connection: reads requests, answers them in order, keeps the connection alive as HTTP/1.1
// asks. Stream is beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>.
template <class Stream>
class session final : public connection, public std::enable_shared_from_this<session<Stream>> {
 public:
  static constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... Args>
  session(std::shared_ptr<server_core> server, std::shared_ptr<net::ssl::context> tls,
          Args&&... stream_args)
      : server_(std::move(server)),
        tls_(std::move(tls)),
        stream_(std::forward<Args>(stream_args)...) {}

  ~session() override { server_->forget(id_); }

  void set_id(std::uint64_t id) { id_ = id; }
  net::any_io_executor executor() { return stream_.get_executor(); }

  void close() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      beast::get_lowest_layer(self->stream_).close();
    });
  }

  static net::awaitable<void> run(std::shared_ptr<session> self) { co_await self->serve(); }

 private:
  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

  net::awaitable<void> serve() {
    const auto& opt = server_->opt;
    error_code ec;
    if constexpr (is_tls) {
      tcp().expires_after(opt.read_timeout);
      co_await stream_.async_handshake(net::ssl::stream_base::server, redirect(ec));
      if (ec) {
        spdlog::debug("http server: TLS handshake failed: {}", ec.message());
        co_return;
      }
    }
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(
          std::min<std::size_t>(opt.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
      // The largest any route takes; the route's own limit is applied once it is known.
      parser.body_limit(std::max(opt.max_body_bytes, opt.max_small_body_bytes));

      // One deadline covers the whole request, so a client trickling bytes is cut off too.
      tcp().expires_after(opt.read_timeout);
      co_await http::async_read_header(stream_, buffer_, parser, redirect(ec));
      if (ec) {
        co_await on_read_error(ec);
        co_return;
      }
      // Route and authenticate on the header alone: a request that will be refused never gets
      // its body read (nor a 100 Continue).
      const server_core::route_entry* route = nullptr;
      if (auto refused = co_await server_->admit(parser.get(), route)) {
        co_await refuse(std::move(*refused));
        co_return;
      }
      const std::size_t limit =
          route->ro.accepts_body ? opt.max_body_bytes : opt.max_small_body_bytes;
      std::size_t reserved = 0;
      if (!parser.is_done()) {
        const auto length = parser.content_length();
        if (length && *length > limit) {
          co_await refuse(
              text_response(http::status::payload_too_large, "Request Entity Too Large\n"));
          co_return;
        }
        parser.body_limit(limit);  // chunked bodies
        reserved = length ? static_cast<std::size_t>(*length) : limit;
        if (!server_->reserve_body(reserved)) {
          co_await refuse(busy_response());
          co_return;
        }
      }
      struct release {
        server_core& s;
        std::size_t n;
        ~release() { s.release_body(n); }
      } release_body{*server_, reserved};
      if (!parser.is_done()) {
        const auto& req = parser.get();
        if (req.version() >= 11 && beast::iequals(req[http::field::expect], "100-continue")) {
          http::response<http::empty_body> cont{http::status::continue_, 11};
          co_await http::async_write(stream_, cont, redirect(ec));
          if (ec) {
            co_return;
          }
          tcp().expires_after(opt.read_timeout);
        }
        co_await http::async_read(stream_, buffer_, parser, redirect(ec));
      }
      if (ec) {
        co_await on_read_error(ec);
        co_return;
      }

      const request& req = parser.get();
      response res = co_await server_->respond(req, *route);
      const bool keep_alive = res.keep_alive();
      tcp().expires_after(opt.read_timeout);
      co_await http::async_write(stream_, res, redirect(ec));
      if (ec) {
        spdlog::debug("http server: write failed: {}", ec.message());
        co_return;
      }
      if (!keep_alive) {
        co_await shutdown(false);
        co_return;
      }
    }
  }

  // Sends a response that refuses the request (its body unread) and closes the connection.
  net::awaitable<void> refuse(response res) {
    res.keep_alive(false);
    for (const auto& [name, value] : server_->web.headers) {
      if (res.find(name) == res.end()) {
        res.set(name, value);
      }
    }
    res.prepare_payload();
    error_code ec;
    tcp().expires_after(server_->opt.read_timeout);
    co_await http::async_write(stream_, res, redirect(ec));
    if (!ec) {
      co_await shutdown(true);
    }
  }

  net::awaitable<void> on_read_error(error_code ec) {
    if (ec == http::error::end_of_stream) {
      co_await shutdown(false);  // the client closed between requests
      co_return;
    }
    std::optional<response> res;
    if (ec == http::error::body_limit) {
      res = text_response(http::status::payload_too_large, "Request Entity Too Large\n");
    } else if (ec == http::error::header_limit) {
      res = text_response(http::status::request_header_fields_too_large,
                          "Request Header Fields Too Large\n");
    } else if (ec.category() == error_code(http::error::end_of_stream).category() &&
               ec != http::error::partial_message) {
      res = text_response(http::status::bad_request, "Bad Request\n");
    }
    if (!res) {
      // Timeout, reset, closed by stop(), EOF inside a message: nothing to answer.
      spdlog::debug("http server: read failed: {}", ec.message());
      co_return;
    }
    spdlog::debug("http server: rejected request: {}", ec.message());
    co_await refuse(std::move(*res));
  }

  // Graceful close. drain: input may be pending (an unread body); read and drop it for a while
  // so that closing does not reset the connection before the client has read the response.
  net::awaitable<void> shutdown(bool drain) {
    error_code ec;
    if constexpr (is_tls) {
      (void)drain;
      tcp().expires_after(server_->linger());
      co_await stream_.async_shutdown(redirect(ec));
    } else {
      tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
      if (drain && !ec) {
        tcp().expires_after(server_->linger());
        std::array<char, 8192> scratch;
        std::size_t total = 0;
        while (total < max_drain_bytes) {
          total += co_await tcp().async_read_some(net::buffer(scratch), redirect(ec));
          if (ec) {
            break;
          }
        }
      }
    }
    tcp().close();
  }

  std::shared_ptr<server_core> server_;
  std::shared_ptr<net::ssl::context> tls_;  // null for plain HTTP; outlives stream_
  Stream stream_;
  beast::flat_buffer buffer_;
  std::uint64_t id_ = 0;
};

}  // namespace

namespace detail {

void server_core::configure(diagnostics& problems) {
  const auto errors_before =
      std::count_if(problems.begin(), problems.end(),
                    [](const diagnostic& d) { return d.severity == diagnostic::level::error; });

  std::string err;
  if (!split_host_port(opt.address, host, port_name, err)) {
    problems.push_back(
        {diagnostic::level::error, opt.address_name, "\"" + opt.address + "\": " + err});
  }
  if (opt.max_body_bytes == 0 || opt.read_timeout.count() <= 0) {
    problems.push_back({diagnostic::level::error, "http server",
                        "max_body_bytes and read_timeout must be positive"});
  }
  if (!opt.web_config_file.empty()) {
    web = load_web_config(opt.web_config_file, problems);
    if (web.tls) {
      tls = make_tls_context(*web.tls, opt.web_config_file, problems);
      tls_source = web.tls;
      tls_source_name = opt.web_config_file;
    }
    if (!web.basic_auth_users.empty()) {
      auth.emplace(web.basic_auth_users);
      password_pool = std::make_unique<net::thread_pool>(1);
    }
  } else if (opt.tls) {
    tls = make_tls_context(*opt.tls, opt.address_name, problems);
    tls_source = opt.tls;
    tls_source_name = opt.address_name;
  }
  if (tls) {
    tls_stamp = tls_files_stamp(*tls_source);
    tls_checked = std::chrono::steady_clock::now();
  }

  const auto errors_after =
      std::count_if(problems.begin(), problems.end(),
                    [](const diagnostic& d) { return d.severity == diagnostic::level::error; });
  valid = errors_after == errors_before;

  routes["/"]["GET"].h = [](const request&) -> net::awaitable<response> {
    co_return text_response(http::status::ok, std::string(landing_page),
                            "text/html; charset=utf-8");
  };
  routes["/-/healthy"]["GET"].h = [](const request&) -> net::awaitable<response> {
    co_return text_response(http::status::ok, "OK");
  };
  routes["/-/ready"]["GET"].h = [self = this](const request&) -> net::awaitable<response> {
    // `self` is the impl, which outlives every request (sessions hold it).
    if (self->ready.load()) {
      if (self->failure_check) {
        if (auto f = self->failure_check(); !f.empty()) {
          co_return text_response(http::status::service_unavailable, f + "\n");
        }
      }
      co_return text_response(http::status::ok, "OK");
    }
    co_return text_response(http::status::service_unavailable, "Service Unavailable\n");
  };
}

tcp::endpoint server_core::resolve_endpoint() {
  tcp::resolver resolver(ex);
  error_code ec;
  if (host.empty()) {
    // All interfaces: only the port needs resolving (it may be a service name).
    auto results = resolver.resolve(tcp::v4(), "0.0.0.0", port_name,
                                    tcp::resolver::passive | tcp::resolver::numeric_host, ec);
    if (ec || results.empty()) {
      throw std::system_error(ec, opt.address_name + " \"" + opt.address + "\": bad port");
    }
    return tcp::endpoint(tcp::v6(), results.begin()->endpoint().port());  // see listen()
  }
  auto results = resolver.resolve(host, port_name, tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    throw std::system_error(ec, opt.address_name + " \"" + opt.address + "\": resolve");
  }
  for (const auto& r : results) {
    if (r.endpoint().address().is_v4()) {
      return r.endpoint();
    }
  }
  return results.begin()->endpoint();
}

void server_core::listen(const tcp::endpoint& requested) {
  acceptor.emplace(strand);
  // Opens, binds and listens on ep; on failure closes the acceptor and says which step failed.
  const auto try_listen = [this](const tcp::endpoint& ep, bool dual_stack,
                                 error_code& ec) -> const char* {
    error_code ignored;
    acceptor->close(ignored);
    acceptor->open(ep.protocol(), ec);
    if (ec) {
      return "socket";
    }
    if (dual_stack) {
      acceptor->set_option(net::ip::v6_only(false), ec);
      if (ec) {
        acceptor->close(ignored);
        return "socket";
      }
    }
    acceptor->set_option(net::socket_base::reuse_address(true), ec);
    acceptor->bind(ep, ec);
    if (ec) {
      acceptor->close(ignored);
      return "bind";
    }
    acceptor->listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      acceptor->close(ignored);
      return "listen";
    }
    return nullptr;
  };
  error_code ec;
  const char* failed = nullptr;
  if (host.empty()) {
    // All interfaces: dual-stack [::] as Go does, or 0.0.0.0 where the host has no IPv6.
    failed = try_listen(tcp::endpoint(tcp::v6(), requested.port()), true, ec);
    if (failed != nullptr) {
      failed = try_listen(tcp::endpoint(tcp::v4(), requested.port()), false, ec);
    }
  } else {
    failed = try_listen(requested, false, ec);
  }
  if (failed != nullptr) {
    throw std::system_error(ec, opt.address_name + " \"" + opt.address + "\": " + failed);
  }
}

unsigned short server_core::start() {
  if (!valid) {
    throw std::logic_error("http server: invalid options (see the reported problems)");
  }
  if (acceptor && acceptor->is_open()) {
    return acceptor->local_endpoint().port();
  }
  stopped = false;
  listen(resolve_endpoint());
  const auto port = acceptor->local_endpoint().port();
  net::co_spawn(strand, accept_loop(shared_from_this()),
                [](const std::exception_ptr& e) { log_exception("accept loop", e); });
  return port;
}

net::awaitable<void> server_core::accept_loop(std::shared_ptr<server_core> self) {
  auto delay = std::chrono::milliseconds(5);
  for (;;) {
    error_code ec;
    // Each connection gets its own strand, so the server also works on a multi-threaded
    // io_context.
    tcp::socket socket =
        co_await self->acceptor->async_accept(net::make_strand(self->ex), redirect(ec));
    if (self->stopped || !self->acceptor->is_open()) {
      co_return;
    }
    if (ec) {
      // E.g. EMFILE: back off (as Go's http.Server does) instead of spinning.
      spdlog::warn("http server: accept failed: {}; retrying in {} ms", ec.message(),
                   delay.count());
      self->accept_backoff.emplace(self->strand, delay);
      co_await self->accept_backoff->async_wait(redirect(ec));
      delay = std::min(delay * 2, std::chrono::milliseconds(1000));
      continue;
    }
    delay = std::chrono::milliseconds(5);
    self->start_session(std::move(socket));
  }
}

void server_core::maybe_reload_tls() {
  const auto now = std::chrono::steady_clock::now();
  if (!tls || !tls_source || now - tls_checked < opt.tls_reload_check) {
    return;
  }
  tls_checked = now;
  auto stamp = tls_files_stamp(*tls_source);
  if (stamp == tls_stamp) {
    return;
  }
  diagnostics problems;
  auto fresh = make_tls_context(*tls_source, tls_source_name, problems);
  if (!fresh) {
    // Keep serving with the old certificate; retry at the next check (the files may be
    // half-written: the kubelet swaps a symlink, other writers may not).
    spdlog::error(
        "http server {}: the TLS files changed but cannot be loaded ({}); still serving "
        "the previous certificate",
        opt.address_name, problems.empty() ? "" : problems.front().to_string());
    return;
  }
  tls = std::move(fresh);
  tls_stamp = std::move(stamp);
  spdlog::info("http server {}: TLS certificate reloaded from {}", opt.address_name,
               tls_source->cert_file.empty() ? tls_source_name : tls_source->cert_file);
}

void server_core::start_session(tcp::socket socket) {
  error_code ec;
  if (open_connections() >= opt.max_connections) {
    // Closed at once: nothing is read or allocated for it. (A 503 would need a read of the
    // request first, which is what an overload must not cost.)
    if (const auto n = refused_log.allow()) {
      spdlog::warn("http server {}: {} connection(s) refused: {} open (max_connections)",
                   opt.address_name, n, opt.max_connections);
    }
    socket.close(ec);
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  maybe_reload_tls();
  if (tls) {
    using tls_session = session<beast::ssl_stream<beast::tcp_stream>>;
    // The session keeps its context alive: a reload swaps tls for new connections only.
    auto s = std::make_shared<tls_session>(shared_from_this(), tls, std::move(socket), *tls);
    s->set_id(remember(s));
    auto executor = s->executor();
    net::co_spawn(executor, tls_session::run(std::move(s)),
                  [](const std::exception_ptr& e) { log_exception("connection", e); });
  } else {
    using plain_session = session<beast::tcp_stream>;
    auto s = std::make_shared<plain_session>(shared_from_this(), nullptr, std::move(socket));
    s->set_id(remember(s));
    auto executor = s->executor();
    net::co_spawn(executor, plain_session::run(std::move(s)),
                  [](const std::exception_ptr& e) { log_exception("connection", e); });
  }
}

response server_core::route(const request& req, const route_entry*& h) {
  h = nullptr;
  const auto path = target_path(to_std(req.target()));
  const auto it = routes.find(path);
  if (it == routes.end()) {
    return text_response(http::status::not_found, "404 page not found\n");
  }
  const auto& methods = it->second;
  std::string method(req.method_string());
  auto m = methods.find(method);
  if (m == methods.end() && req.method() == http::verb::head) {
    m = methods.find("GET");
  }
  if (m != methods.end()) {
    h = &m->second;
    return {};
  }
  std::vector<std::string> allow;
  allow.reserve(methods.size() + 1);
  for (const auto& [name, unused] : methods) {
    allow.push_back(name);
  }
  if (methods.count("GET") != 0 && methods.count("HEAD") == 0) {
    allow.emplace_back("HEAD");
  }
  std::sort(allow.begin(), allow.end());
  std::string allow_value;
  for (const auto& a : allow) {
    allow_value += (allow_value.empty() ? "" : ", ") + a;
  }
  auto res = text_response(http::status::method_not_allowed, "Method Not Allowed\n");
  res.set(http::field::allow, allow_value);
  return res;
}

net::awaitable<basic_auth::verdict> server_core::check_password(std::string authorization) {
  const auto fast = auth->verify(authorization, false);
  if (fast != basic_auth::needs_hash) {
    co_return fast;
  }
  if (pending_passwords.load() >= opt.max_pending_password_checks) {
    co_return basic_auth::needs_hash;  // too many waiting: the caller answers 503
  }
  ++pending_passwords;
  struct done {
    std::atomic<std::size_t>& n;
    ~done() { --n; }
  } guard{pending_passwords};
  // bcrypt takes tens of milliseconds: on its own thread, so the io thread (the pipeline, the
  // probes) never waits for it.
  co_return co_await net::co_spawn(password_pool->get_executor(),
                                   hash_password(&*auth, std::move(authorization)),
                                   net::use_awaitable);
}

net::awaitable<std::optional<response>> server_core::admit(const request& req,
                                                           const route_entry*& r) {
  r = nullptr;
  std::optional<response> refused;
  if (auth) {
    const auto v = co_await check_password(std::string(to_std(req[http::field::authorization])));
    if (v == basic_auth::needs_hash) {
      refused = busy_response();
    } else if (v == basic_auth::denied) {
      refused = text_response(http::status::unauthorized, "Unauthorized\n");
      refused->set(http::field::www_authenticate, "Basic");
    }
  }
  if (!refused) {
    response res = route(req, r);
    if (r == nullptr) {
      refused = std::move(res);
    } else if (r->ro.authorize) {
      const auto authorize = r->ro.authorize;  // a copy: it outlives this request
      try {
        refused = co_await authorize(req);
      } catch (const std::exception& e) {
        spdlog::error("http server: authorization for {} failed: {}",
                      std::string(target_path(to_std(req.target()))), e.what());
        refused = text_response(http::status::internal_server_error, "Internal Server Error\n");
      }
    }
  }
  if (refused) {
    r = nullptr;
    finish(req, *refused);
    refused->keep_alive(false);
  }
  co_return refused;
}

net::awaitable<response> server_core::respond(const request& req, const route_entry& r) {
  response res;
  const handler call = r.h;  // a copy: the handler's state outlives this request
  try {
    res = co_await call(req);
  } catch (const std::exception& e) {
    spdlog::error("http server: handler for {} {} failed: {}", std::string(req.method_string()),
                  std::string(target_path(to_std(req.target()))), e.what());
    res = text_response(http::status::internal_server_error, "Internal Server Error\n");
  } catch (...) {
    spdlog::error("http server: handler for {} {} failed with an unknown exception",
                  std::string(req.method_string()), std::string(target_path(to_std(req.target()))));
    res = text_response(http::status::internal_server_error, "Internal Server Error\n");
  }
  finish(req, res);
  co_return res;
}

void server_core::finish(const request& req, response& res) const {
  const bool handler_closes = http::token_list(res[http::field::connection]).exists("close");
  res.version(req.version() == 10 ? 10 : 11);
  res.keep_alive(req.keep_alive() && !handler_closes);
  for (const auto& [name, value] : web.headers) {
    if (res.find(name) == res.end()) {
      res.set(name, value);
    }
  }
  res.prepare_payload();
  if (req.method() == http::verb::head) {
    // Same headers as GET (including Content-Length), no body.
    const auto length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
}

void server_core::stop() {
  net::dispatch(strand, [self = shared_from_this()] {
    self->stopped = true;
    error_code ignored;
    if (self->acceptor) {
      self->acceptor->close(ignored);
    }
    if (self->accept_backoff) {
      self->accept_backoff->cancel();
    }
    std::vector<std::shared_ptr<connection>> open;
    {
      std::lock_guard lock(self->mu);
      for (const auto& [id, weak] : self->connections) {
        if (auto c = weak.lock()) {
          open.push_back(std::move(c));
        }
      }
    }
    for (const auto& c : open) {
      c->close();
    }
  });
}

}  // namespace detail

struct http_server::impl : detail::server_core {
  using server_core::server_core;
};

http_server::http_server(net::any_io_executor ex, options opt, diagnostics& problems)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(opt))) {
  impl_->configure(problems);
}

http_server::~http_server() { stop(); }

void http_server::add_route(std::string method_and_path, handler h, route_options ro) {
  const auto space = method_and_path.find(' ');
  if (space == std::string::npos || space == 0 || space + 1 >= method_and_path.size() ||
      method_and_path[space + 1] != '/' || !h) {
    throw std::invalid_argument("http server: route must be \"METHOD /path\": " + method_and_path);
  }
  std::string method = method_and_path.substr(0, space);
  std::transform(method.begin(), method.end(), method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  impl_->routes[method_and_path.substr(space + 1)][method] = {std::move(h), std::move(ro)};
}

void http_server::set_ready(bool ready) { impl_->ready.store(ready); }

void http_server::set_failure_check(std::function<std::string()> failure) {
  impl_->failure_check = std::move(failure);
}

unsigned short http_server::start() { return impl_->start(); }

void http_server::stop() { impl_->stop(); }

}  // namespace ke::server
