#include "core/http_client.hpp"

#include <gtest/gtest.h>

#include <string>

#include "fakes/http_test_server.hpp"
#include "support/io.hpp"

namespace ke {
namespace {

using std::chrono::milliseconds;
using test::http_test_server;
using test::reply;

const std::string tls_dir = std::string(KE_TEST_DATA) + "/tls";

url local(unsigned short port, const std::string& scheme = "http",
          const std::string& host = "127.0.0.1") {
  auto u = url::parse(scheme + "://" + host + ":" + std::to_string(port) + "/");
  EXPECT_TRUE(u.has_value());
  return *u;
}

http_request get(const std::string& target = "/") {
  return http_request{http::verb::get, target, 11};
}

http_result send(net::io_context& ioc, http_client& c, http_request req,
                 milliseconds timeout = milliseconds(5000)) {
  return test::run_coro(ioc, c.send(std::move(req), timeout));
}

tls_options tls_with(std::string ca, std::string server_name = "", std::string cert = "",
                     std::string key = "") {
  tls_options t;
  t.ca_file = std::move(ca);
  t.server_name = std::move(server_name);
  t.cert_file = std::move(cert);
  t.key_file = std::move(key);
  return t;
}

http_client::options limited(std::uint64_t max_body) {
  http_client::options o;
  o.max_response_body = max_body;
  return o;
}

// ---- url ----------------------------------------------------------------------------------

// Verifies that a plain http URL gets port 80 (also with an empty port, as RFC 3986 allows)
// and keeps its path and query.
TEST(Url, HttpDefaultsToPort80) {
  const auto u = url::parse("http://loki:/x");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->port, 80);
  const auto v = url::parse("HTTP://loki/loki/api/v1/push?x=1#frag");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->scheme, "http");
  EXPECT_EQ(v->host, "loki");
  EXPECT_EQ(v->port, 80);
  EXPECT_EQ(v->target, "/loki/api/v1/push?x=1");
  EXPECT_EQ(v->host_header(), "loki");
}

// Verifies that https defaults to port 443 and an explicit port shows in the Host header.
TEST(Url, HttpsDefaultAndExplicitPorts) {
  EXPECT_EQ(url::parse("https://loki.example")->port, 443);
  EXPECT_EQ(url::parse("https://loki.example")->target, "/");
  const auto u = url::parse("https://loki.example:8443/x");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->host_header(), "loki.example:8443");
  EXPECT_TRUE(u->https());
}

// Verifies that bracketed IPv6 literals are parsed, with and without a port.
TEST(Url, Ipv6Literals) {
  const auto u = url::parse("http://[::1]:3100/loki/api/v1/push");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 3100);
  EXPECT_EQ(u->host_header(), "[::1]:3100");
  const auto v = url::parse("https://[2001:db8::7]");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->host, "2001:db8::7");
  EXPECT_EQ(v->port, 443);
  EXPECT_EQ(v->host_header(), "[2001:db8::7]");
}

// Verifies that a query without a path gets "/" in front.
TEST(Url, QueryWithoutPath) { EXPECT_EQ(url::parse("http://h?a=b")->target, "/?a=b"); }

// Verifies that malformed URLs are rejected with a reason.
TEST(Url, RejectsMalformed) {
  std::string error;
  EXPECT_FALSE(url::parse("loki:3100", &error));
  EXPECT_NE(error.find("absolute"), std::string::npos);
  EXPECT_FALSE(url::parse("ftp://h/", &error));
  EXPECT_NE(error.find("scheme"), std::string::npos);
  EXPECT_FALSE(url::parse("http://user:pw@h/", &error));
  EXPECT_NE(error.find("basicAuth"), std::string::npos);
  EXPECT_FALSE(url::parse("http://h:99999/", &error));
  EXPECT_NE(error.find("port"), std::string::npos);
  EXPECT_FALSE(url::parse("http://::1/", &error));
  EXPECT_FALSE(url::parse("http://[::1/", &error));
  EXPECT_FALSE(url::parse("http://[nothex]/", &error));
  EXPECT_FALSE(url::parse("http:///x", &error));
}

