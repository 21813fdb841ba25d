// A scripted HTTP/1.1 server on 127.0.0.1 (port 0), plain or TLS, for client tests. Each
// request is answered by `respond` (default: the next scripted reply, else 200 with no body).
// Faults: delayed answers, closing without an answer, resetting the connection mid-body.
// Header-only test code; runs on the test's io_context.
#pragma once
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/asio.hpp"
#include "core/record.hpp"

namespace ke::test {

using tcp = net::ip::tcp;

struct reply {
  unsigned status = 200;
  string_pairs headers;
  std::string body;
  std::chrono::milliseconds delay{0};  // wait this long before answering
  bool close_after = false;            // answer with Connection: close, then close
  bool no_answer = false;              // close the connection without answering
  bool reset_mid_body = false;         // send the header and half the body, then RST

  // Builders: reply::code(429).header("Retry-After", "1").with_body("slow down").
  static reply code(unsigned s) {
    reply r;
    r.status = s;
    return r;
  }
  reply header(std::string k, std::string v) && {
    headers.emplace_back(std::move(k), std::move(v));
    return std::move(*this);
  }
  reply with_body(std::string b) && {
    body = std::move(b);
    return std::move(*this);
  }
  reply after(std::chrono::milliseconds d) && {
    delay = d;
    return std::move(*this);
  }
  reply closing() && {
    close_after = true;
    return std::move(*this);
  }
  reply silent() && {
    no_answer = true;
    return std::move(*this);
  }
  reply resetting() && {
    reset_mid_body = true;
    return std::move(*this);
  }
};

class http_test_server {
 public:
  using request = http::request<http::string_body>;
  using responder = std::function<reply(const request&)>;

  struct state {
    std::vector<request> requests;             // every request read, in order
    std::deque<reply> script;                  // replies used in order before `respond`
    responder respond;                         // used when the script is empty (default 200)
    std::size_t connections = 0;               // accepted
    std::size_t answered = 0;                  // replies completely written
    std::vector<std::string> client_subjects;  // TLS: CN of client certificates seen
    bool stopped = false;
    std::vector<std::weak_ptr<tcp::socket>> sockets;
  };

  // tls: a server context (nullptr = plain HTTP). address: "127.0.0.1" or "::1". port: 0 for
  // any free port (tests), or a port to listen on again after a stop (a server coming back).
  explicit http_test_server(net::any_io_executor ex,
                            std::shared_ptr<net::ssl::context> tls = nullptr,
                            const std::string& address = "127.0.0.1", unsigned short port = 0)
      : ex_(ex),
        tls_(std::move(tls)),
        acceptor_(std::make_shared<tcp::acceptor>(ex)),
        state_(std::make_shared<state>()) {
    const tcp::endpoint ep(net::ip::make_address(address), port);
    acceptor_->open(ep.protocol());
    acceptor_->set_option(net::socket_base::reuse_address(true));
    acceptor_->bind(ep);
    acceptor_->listen();
    port_ = acceptor_->local_endpoint().port();
    // The loop owns what it uses: it may start or finish after this object is gone.
    net::co_spawn(ex_, accept_loop(ex_, acceptor_, state_, tls_), net::detached);
  }
  ~http_test_server() { stop(); }
  http_test_server(const http_test_server&) = delete;
  http_test_server& operator=(const http_test_server&) = delete;

  unsigned short port() const { return port_; }
  state& st() { return *state_; }
  const std::vector<request>& requests() const { return state_->requests; }
  void script(reply r) { state_->script.push_back(std::move(r)); }
  void on_request(responder r) { state_->respond = std::move(r); }

  // Closes the listener and every open connection.
  void stop() {
    if (state_->stopped) {
      return;
    }
    state_->stopped = true;
    boost::system::error_code ec;
    acceptor_->close(ec);
    for (auto& w : state_->sockets) {
      if (auto s = w.lock()) {
        s->close(ec);
      }
    }
  }

  // A TLS server context with the test certificates (test/data/tls). require_client_cert: ask
  // for and verify a client certificate signed by the test CA.
  static std::shared_ptr<net::ssl::context> make_tls(const std::string& dir,
                                                     bool require_client_cert = false) {
    auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
    ctx->use_certificate_chain_file(dir + "/server.pem");
    ctx->use_private_key_file(dir + "/server.key", net::ssl::context::pem);
    if (require_client_cert) {
      ctx->load_verify_file(dir + "/ca.pem");
      ctx->set_verify_mode(net::ssl::verify_peer | net::ssl::verify_fail_if_no_peer_cert);
    }
    return ctx;
  }

