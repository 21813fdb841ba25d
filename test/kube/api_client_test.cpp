#include "kube/api_client.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "kube/process.hpp"
#include "kube/token_bucket.hpp"
#include "support/apiserver_fixture.hpp"

namespace ke::kube {
namespace {

using json = nlohmann::json;
using fakes::fake_apiserver;
using match = fake_apiserver::scripted::match;
using std::chrono::milliseconds;
using std::chrono::seconds;

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::trunc) << text;
}

std::size_t lines_in(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::size_t n = 0;
  for (std::string l; std::getline(in, l);) ++n;
  return n;
}

class ApiClientTest : public test::ApiServerFixture {
 protected:
  // Auth headers the server saw, in order.
  std::vector<std::string> auths() const {
    std::vector<std::string> out;
    for (const auto& r : server->requests) out.push_back(r.authorization);
    return out;
  }
};

// Verifies that a 429 with Retry-After (APF's plain-text body) is retried after exactly the
// advertised delay and then succeeds.
TEST_F(ApiClientTest, Retries429AfterRetryAfter) {
  server->script_429(match::list, 3);
  server->script_429(match::list, 5);
  auto r = get("/api/v1/events");
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.tries, 3);
  EXPECT_EQ(clk.sleeps(), (std::vector<clock::duration>{seconds(3), seconds(5)}));
  EXPECT_EQ(server->lists(), 3u);
}

// Verifies that retries stop after 10 tries in all and the 429 is returned.
TEST_F(ApiClientTest, GivesUpAfterTenTries) {
  for (int i = 0; i < 12; ++i) server->script_429(match::list, 1);
  auto r = get("/api/v1/events");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.tries, 10);
  EXPECT_EQ(server->lists(), 10u);
  EXPECT_EQ(clk.sleeps().size(), 9u);
}

// Verifies that a 5xx is retried only when it carries Retry-After, and a 429 without it is not.
TEST_F(ApiClientTest, RetryNeedsRetryAfterFor5xx) {
  fake_apiserver::scripted s;
  s.status = 503;
  s.body = fake_apiserver::status(503, "ServiceUnavailable", "shutting down").dump();
  s.headers = {{"Retry-After", "1"}};
  server->script(s);
  EXPECT_TRUE(get("/api/v1/events").ok());
  s.headers.clear();
  server->script(s);
  auto r = get("/api/v1/events");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.tries, 1);
  EXPECT_EQ(r.describe(), "HTTP 503 ServiceUnavailable: shutting down");
}

// Verifies the shutdown-style 429 (Retry-After: 1, Connection: close) is retried on a new
// connection.
TEST_F(ApiClientTest, RetryAfterConnectionClose) {
  server->script_429(match::any, 1, /*close=*/true);
  auto r = get("/api/v1/events");
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(server->connections(), 2u);
}

// Verifies that a 401 makes the client re-read a rotated token file at once and retry.
TEST_F(ApiClientTest, UnauthorizedThenRotatedTokenFile) {
  const auto dir = temp_dir();
  write_file(dir / "token", "t1\n");
  rc.token_file = (dir / "token").string();
  server->knobs.tokens = {"t1"};
  EXPECT_TRUE(get("/api/v1/events").ok());
  // The kubelet rotates the token; the old one stops working.
  write_file(dir / "token", "t2\n");
  server->knobs.tokens = {"t2"};
  auto r = get("/api/v1/events");
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(auths(), (std::vector<std::string>{"Bearer t1", "Bearer t1", "Bearer t2"}));
  EXPECT_EQ(server->requests[1].status, 401);
}

// Verifies that the token file is re-read once its copy is a minute old, without any 401.
TEST_F(ApiClientTest, TokenFileRereadEveryMinute) {
  const auto dir = temp_dir();
  write_file(dir / "token", "t1");
  rc.token_file = (dir / "token").string();
  server->knobs.tokens = {"t1", "t2"};
  EXPECT_TRUE(get("/api/v1/events").ok());
  write_file(dir / "token", "t2");
  clk.advance(seconds(30));
  EXPECT_TRUE(get("/api/v1/events").ok());
  clk.advance(seconds(31));
  EXPECT_TRUE(get("/api/v1/events").ok());
  EXPECT_EQ(auths(), (std::vector<std::string>{"Bearer t1", "Bearer t1", "Bearer t2"}));
}

