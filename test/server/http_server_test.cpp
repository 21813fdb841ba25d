#include "server/http_server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

#include "test_support.hpp"

namespace ke::server {
namespace {

route_options accepting_body() {
  route_options ro;
  ro.accepts_body = true;
  return ro;
}

using test::client;
using test::client_response;
using test::loopback_options;
using test::running_server;
using ::testing::HasSubstr;

net::awaitable<response> echo(const request& req) {
  response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/octet-stream");
  res.body() = req.body();
  co_return res;
}

bool has_error_at(const diagnostics& problems, const std::string& path) {
  for (const auto& d : problems) {
    if (d.severity == diagnostic::level::error && d.path == path) {
      return true;
    }
  }
  return false;
}

// Verifies that /-/healthy always answers 200 "OK".
TEST(HttpServer, HealthyAnswersOk) {
  running_server s(loopback_options());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/-/healthy", res));
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), "OK");
  EXPECT_EQ(res[http::field::content_type], "text/plain; charset=utf-8");
}

// Verifies that /-/ready answers 503 until set_ready(true), then 200 "OK", and 503 again after
// set_ready(false).
TEST(HttpServer, ReadyFollowsSetReady) {
  running_server s(loopback_options());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/-/ready", res));
  EXPECT_EQ(res.result(), http::status::service_unavailable);

  s.server().set_ready(true);
  ASSERT_FALSE(c.request(http::verb::get, "/-/ready", res));
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), "OK");

  s.server().set_ready(false);
  ASSERT_FALSE(c.request(http::verb::get, "/-/ready", res));
  EXPECT_EQ(res.result(), http::status::service_unavailable);
}

// Verifies that GET / serves an HTML landing page linking the metrics.
TEST(HttpServer, LandingPageLinksMetrics) {
  running_server s(loopback_options());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/", res));
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_THAT(res.body(), HasSubstr("href=\"metrics\""));
}

// Verifies that an unknown path gets 404.
TEST(HttpServer, UnknownPathIs404) {
  running_server s(loopback_options());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/nope", res));
  EXPECT_EQ(res.result(), http::status::not_found);
}

// Verifies that a known path with the wrong method gets 405 with an Allow header.
TEST(HttpServer, WrongMethodIs405WithAllow) {
  running_server s(loopback_options());
  s.server().add_route("POST /ingest", echo);
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::post, "/-/healthy", res, "x"));
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "GET, HEAD");
  // Refused on its header: the body is not read and the connection is closed.
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(test::closed_by_peer(c.read_until_closed()));

  client c2;
  ASSERT_FALSE(c2.connect(port));
  ASSERT_FALSE(c2.request(http::verb::get, "/ingest", res));
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "POST");
}

// Verifies that HEAD on a GET route answers with the GET headers (Content-Length) and no body.
TEST(HttpServer, HeadUsesGetRouteWithoutBody) {
  running_server s(loopback_options());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::head, "/-/healthy", res));
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_length], "2");
  EXPECT_TRUE(res.body().empty());
  // The connection is still in sync: the next response is read correctly.
  ASSERT_FALSE(c.request(http::verb::get, "/-/healthy", res));
  EXPECT_EQ(res.body(), "OK");
}

// Verifies that the query string does not take part in route matching.
TEST(HttpServer, QueryStringIsIgnoredForRouting) {
  running_server s(loopback_options());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/-/healthy?verbose=1", res));
  EXPECT_EQ(res.result(), http::status::ok);
}

// Verifies that a request body within max_body_bytes reaches the handler intact.
TEST(HttpServer, BodyWithinLimitReachesHandler) {
  auto opt = loopback_options();
  opt.max_body_bytes = 1024;
  running_server s(opt);
  s.server().add_route("POST /echo", echo, accepting_body());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  const std::string body(1024, 'b');
  ASSERT_FALSE(c.request(http::verb::post, "/echo", res, body));
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), body);
}