// ---- plain HTTP ---------------------------------------------------------------------------

// Verifies that a GET returns the status, headers and body the server sent.
TEST(HttpClient, GetReturnsStatusHeadersBody) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor());
  server.script(reply::code(201).header("X-Answer", "42").with_body("hello"));
  http_client c(ioc.get_executor(), local(server.port()), nullptr, {});
  const auto r = send(ioc, c, get("/path?q=1"));
  ASSERT_TRUE(r.ok()) << r.error.message();
  EXPECT_EQ(r.response.result_int(), 201u);
  EXPECT_EQ(r.response["X-Answer"], "42");
  EXPECT_EQ(r.response.body(), "hello");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].target(), "/path?q=1");
}

// Verifies that a POST carries its body, headers, Host and Content-Length.
TEST(HttpClient, PostSendsBodyAndHeaders) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor());
  http_client c(ioc.get_executor(), local(server.port()), nullptr, {});
  http_request req{http::verb::post, "/loki/api/v1/push", 11};
  req.set(http::field::content_type, "application/x-protobuf");
  req.set("X-Scope-OrgID", "tenant-a");
  req.body() = std::string(1000, 'x');
  ASSERT_TRUE(send(ioc, c, req).ok());
  ASSERT_EQ(server.requests().size(), 1u);
  const auto& got = server.requests()[0];
  EXPECT_EQ(got.method(), http::verb::post);
  EXPECT_EQ(got.body(), std::string(1000, 'x'));
  EXPECT_EQ(got["X-Scope-OrgID"], "tenant-a");
  EXPECT_EQ(got[http::field::content_type], "application/x-protobuf");
  EXPECT_EQ(got[http::field::content_length], "1000");
  EXPECT_EQ(got[http::field::host], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(got[http::field::user_agent], "kube-event-exporter");
}

// Verifies that consecutive requests reuse one keep-alive connection.
TEST(HttpClient, KeepsTheConnectionAlive) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor());
  http_client c(ioc.get_executor(), local(server.port()), nullptr, {});
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(send(ioc, c, get()).ok());
  }
  EXPECT_EQ(server.st().connections, 1u);
  EXPECT_EQ(c.connections_opened(), 1u);
  EXPECT_TRUE(c.connected());
}

// Verifies that the connection is not reused after a 5xx answer.
TEST(HttpClient, DoesNotReuseAfter5xx) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor());
  server.script(reply::code(503).with_body("busy"));
  http_client c(ioc.get_executor(), local(server.port()), nullptr, {});
  const auto r = send(ioc, c, get());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.response.result_int(), 503u);
  EXPECT_FALSE(c.connected());
  ASSERT_TRUE(send(ioc, c, get()).ok());
  EXPECT_EQ(c.connections_opened(), 2u);
  EXPECT_TRUE(test::run_until(ioc, [&] { return server.st().connections == 2; }));
}

// Verifies that the connection is not reused after the server said Connection: close.
TEST(HttpClient, DoesNotReuseAfterConnectionClose) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor());
  server.script(reply::code(204).closing());
  http_client c(ioc.get_executor(), local(server.port()), nullptr, {});
  ASSERT_TRUE(send(ioc, c, get()).ok());
  EXPECT_FALSE(c.connected());
  ASSERT_TRUE(send(ioc, c, get()).ok());
  EXPECT_EQ(c.connections_opened(), 2u);
}

// Verifies that a slow server makes the request fail with a timeout, and promptly.
TEST(HttpClient, TimesOutOnASlowServer) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor());
  server.script(reply::code(204).after(milliseconds(3000)));
  http_client c(ioc.get_executor(), local(server.port()), nullptr, {});
  const auto start = std::chrono::steady_clock::now();
  const auto r = send(ioc, c, get(), milliseconds(150));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.error, beast::error::timeout);
  EXPECT_LT(took, milliseconds(2000));
  EXPECT_FALSE(c.connected());
}