// Verifies that a 401 with no newer token returns the 401 (no retry loop).
TEST_F(ApiClientTest, UnauthorizedWithoutNewTokenIsReturned) {
  rc.token = "static";
  server->knobs.tokens = {"other"};
  auto r = get("/api/v1/events");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(server->requests.size(), 1u);
}

class ExecPluginTest : public ApiClientTest {
 protected:
  std::filesystem::path dir;
  void use_plugin(const std::string& token, const std::string& expires = "") {
    dir = temp_dir();
    write_file(dir / "token", token);
    exec_config e;
    e.command = std::string(KE_TEST_DATA) + "/watch/exec-plugin.sh";
    e.api_version = "client.authentication.k8s.io/v1";
    e.provide_cluster_info = true;
    e.env = {{"KE_TOKEN_FILE", (dir / "token").string()},
             {"KE_RUNS_FILE", (dir / "runs").string()},
             {"KE_INFO_FILE", (dir / "info").string()},
             {"KE_FAIL_FILE", (dir / "fail").string()}};
    if (!expires.empty()) e.env.emplace_back("KE_EXPIRES", expires);
    rc.exec = e;
  }
};

// Verifies that the exec plugin runs once, gets KUBERNETES_EXEC_INFO with cluster info, and its
// token is cached across requests.
TEST_F(ExecPluginTest, TokenFromPluginIsCached) {
  use_plugin("exec-token");
  server->knobs.tokens = {"exec-token"};
  EXPECT_TRUE(get("/api/v1/events").ok());
  EXPECT_TRUE(get("/api/v1/events").ok());
  EXPECT_EQ(lines_in(dir / "runs"), 1u);
  EXPECT_EQ(api->creds().exec_runs(), 1u);
  auto info = json::parse(test::read_text((dir / "info").string()));
  EXPECT_EQ(info["kind"], "ExecCredential");
  EXPECT_EQ(info["apiVersion"], "client.authentication.k8s.io/v1");
  EXPECT_EQ(info["spec"]["interactive"], false);
  EXPECT_EQ(info["spec"]["cluster"]["server"], server->url());
}

// Verifies that the plugin is run again after a 401 and the request retried with the new token.
TEST_F(ExecPluginTest, RerunAfter401) {
  use_plugin("first");
  server->knobs.tokens = {"first"};
  EXPECT_TRUE(get("/api/v1/events").ok());
  write_file(dir / "token", "second");
  server->knobs.tokens = {"second"};
  auto r = get("/api/v1/events");
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(lines_in(dir / "runs"), 2u);
  EXPECT_EQ(auths(), (std::vector<std::string>{"Bearer first", "Bearer first", "Bearer second"}));
}

// Verifies that an expired credential (expirationTimestamp) makes the plugin run again.
TEST_F(ExecPluginTest, ExpiredCredentialRerunsPlugin) {
  use_plugin("tok", "2000-01-01T00:00:00Z");
  EXPECT_TRUE(get("/api/v1/events").ok());
  EXPECT_TRUE(get("/api/v1/events").ok());
  EXPECT_EQ(lines_in(dir / "runs"), 2u);
}

// Verifies that a failing plugin is reported and the request goes out without credentials
// (and gets 401), without blocking the io_context.
TEST_F(ExecPluginTest, FailingPlugin) {
  use_plugin("tok");
  write_file(dir / "fail", "");
  server->knobs.tokens = {"tok"};
  auto r = get("/api/v1/events");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(server->requests[0].authorization, "");
}