// Verifies that a body over max_body_bytes gets 413 and the connection is closed.
TEST(HttpServer, BodyOverLimitIs413) {
  auto opt = loopback_options();
  opt.max_body_bytes = 1024;
  running_server s(opt);
  s.server().add_route("POST /echo", echo, accepting_body());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::post, "/echo", res, std::string(4096, 'b')));
  EXPECT_EQ(res.result(), http::status::payload_too_large);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(test::closed_by_peer(c.read_until_closed()));
}

// Verifies that a chunked body growing over max_body_bytes gets 413 too.
TEST(HttpServer, ChunkedBodyOverLimitIs413) {
  auto opt = loopback_options();
  opt.max_body_bytes = 16;
  running_server s(opt);
  s.server().add_route("POST /echo", echo, accepting_body());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  ASSERT_FALSE(
      c.write_raw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "20\r\n01234567890123456789012345678901\r\n0\r\n\r\n"));
  client_response res;
  ASSERT_FALSE(c.read(res));
  EXPECT_EQ(res.result(), http::status::payload_too_large);
}

// Verifies that request headers over max_header_bytes get 431.
TEST(HttpServer, HeaderOverLimitIs431) {
  auto opt = loopback_options();
  opt.max_header_bytes = 1024;
  running_server s(opt);
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/-/healthy", res, "",
                         {{http::field::cookie, std::string(4096, 'c')}}));
  EXPECT_EQ(res.result(), http::status::request_header_fields_too_large);
}

// Verifies that a malformed request gets 400 and the connection is closed.
TEST(HttpServer, MalformedRequestIs400) {
  running_server s(loopback_options());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  ASSERT_FALSE(c.write_raw("NOT AN HTTP REQUEST\r\n\r\n"));
  client_response res;
  ASSERT_FALSE(c.read(res));
  EXPECT_EQ(res.result(), http::status::bad_request);
  EXPECT_TRUE(test::closed_by_peer(c.read_until_closed()));
}

// Verifies that two requests are served on one keep-alive connection.
TEST(HttpServer, KeepAliveServesTwoRequestsOnOneConnection) {
  running_server s(loopback_options());
  s.server().add_route("POST /echo", echo, accepting_body());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response first;
  ASSERT_FALSE(c.request(http::verb::post, "/echo", first, "one"));
  EXPECT_TRUE(first.keep_alive());
  client_response second;
  ASSERT_FALSE(c.request(http::verb::post, "/echo", second, "two"));
  EXPECT_EQ(first.body(), "one");
  EXPECT_EQ(second.body(), "two");
}

// Verifies that "Connection: close" from the client is honoured: the response says close and the
// server closes the connection.
TEST(HttpServer, ConnectionCloseClosesAfterResponse) {
  running_server s(loopback_options());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(
      c.request(http::verb::get, "/-/healthy", res, "", {{http::field::connection, "close"}}));
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(test::closed_by_peer(c.read_until_closed()));
}

// Verifies that a handler that throws gives 500 and the server keeps serving.
TEST(HttpServer, ThrowingHandlerGives500) {
  running_server s(loopback_options());
  s.server().add_route("GET /boom", [](const request&) -> net::awaitable<response> {
    throw std::runtime_error("boom");
    co_return response{};
  });
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/boom", res));
  EXPECT_EQ(res.result(), http::status::internal_server_error);
  ASSERT_FALSE(c.request(http::verb::get, "/-/healthy", res));
  EXPECT_EQ(res.result(), http::status::ok);
}

// Verifies that a handler may be a coroutine that suspends (here on a timer) before answering.
TEST(HttpServer, CoroutineHandlerMaySuspend) {
  running_server s(loopback_options());
  s.server().add_route("GET /later", [](const request&) -> net::awaitable<response> {
    net::steady_timer timer(co_await net::this_coro::executor, std::chrono::milliseconds(1));
    co_await timer.async_wait(net::use_awaitable);
    response res{http::status::accepted, 11};
    res.body() = "later";
    co_return res;
  });
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/later", res));
  EXPECT_EQ(res.result(), http::status::accepted);
  EXPECT_EQ(res.body(), "later");
}