// Verifies that a connection reset in the middle of the response body is an error and that
// the next request works on a new connection.
TEST(HttpClient, ResetMidBodyIsAnError) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor());
  server.script(reply::code(200).with_body(std::string(4000, 'b')).resetting());
  http_client c(ioc.get_executor(), local(server.port()), nullptr, {});
  const auto r = send(ioc, c, get());
  EXPECT_FALSE(r.ok());
  const auto again = send(ioc, c, get());
  ASSERT_TRUE(again.ok()) << again.error.message();
  EXPECT_EQ(c.connections_opened(), 2u);
}

// Verifies that a request failing on a reused idle connection before any answer byte is sent
// once more on a fresh connection.
TEST(HttpClient, RetriesOnceWhenTheIdleConnectionWasClosed) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor());
  server.script(reply::code(204));
  server.script(reply::code(200).silent());
  http_client c(ioc.get_executor(), local(server.port()), nullptr, {});
  ASSERT_TRUE(send(ioc, c, get()).ok());
  const auto r = send(ioc, c, get());
  ASSERT_TRUE(r.ok()) << r.error.message();
  EXPECT_EQ(r.response.result_int(), 200u);
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(c.connections_opened(), 2u);
}

// Verifies that a fresh connection closed without an answer is reported, not retried.
TEST(HttpClient, NoRetryOnAFreshConnection) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor());
  server.script(reply::code(200).silent());
  http_client c(ioc.get_executor(), local(server.port()), nullptr, {});
  EXPECT_FALSE(send(ioc, c, get()).ok());
  EXPECT_EQ(server.requests().size(), 1u);
}

// Verifies that a refused connection is reported as an error.
TEST(HttpClient, ConnectionRefusedIsAnError) {
  net::io_context ioc;
  unsigned short port = 0;
  {
    http_test_server server(ioc.get_executor());
    port = server.port();
  }
  http_client c(ioc.get_executor(), local(port), nullptr, {});
  const auto r = send(ioc, c, get());
  EXPECT_EQ(r.error, net::error::connection_refused);
}

// Verifies that a response body over the configured limit fails instead of growing memory.
TEST(HttpClient, BodyLimitIsEnforced) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor());
  server.script(reply::code(200).with_body(std::string(5000, 'z')));
  http_client c(ioc.get_executor(), local(server.port()), nullptr, {}, limited(1000));
  EXPECT_EQ(send(ioc, c, get()).error, http::error::body_limit);
}

// Verifies that a streamed body arrives through the callback and a false return stops it.
TEST(HttpClient, StreamsTheBody) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor());
  const std::string body(100000, 's');
  server.script(reply::code(200).with_body(body));
  server.script(reply::code(200).with_body(body));
  http_client c(ioc.get_executor(), local(server.port()), nullptr, {});
  std::string got;
  auto r =
      test::run_coro(ioc, c.send_streaming(get(), milliseconds(5000), milliseconds(5000),
                                           [&](std::string_view piece) -> net::awaitable<bool> {
                                             got.append(piece);
                                             co_return true;
                                           }));
  ASSERT_TRUE(r.ok()) << r.error.message();
  EXPECT_EQ(r.response.result_int(), 200u);
  EXPECT_EQ(got, body);
  EXPECT_TRUE(r.response.body().empty());
  std::size_t pieces = 0;
  r = test::run_coro(ioc, c.send_streaming(get(), milliseconds(5000), milliseconds(5000),
                                           [&](std::string_view) -> net::awaitable<bool> {
                                             co_return ++pieces < 1;
                                           }));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(pieces, 1u);
  EXPECT_FALSE(c.connected());
}