// Verifies that run_process collects stdout, stderr and the exit status, and kills a process
// that outlives its timeout.
TEST_F(ApiClientTest, RunProcessBasics) {
  process_options o;
  o.argv = {"/bin/sh", "-c", "echo out; echo err >&2; exit 4"};
  auto r = test::try_run_coro(ioc, run_process(ioc.get_executor(), o));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 4);
  o.argv = {"/bin/sh", "-c", "exec sleep 30"};
  o.timeout = milliseconds(100);
  auto t = test::try_run_coro(ioc, run_process(ioc.get_executor(), o));
  ASSERT_TRUE(t);
  EXPECT_NE(t->error.find("timed out"), std::string::npos);
  o.argv = {"/nonexistent/plugin"};
  auto n = test::try_run_coro(ioc, run_process(ioc.get_executor(), o));
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->ok());
}

// Verifies the token bucket: burst requests pass at once, then one per 1/qps, and watches are
// not rate limited.
TEST_F(ApiClientTest, TokenBucketLimitsNonWatchRequestsOnly) {
  api_client::options ao;
  ao.qps = 2;
  ao.burst = 3;
  make_api(ao);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(get("/api/v1/events").ok());
  EXPECT_EQ(clk.sleeps(), (std::vector<clock::duration>{milliseconds(500), milliseconds(500)}));
  clk.clear_sleeps();
  auto done = std::make_shared<bool>(false);
  net::co_spawn(
      ioc,
      [this, done]() -> net::awaitable<void> {
        co_await api->watch("/api/v1/events?resourceVersion=" + server->current_rv() + "&watch=1",
                            seconds(30), [](json) -> net::awaitable<bool> { co_return true; });
        *done = true;
      },
      net::detached);
  ASSERT_TRUE(test::run_until(ioc, [&] { return server->open_watches() == 1; }));
  server->end_watches();
  ASSERT_TRUE(test::run_until(ioc, [&] { return *done; }));
  EXPECT_TRUE(clk.sleeps().empty());
  // try_reserve refuses a wait beyond the budget and takes nothing.
  token_bucket b(1, 1, clk);
  EXPECT_EQ(b.try_reserve(seconds(0)), clock::duration::zero());
  EXPECT_FALSE(b.try_reserve(milliseconds(500)));
  EXPECT_EQ(b.try_reserve(seconds(1)), seconds(1));
}

// Verifies keep-alive: GETs share one connection, also after a watch that ended cleanly.
TEST_F(ApiClientTest, KeepAliveReuse) {
  EXPECT_TRUE(get("/api/v1/events").ok());
  EXPECT_TRUE(get("/api/v1/events").ok());
  auto done = std::make_shared<bool>(false);
  net::co_spawn(
      ioc,
      [this, done]() -> net::awaitable<void> {
        co_await api->watch("/api/v1/events?resourceVersion=" + server->current_rv() + "&watch=1",
                            seconds(30), [](json) -> net::awaitable<bool> { co_return true; });
        *done = true;
      },
      net::detached);
  ASSERT_TRUE(test::run_until(ioc, [&] { return server->open_watches() == 1; }));
  server->end_watches();
  ASSERT_TRUE(test::run_until(ioc, [&] { return *done; }));
  EXPECT_TRUE(get("/api/v1/events").ok());
  EXPECT_EQ(server->connections(), 1u);
}

class ApiClientTlsTest : public ApiClientTest {
 protected:
  void SetUp() override {
    fake_apiserver::options o;
    o.tls = true;
    o.cert_pem = test::pki("server.crt");
    o.key_pem = test::pki("server.key");
    o.client_ca_pem = test::pki("ca.crt");
    start_server(o);
  }
};

// Verifies TLS with a custom CA, host-name verification against the IP SAN, and that a wrong CA
// fails.
TEST_F(ApiClientTlsTest, CustomCaVerifies) {
  rc.ca_pem = test::pki("ca.crt");
  make_api();
  EXPECT_TRUE(get("/api/v1/events").ok());
  rc.ca_pem = test::pki("other-ca.crt");
  make_api();
  auto bad = get("/api/v1/events");
  EXPECT_TRUE(bad.error) << bad.describe();
  rc.insecure = true;
  make_api();
  EXPECT_TRUE(get("/api/v1/events").ok());
}