// Verifies that a client that never finishes its request is disconnected after read_timeout.
TEST(HttpServer, SlowClientIsDisconnectedAfterReadTimeout) {
  auto opt = loopback_options();
  opt.read_timeout = std::chrono::milliseconds(200);
  running_server s(opt);
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  const auto began = std::chrono::steady_clock::now();
  ASSERT_FALSE(c.write_raw("GET /-/healthy HTTP/1.1\r\nHost: x\r\n"));  // no blank line
  const auto ec = c.read_until_closed(std::chrono::seconds(10));
  const auto waited = std::chrono::steady_clock::now() - began;
  EXPECT_TRUE(test::closed_by_peer(ec)) << ec.message();
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_LT(waited, std::chrono::seconds(5));
}

// Verifies that an idle keep-alive connection is closed after read_timeout.
TEST(HttpServer, IdleKeepAliveConnectionIsClosedAfterReadTimeout) {
  auto opt = loopback_options();
  opt.read_timeout = std::chrono::milliseconds(200);
  running_server s(opt);
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/-/healthy", res));
  ASSERT_TRUE(res.keep_alive());
  const auto ec = c.read_until_closed(std::chrono::seconds(10));
  EXPECT_TRUE(test::closed_by_peer(ec)) << ec.message();
}

// Verifies that "Expect: 100-continue" gets an interim 100 before the body is sent.
TEST(HttpServer, ExpectContinueGets100BeforeBody) {
  running_server s(loopback_options());
  s.server().add_route("POST /echo", echo, accepting_body());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  ASSERT_FALSE(c.write_raw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  client_response interim;
  ASSERT_FALSE(c.read(interim));
  EXPECT_EQ(interim.result(), http::status::continue_);
  ASSERT_FALSE(c.write_raw("hello"));
  client_response res;
  ASSERT_FALSE(c.read(res));
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), "hello");
}

// Verifies that stop() closes open keep-alive connections, not only the listener.
TEST(HttpServer, StopClosesOpenConnections) {
  running_server s(loopback_options());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/-/healthy", res));
  s.server().stop();
  const auto ec = c.read_until_closed(std::chrono::seconds(10));
  EXPECT_TRUE(test::closed_by_peer(ec)) << ec.message();
  client late;
  EXPECT_TRUE(late.connect(port));  // the listener is closed too
}

// Verifies that routes added later replace earlier ones and that a bad route form throws.
TEST(HttpServer, AddRouteReplacesAndValidates) {
  running_server s(loopback_options());
  s.server().add_route("GET /-/healthy", [](const request&) -> net::awaitable<response> {
    response res{http::status::ok, 11};
    res.body() = "replaced";
    co_return res;
  });
  EXPECT_THROW(s.server().add_route("/no-method", echo), std::invalid_argument);
  EXPECT_THROW(s.server().add_route("GET no-slash", echo), std::invalid_argument);
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/-/healthy", res));
  EXPECT_EQ(res.body(), "replaced");
}

// Verifies that ":0" listens on all interfaces (reachable through 127.0.0.1).
TEST(HttpServer, EmptyHostListensOnAllInterfaces) {
  options opt;
  opt.address = ":0";
  running_server s(opt);
  ASSERT_TRUE(s.problems.empty());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/-/healthy", res));
  EXPECT_EQ(res.result(), http::status::ok);
}

// Verifies that a host name ("localhost:0") is resolved at start.
TEST(HttpServer, HostNameIsResolved) {
  options opt;
  opt.address = "localhost:0";
  running_server s(opt);
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/-/healthy", res));
  EXPECT_EQ(res.result(), http::status::ok);
}