// Verifies that close() aborts a running exchange.
TEST(HttpClient, CloseAbortsARunningRequest) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor());
  server.script(reply::code(204).after(milliseconds(10000)));
  http_client c(ioc.get_executor(), local(server.port()), nullptr, {});
  std::optional<http_result> r;
  net::co_spawn(ioc, c.send(get(), milliseconds(20000)),
                [&](std::exception_ptr, http_result x) { r = std::move(x); });
  ASSERT_TRUE(test::run_until(ioc, [&] { return server.requests().size() == 1; }));
  c.close();
  ASSERT_TRUE(test::run_until(
      ioc, [&] { return r.has_value(); }, milliseconds(2000)));
  EXPECT_FALSE(r->ok());
}

// Verifies that a second concurrent send is refused instead of corrupting the connection.
TEST(HttpClient, RefusesConcurrentSends) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor());
  server.script(reply::code(204).after(milliseconds(200)));
  http_client c(ioc.get_executor(), local(server.port()), nullptr, {});
  std::optional<http_result> first;
  net::co_spawn(ioc, c.send(get(), milliseconds(5000)),
                [&](std::exception_ptr, http_result x) { first = std::move(x); });
  ASSERT_TRUE(test::run_until(ioc, [&] { return server.requests().size() == 1; }));
  EXPECT_EQ(send(ioc, c, get()).error, net::error::in_progress);
  ASSERT_TRUE(test::run_until(ioc, [&] { return first.has_value(); }));
  EXPECT_TRUE(first->ok());
}

// Verifies that a server on the IPv6 loopback is reachable through a bracketed URL.
TEST(HttpClient, Ipv6Loopback) {
  net::io_context ioc;
  std::unique_ptr<http_test_server> server;
  try {
    server = std::make_unique<http_test_server>(ioc.get_executor(), nullptr, "::1");
  } catch (const std::exception&) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  http_client c(ioc.get_executor(), local(server->port(), "http", "[::1]"), nullptr, {});
  const auto r = send(ioc, c, get());
  ASSERT_TRUE(r.ok()) << r.error.message();
  EXPECT_EQ(server->requests()[0][http::field::host], "[::1]:" + std::to_string(server->port()));
}

// ---- TLS ----------------------------------------------------------------------------------

std::shared_ptr<net::ssl::context> client_tls(const tls_options& t) {
  diagnostics problems;
  auto ctx = http_client::make_tls_context(t, "tls", problems);
  EXPECT_TRUE(problems.empty()) << (problems.empty() ? "" : problems[0].to_string());
  return ctx;
}

// Verifies that https works with the CA from caFile and the host name checked.
TEST(HttpClientTls, VerifiesWithCaFile) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor(), http_test_server::make_tls(tls_dir));
  const auto t = tls_with(tls_dir + "/ca.pem");
  http_client c(ioc.get_executor(), local(server.port(), "https", "localhost"), client_tls(t), t);
  const auto r = send(ioc, c, get());
  ASSERT_TRUE(r.ok()) << r.error.message();
  EXPECT_EQ(r.response.result_int(), 200u);
  ASSERT_TRUE(send(ioc, c, get()).ok());
  EXPECT_EQ(c.connections_opened(), 1u);
}

// Verifies that an IP literal host is checked against the certificate's IP SANs.
TEST(HttpClientTls, VerifiesIpLiteralHosts) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor(), http_test_server::make_tls(tls_dir));
  const auto t = tls_with(tls_dir + "/ca.pem");
  http_client c(ioc.get_executor(), local(server.port(), "https"), client_tls(t), t);
  const auto r = send(ioc, c, get());
  EXPECT_TRUE(r.ok()) << r.error.message();
}