// Verifies tls-server-name: the certificate is checked against the override name, not the IP.
TEST_F(ApiClientTlsTest, TlsServerNameOverride) {
  rc.ca_pem = test::pki("ca.crt");
  rc.tls_server_name = "kubernetes.default.svc";
  make_api();
  EXPECT_TRUE(get("/api/v1/events").ok());
  rc.tls_server_name = "not-in-the-cert.example";
  make_api();
  EXPECT_TRUE(get("/api/v1/events").error);
}

// Verifies client-certificate authentication (no token needed).
TEST_F(ApiClientTlsTest, ClientCertificateAuth) {
  server->knobs.tokens = {"some-token"};
  rc.ca_pem = test::pki("ca.crt");
  make_api();
  EXPECT_EQ(get("/api/v1/events").status, 401);
  rc.client_cert_pem = test::pki("client.crt");
  rc.client_key_pem = test::pki("client.key");
  make_api();
  EXPECT_TRUE(get("/api/v1/events").ok());
}

// Verifies that an exec plugin returning a client certificate (not a token) is used for TLS
// client authentication.
TEST_F(ApiClientTlsTest, ExecPluginClientCertificate) {
  server->knobs.tokens = {"some-token"};
  const auto dir = temp_dir();
  exec_config e;
  e.command = std::string(KE_TEST_DATA) + "/watch/exec-plugin.sh";
  e.api_version = "client.authentication.k8s.io/v1";
  e.env = {{"KE_CERT_FILE", std::string(KE_TEST_DATA) + "/watch/pki/client.crt"},
           {"KE_KEY_FILE", std::string(KE_TEST_DATA) + "/watch/pki/client.key"},
           {"KE_RUNS_FILE", (dir / "runs").string()},
           {"KE_INFO_FILE", (dir / "info").string()},
           {"KE_FAIL_FILE", (dir / "fail").string()}};
  rc.ca_pem = test::pki("ca.crt");
  rc.exec = e;
  make_api();
  auto r = get("/api/v1/events");
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(server->requests.at(0).authorization, "");
  EXPECT_EQ(api->creds().tls_generation(), 1u);
  EXPECT_TRUE(get("/api/v1/events").ok());
  EXPECT_EQ(api->creds().exec_runs(), 1u);
}

// Verifies that a mismatched client key is refused when the client is built.
TEST_F(ApiClientTlsTest, MismatchedClientKeyIsAnError) {
  rc.ca_pem = test::pki("ca.crt");
  rc.client_cert_pem = test::pki("client.crt");
  rc.client_key_pem = test::pki("server.key");
  std::string error;
  EXPECT_FALSE(api_client::create(ioc.get_executor(), rc, clk, {}, &error));
  EXPECT_NE(error.find("client key"), std::string::npos) << error;
}

// Verifies that a watch stream cut at every byte offset of its first events delivers exactly
// the same events.
TEST_F(ApiClientTest, WatchStreamSplitAtEveryOffset) {
  server->create_event(fake_apiserver::make_event("default", "a.e", "Pulled", "x {\"}\\ y"));
  server->create_event(fake_apiserver::make_event("default", "b.e", "BackOff", "second"));
  make_api();
  // The stream of an RV-0 watch: two synthetic ADDED events.
  std::size_t stream_len = 0;
  {
    auto w = std::make_shared<std::vector<json>>();
    auto done = std::make_shared<bool>(false);
    net::co_spawn(
        ioc,
        [this, w, done]() -> net::awaitable<void> {
          // Named first: GCC 12 destroys a capturing lambda temporary in a co_await twice.
          api_client::event_callback cb = [w](json ev) -> net::awaitable<bool> {
            w->push_back(std::move(ev));
            co_return true;
          };
          co_await api->watch("/api/v1/events?resourceVersion=0&watch=1", seconds(30),
                              std::move(cb));
          *done = true;
        },
        net::detached);
    ASSERT_TRUE(test::run_until(ioc, [&] { return w->size() == 2; }));
    stream_len = server->watch_bytes();
    server->end_watches();
    ASSERT_TRUE(test::run_until(ioc, [&] { return *done; }));
  }
  ASSERT_GT(stream_len, 200u);
  for (std::size_t cut = 1; cut < stream_len; ++cut) {
    server->knobs.split_at = {cut};
    auto w = std::make_shared<std::vector<json>>();
    auto done = std::make_shared<bool>(false);
    net::co_spawn(
        ioc,
        [this, w, done]() -> net::awaitable<void> {
          // Named first: GCC 12 destroys a capturing lambda temporary in a co_await twice.
          api_client::event_callback cb = [w](json ev) -> net::awaitable<bool> {
            w->push_back(std::move(ev));
            co_return true;
          };
          co_await api->watch("/api/v1/events?resourceVersion=0&watch=1", seconds(30),
                              std::move(cb));
          *done = true;
        },
        net::detached);
    ASSERT_TRUE(test::run_until(ioc, [&] { return w->size() == 2; })) << "cut " << cut;
    EXPECT_EQ((*w)[0]["object"]["message"], "x {\"}\\ y");
    EXPECT_EQ((*w)[1]["object"]["reason"], "BackOff");
    server->end_watches();
    ASSERT_TRUE(test::run_until(ioc, [&] { return *done; }));
  }
}