// Verifies that a bracketed IPv6 address ("[::1]:0") is accepted and served.
TEST(HttpServer, BracketedIpv6Address) {
  {
    net::io_context probe_ioc;
    net::ip::tcp::acceptor probe(probe_ioc);
    boost::system::error_code ec;
    probe.open(net::ip::tcp::v6(), ec);
    if (!ec) {
      probe.bind({net::ip::make_address("::1"), 0}, ec);
    }
    if (ec) {
      GTEST_SKIP() << "no IPv6 loopback on this host: " << ec.message();
    }
  }
  options opt;
  opt.address = "[::1]:0";
  running_server s(opt);
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port, net::ip::make_address("::1")));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/-/healthy", res));
  EXPECT_EQ(res.result(), http::status::ok);
}

// Verifies that malformed addresses are errors naming -metrics-address and start() refuses.
TEST(HttpServer, BadAddressIsReported) {
  for (const char* bad : {"2112", "::1:2112", "[::1:2112", "a[b]:1", "127.0.0.1:65536"}) {
    options opt;
    opt.address = bad;
    running_server s(opt);
    EXPECT_TRUE(has_error_at(s.problems, "-metrics-address")) << bad;
    EXPECT_THROW(s.server().start(), std::logic_error) << bad;
  }
}

// Verifies that binding a port already in use throws from start().
TEST(HttpServer, PortInUseThrows) {
  running_server first(loopback_options());
  const auto port = first.start();
  options opt;
  opt.address = "127.0.0.1:" + std::to_string(port);
  running_server second(opt);
  EXPECT_THROW(second.server().start(), std::system_error);
}

// Verifies that an unreadable -metrics-tls-config file is an error naming the file.
TEST(HttpServer, UnreadableWebConfigIsReported) {
  auto opt = loopback_options();
  opt.web_config_file = "/nonexistent/web-config.yml";
  running_server s(opt);
  ASSERT_TRUE(has_errors(s.problems));
  EXPECT_THAT(s.problems.front().to_string(), HasSubstr("/nonexistent/web-config.yml"));
  EXPECT_THROW(s.server().start(), std::logic_error);
}

// Verifies that http_server_config.headers from the web config are added to every response.
TEST(HttpServer, WebConfigHeadersAreAdded) {
  test::temp_dir dir;
  auto opt = loopback_options();
  opt.web_config_file = dir.write("web.yml",
                                  "http_server_config:\n"
                                  "  headers:\n"
                                  "    X-Frame-Options: deny\n"
                                  "    X-Content-Type-Options: nosniff\n");
  running_server s(opt);
  ASSERT_FALSE(has_errors(s.problems));
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/nope", res));
  EXPECT_EQ(res[http::field::x_frame_options], "deny");
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
}

// ---- hostile or careless clients -------------------------------------------------------------
// The server's own read deadline is far beyond the client's: a server that waited for a body it
// should refuse would make these reads time out.

options patient_server() {
  auto opt = loopback_options();
  opt.read_timeout = std::chrono::seconds(120);
  return opt;
}

// Verifies that a request for an unknown path is refused on its header: 404 and close, the
// announced 8 MiB body never read.
TEST(HttpServer, UnknownPathIsRefusedBeforeTheBody) {
  running_server s(patient_server());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  ASSERT_FALSE(c.write_raw("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n"));
  client_response res;
  ASSERT_FALSE(c.read(res));
  EXPECT_EQ(res.result(), http::status::not_found);
  EXPECT_FALSE(res.keep_alive());
}

// Verifies that a route without accepts_body takes at most max_small_body_bytes: a larger
// announced body is 413 before any of it is read.
TEST(HttpServer, RoutesWithoutBodiesTakeOnlySmallOnes) {
  running_server s(patient_server());
  s.server().add_route("POST /small", echo);
  const auto port = s.start();
  {
    client c;
    ASSERT_FALSE(c.connect(port));
    ASSERT_FALSE(c.write_raw("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"));
    client_response res;
    ASSERT_FALSE(c.read(res));
    EXPECT_EQ(res.result(), http::status::payload_too_large);
  }
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::post, "/small", res, std::string(4096, 's')));
  EXPECT_EQ(res.result(), http::status::ok);
}