 private:
  static net::awaitable<void> accept_loop(net::any_io_executor ex,
                                          std::shared_ptr<tcp::acceptor> acceptor,
                                          std::shared_ptr<state> st,
                                          std::shared_ptr<net::ssl::context> tls) {
    while (!st->stopped) {
      boost::system::error_code ec;
      auto sock = std::make_shared<tcp::socket>(ex);
      co_await acceptor->async_accept(*sock, net::redirect_error(net::use_awaitable, ec));
      if (ec || st->stopped) {
        co_return;
      }
      ++st->connections;
      st->sockets.push_back(sock);
      net::co_spawn(ex, session(st, sock, tls), net::detached);
    }
  }

  static reply next_reply(state& st, const request& req) {
    if (!st.script.empty()) {
      reply r = std::move(st.script.front());
      st.script.pop_front();
      return r;
    }
    if (st.respond) {
      return st.respond(req);
    }
    return reply{};
  }

  static void reset(tcp::socket& s) {
    boost::system::error_code ec;
    s.set_option(net::socket_base::linger(true, 0), ec);
    s.close(ec);
  }

  template <class Stream>
  static net::awaitable<void> serve(std::shared_ptr<state> st, tcp::socket& sock, Stream& stream) {
    beast::flat_buffer buffer;
    net::steady_timer timer(sock.get_executor());
    while (!st->stopped) {
      boost::system::error_code ec;
      http::request_parser<http::string_body> parser;
      parser.body_limit(64ull << 20);
      co_await http::async_read(stream, buffer, parser,
                                net::redirect_error(net::use_awaitable, ec));
      if (ec) {
        co_return;
      }
      request req = parser.release();
      st->requests.push_back(req);
      reply r = next_reply(*st, req);
      if (r.delay.count() > 0) {
        timer.expires_after(r.delay);
        co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
        if (st->stopped) {
          co_return;
        }
      }
      if (r.no_answer) {
        reset(sock);
        co_return;
      }
      http::response<http::string_body> res{static_cast<http::status>(r.status), req.version()};
      for (const auto& [k, v] : r.headers) {
        res.set(k, v);
      }
      res.body() = r.body;
      res.prepare_payload();
      res.keep_alive(req.keep_alive() && !r.close_after);
      if (r.reset_mid_body) {
        res.content_length(r.body.size() + 100);  // promise more than is ever sent
        http::response_serializer<http::string_body> sr(res);
        co_await http::async_write_header(stream, sr, net::redirect_error(net::use_awaitable, ec));
        const std::string half = r.body.substr(0, r.body.size() / 2);
        co_await net::async_write(stream, net::buffer(half),
                                  net::redirect_error(net::use_awaitable, ec));
        reset(sock);
        co_return;
      }
      co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
      if (ec) {
        co_return;
      }
      ++st->answered;
      if (!res.keep_alive()) {
        boost::system::error_code ignored;
        sock.shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
      }
    }
  }

  static net::awaitable<void> session(std::shared_ptr<state> st, std::shared_ptr<tcp::socket> sock,
                                      std::shared_ptr<net::ssl::context> tls) {
    if (!tls) {
      co_await serve(st, *sock, *sock);
      co_return;
    }
    net::ssl::stream<tcp::socket&> stream(*sock, *tls);
    boost::system::error_code ec;
    co_await stream.async_handshake(net::ssl::stream_base::server,
                                    net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      sock->close(ec);
      co_return;
    }
    if (X509* peer = SSL_get_peer_certificate(stream.native_handle())) {
      char cn[256] = {};
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
      st->client_subjects.emplace_back(cn);
      X509_free(peer);
    }
    co_await serve(st, *sock, stream);
  }

  net::any_io_executor ex_;
  std::shared_ptr<net::ssl::context> tls_;
  std::shared_ptr<tcp::acceptor> acceptor_;
  std::shared_ptr<state> state_;
  unsigned short port_ = 0;
};

}  // namespace ke::test