// Verifies that a certificate from an unknown CA is rejected.
TEST(HttpClientTls, RejectsUnknownCa) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor(), http_test_server::make_tls(tls_dir));
  const auto t = tls_with(tls_dir + "/other-ca.pem");
  http_client c(ioc.get_executor(), local(server.port(), "https", "localhost"), client_tls(t), t);
  EXPECT_FALSE(send(ioc, c, get()).ok());
  EXPECT_TRUE(server.requests().empty());
}

// Verifies that serverName replaces the URL host for verification: a name in the
// certificate passes, a name not in it fails.
TEST(HttpClientTls, ServerNameIsVerified) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor(), http_test_server::make_tls(tls_dir));
  const auto good = tls_with(tls_dir + "/ca.pem", "loki.test");
  http_client c1(ioc.get_executor(), local(server.port(), "https"), client_tls(good), good);
  const auto r = send(ioc, c1, get());
  EXPECT_TRUE(r.ok()) << r.error.message();
  const auto bad = tls_with(tls_dir + "/ca.pem", "wrong.test");
  http_client c2(ioc.get_executor(), local(server.port(), "https"), client_tls(bad), bad);
  EXPECT_FALSE(send(ioc, c2, get()).ok());
  EXPECT_EQ(server.requests().size(), 1u);
}

// Verifies that insecureSkipVerify accepts a certificate no configured CA signed.
TEST(HttpClientTls, InsecureSkipVerify) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor(), http_test_server::make_tls(tls_dir));
  auto t = tls_with(tls_dir + "/other-ca.pem", "nope.test");
  t.insecure_skip_verify = true;
  http_client c2(ioc.get_executor(), local(server.port(), "https"), client_tls(t), t);
  const auto r = send(ioc, c2, get());
  EXPECT_TRUE(r.ok()) << r.error.message();
}

// Verifies that certFile/keyFile present a client certificate the server can verify, and
// that without one a server requiring it refuses.
TEST(HttpClientTls, ClientCertificate) {
  net::io_context ioc;
  http_test_server server(ioc.get_executor(), http_test_server::make_tls(tls_dir, true));
  const auto with =
      tls_with(tls_dir + "/ca.pem", "", tls_dir + "/client.pem", tls_dir + "/client.key");
  http_client c1(ioc.get_executor(), local(server.port(), "https", "localhost"), client_tls(with),
                 with);
  const auto r = send(ioc, c1, get());
  ASSERT_TRUE(r.ok()) << r.error.message();
  ASSERT_EQ(server.st().client_subjects.size(), 1u);
  EXPECT_EQ(server.st().client_subjects[0], "ke client");
  const auto without = tls_with(tls_dir + "/ca.pem");
  http_client c2(ioc.get_executor(), local(server.port(), "https", "localhost"),
                 client_tls(without), without);
  EXPECT_FALSE(send(ioc, c2, get()).ok());
}

// Verifies that unreadable TLS files and a lone certFile are diagnostics naming the key.
TEST(HttpClientTls, BadFilesAreDiagnostics) {
  diagnostics problems;
  EXPECT_EQ(http_client::make_tls_context(tls_with("/nonexistent/ca.pem"), "receivers[0].loki.tls",
                                          problems),
            nullptr);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "receivers[0].loki.tls.caFile");
  problems.clear();
  EXPECT_EQ(http_client::make_tls_context(tls_with("", "", tls_dir + "/client.pem"), "t", problems),
            nullptr);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "t.keyFile");
  problems.clear();
  EXPECT_EQ(http_client::make_tls_context(
                tls_with("", "", tls_dir + "/client.pem", tls_dir + "/server.key"), "t", problems),
            nullptr);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "t.keyFile");
}

// Verifies that https without a TLS context fails cleanly.
TEST(HttpClientTls, HttpsWithoutContextFails) {
  net::io_context ioc;
  http_client c(ioc.get_executor(), *url::parse("https://127.0.0.1:1/"), nullptr, {});
  EXPECT_EQ(send(ioc, c, get()).error, net::error::invalid_argument);
}

}  // namespace
}  // namespace ke