// Verifies that a route's authorize runs on the header: a refusal is answered before the body
// and before any 100 Continue; an accepted request gets its 100 Continue and its handler.
TEST(HttpServer, AuthorizeRunsBeforeTheBodyAndContinue) {
  running_server s(patient_server());
  route_options ro = accepting_body();
  ro.authorize = [](const request& req) -> net::awaitable<std::optional<response>> {
    if (req[http::field::authorization] == "Bearer good") {
      co_return std::nullopt;
    }
    response no{http::status::unauthorized, 11};
    no.body() = "no\n";
    co_return no;
  };
  s.server().add_route("POST /in", echo, ro);
  const auto port = s.start();
  {
    client c;
    ASSERT_FALSE(c.connect(port));
    ASSERT_FALSE(c.write_raw(
        "POST /in HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n"));
    client_response res;
    ASSERT_FALSE(c.read(res));
    EXPECT_EQ(res.result(), http::status::unauthorized);
    EXPECT_FALSE(res.keep_alive());
  }
  client c;
  ASSERT_FALSE(c.connect(port));
  ASSERT_FALSE(
      c.write_raw("POST /in HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\n"
                  "Expect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  client_response res;
  ASSERT_FALSE(c.read(res));
  EXPECT_EQ(res.result(), http::status::continue_);
  ASSERT_FALSE(c.write_raw("body"));
  ASSERT_FALSE(c.read(res));
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), "body");
}

// Verifies the bound on bodies held at once: a body that does not fit in
// max_body_bytes_in_flight is refused with 503 and Retry-After before it is read.
TEST(HttpServer, BodiesInFlightAreBounded) {
  auto opt = patient_server();
  opt.max_body_bytes_in_flight = 1000;
  running_server s(opt);
  s.server().add_route("POST /echo", echo, accepting_body());
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::post, "/echo", res, std::string(1000, 'a')));
  EXPECT_EQ(res.result(), http::status::ok);  // fits exactly; released after the response
  ASSERT_FALSE(c.request(http::verb::post, "/echo", res, std::string(1001, 'a')));
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_EQ(res[http::field::retry_after], "1");
}

// Verifies max_connections: with the limit reached (connections that have been served and stay
// open), one more connection is closed without an answer; the open ones keep working.
TEST(HttpServer, ConnectionsOverTheLimitAreClosed) {
  auto opt = patient_server();
  opt.max_connections = 2;
  running_server s(opt);
  const auto port = s.start();
  client a;
  client b;
  client_response res;
  for (client* c : {&a, &b}) {
    ASSERT_FALSE(c->connect(port));
    ASSERT_FALSE(c->request(http::verb::get, "/-/healthy", res));  // accepted and registered
  }
  client extra;
  ASSERT_FALSE(extra.connect(port));  // the kernel completes the handshake; then the server closes
  EXPECT_TRUE(extra.request(http::verb::get, "/-/healthy", res));
  ASSERT_FALSE(a.request(http::verb::get, "/-/healthy", res));
  EXPECT_EQ(res.result(), http::status::ok);
}

// Verifies that /-/ready turns 503 with the reason while the failure check reports one.
TEST(HttpServer, ReadyReportsAFailure) {
  running_server s(loopback_options());
  std::atomic<bool> failed{false};  // the server answers on its own thread
  s.server().set_failure_check([&failed] {
    return failed.load() ? std::string("loki l: the send loop stopped") : std::string();
  });
  s.server().set_ready(true);
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/-/ready", res));
  EXPECT_EQ(res.result(), http::status::ok);
  failed = true;
  ASSERT_FALSE(c.request(http::verb::get, "/-/ready", res));
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_EQ(res.body(), "loki l: the send loop stopped\n");
}

}  // namespace
}  // namespace ke::server