// Verifies that one-byte chunks and many events per chunk both arrive intact.
TEST_F(ApiClientTest, WatchStreamChunkingModes) {
  for (int i = 0; i < 20; ++i) {
    // Zero-padded names: an RV-0 watch sends the synthetic ADDED events in key order.
    server->create_event(fake_apiserver::make_event("default", "p" + std::to_string(10 + i) + ".e",
                                                    "Pulled", "m" + std::to_string(i)));
  }
  make_api();
  for (auto [chunk, per] : {std::pair<std::size_t, std::size_t>{1, 1}, {0, 20}, {7, 3}}) {
    server->knobs.chunk_size = chunk;
    server->knobs.events_per_chunk = per;
    auto w = std::make_shared<std::vector<json>>();
    auto done = std::make_shared<bool>(false);
    net::co_spawn(
        ioc,
        [this, w, done]() -> net::awaitable<void> {
          // Named first: GCC 12 destroys a capturing lambda temporary in a co_await twice.
          api_client::event_callback cb = [w](json ev) -> net::awaitable<bool> {
            w->push_back(std::move(ev));
            co_return true;
          };
          co_await api->watch("/api/v1/events?resourceVersion=0&watch=1", seconds(30),
                              std::move(cb));
          *done = true;
        },
        net::detached);
    ASSERT_TRUE(test::run_until(ioc, [&] { return w->size() == 20; })) << chunk << "/" << per;
    server->end_watches();
    ASSERT_TRUE(test::run_until(ioc, [&] { return *done; }));
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ((*w)[static_cast<std::size_t>(i)]["object"]["message"], "m" + std::to_string(i));
    }
  }
}

// Verifies that malformed JSON and an unknown event type end the watch with a decode error.
TEST_F(ApiClientTest, WatchDecodeErrors) {
  make_api();
  for (const std::string& raw : {std::string("{\"type\":\"ADDED\",\"object\":{]}\n"),
                                 std::string("{\"type\":\"RENAMED\",\"object\":{}}\n")}) {
    auto res = std::make_shared<std::optional<api_response>>();
    net::co_spawn(
        ioc,
        [this, res]() -> net::awaitable<void> {
          *res = co_await api->watch(
              "/api/v1/events?resourceVersion=" + server->current_rv() + "&watch=1", seconds(30),
              [](json) -> net::awaitable<bool> { co_return true; });
        },
        net::detached);
    ASSERT_TRUE(test::run_until(ioc, [&] { return server->open_watches() == 1; }));
    server->send_raw(raw);
    ASSERT_TRUE(test::run_until(ioc, [&] { return res->has_value(); }));
    EXPECT_FALSE((*res)->decode_error.empty()) << raw;
    EXPECT_FALSE((*res)->ok());
    server->end_watches();
    test::run_until(ioc, [&] { return server->open_watches() == 0; });
  }
}

}  // namespace
}  // namespace ke::kube
