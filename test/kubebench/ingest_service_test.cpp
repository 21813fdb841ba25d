// The wired ingest: its own TLS listener, records into the dispatcher's receiver queues.
#include "kubebench/ingest_service.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "core/http_client.hpp"
#include "kubebench/post_bench.hpp"
#include "route/rule_tree.hpp"
#include "server/test_support.hpp"
#include "sinks/null_sink.hpp"

namespace ke::kubebench {
namespace {

const std::string tls_dir = std::string(KE_TEST_DATA) + "/tls";

std::string read(const std::string& name) {
  std::ifstream in(std::string(KE_TEST_DATA) + "/kubebench/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

submit_fn submit_to(pipeline::dispatcher& d) {
  return [&d](const std::vector<record_ptr>& rs) { return d.admit(rs); };
}

// Verifies that ingest.tls serves HTTPS on the ingest address and that an accepted report's
// checks land in the queue of the receiver the route tree names.
TEST(IngestService, TlsListenerFeedsReceivers) {
  net::io_context ioc{1};
  ke::metrics m("event_exporter_");
  config::config cfg;
  cfg.ingest.enabled = true;
  cfg.ingest.address = "127.0.0.1:0";
  cfg.ingest.auth_mode = config::ingest_auth_mode::none;
  cfg.ingest.tls_cert_file = tls_dir + "/server.pem";
  cfg.ingest.tls_key_file = tls_dir + "/server.key";
  config::route root;
  root.path = "route";
  config::rule r;
  r.kind = "^KubeBench$";
  r.receiver = "bench";
  r.path = "route.match[0]";
  root.match = {r};
  diagnostics problems;
  auto tree = route::rule_tree::compile(root, {"bench"}, problems);
  ASSERT_NE(tree, nullptr);
  // The receiver's drain is not started: accepted records stay in its queue.
  pipeline::receiver rc(ioc.get_executor(), "bench", config::queue{},
                        std::make_unique<sinks::null_sink>("test"), m);
  pipeline::dispatcher d(*tree, {&rc}, m);
  auto svc = ingest_service::create(ioc.get_executor(), cfg, "", "", submit_to(d), m, problems);
  ASSERT_NE(svc, nullptr) << (problems.empty() ? "" : problems[0].to_string());
  const auto port = svc->start();

  tls_options t;
  t.ca_file = tls_dir + "/ca.pem";
  diagnostics tls_problems;
  auto ctx = http_client::make_tls_context(t, "test", tls_problems);
  ASSERT_NE(ctx, nullptr);
  auto origin = url::parse("https://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(origin);
  http_client client(ioc.get_executor(), *origin, ctx, t);
  http_request req{http::verb::post, "/api/v1/kube-bench?node=wk1&target=node", 11};
  req.set(http::field::content_type, "application/json");
  req.body() = read("result.json");
  req.prepare_payload();
  http_result res;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        res = co_await client.send(std::move(req), std::chrono::seconds(10));
        svc->stop();  // closes the listener: run() returns once nothing is left
        client.close();
      },
      net::detached);
  ioc.run_for(std::chrono::seconds(30));  // a deadline, not a wait: returns when done
  ASSERT_FALSE(res.error) << res.error.message();
  EXPECT_EQ(res.response.result(), http::status::accepted) << res.response.body();
  EXPECT_EQ(rc.size(), 3u);
  EXPECT_NE(m.serialize().find("kube_bench_info{kube_bench_node_name=\"wk1\""), std::string::npos);
}

// Verifies that post-bench (what the chart's kube-bench Jobs run) posts to a TLS ingest when
// given the ingest's CA (-ca-file), and refuses a server its trust store does not know.
TEST(IngestService, PostBenchTrustsTheGivenCa) {
  net::io_context ioc{1};
  ke::metrics m("event_exporter_");
  config::config cfg;
  cfg.ingest.enabled = true;
  cfg.ingest.address = "127.0.0.1:0";
  cfg.ingest.auth_mode = config::ingest_auth_mode::none;
  cfg.ingest.tls_cert_file = tls_dir + "/server.pem";
  cfg.ingest.tls_key_file = tls_dir + "/server.key";
  std::size_t admitted = 0;
  diagnostics problems;
  auto svc = ingest_service::create(
      ioc.get_executor(), cfg, "", "",
      [&admitted](const std::vector<record_ptr>& rs) {
        admitted += rs.size();
        return pipeline::admission::accepted;
      },
      m, problems);
  ASSERT_NE(svc, nullptr) << (problems.empty() ? "" : problems[0].to_string());
  const auto port = svc->start();
  auto guard = net::make_work_guard(ioc);
  std::thread io([&ioc] { ioc.run(); });

  post_bench_options o;
  o.file = std::string(KE_TEST_DATA) + "/kubebench/result.json";
  o.url = "https://127.0.0.1:" + std::to_string(port);
  o.node = "wk1";
  o.target = "node";
  o.retries = 0;
  std::ostringstream out;
  std::ostringstream err;
  const int without_ca = post_bench(o, out, err);
  o.ca_file = tls_dir + "/ca.pem";
  const int with_ca = post_bench(o, out, err);

  net::post(ioc, [&] {
    svc->stop();
    guard.reset();
  });
  io.join();
  EXPECT_NE(without_ca, 0);
  EXPECT_EQ(with_ca, 0) << err.str();
  EXPECT_EQ(admitted, 3u);
}

// Verifies that the ingest authenticates on the header: a client without the token that
// announces an 8 MiB body gets 401 at once and the body is never read (so unauthenticated
// clients cannot make the exporter hold request bodies).
TEST(IngestService, UnauthenticatedBodyIsNeverRead) {
  server::test::temp_dir dir;
  net::io_context ioc{1};
  ke::metrics m("event_exporter_");
  config::config cfg;
  cfg.ingest.enabled = true;
  cfg.ingest.address = "127.0.0.1:0";
  cfg.ingest.auth_mode = config::ingest_auth_mode::static_token;
  cfg.ingest.token_file = dir.write("token", "s3cret\n");
  diagnostics problems;
  auto svc = ingest_service::create(
      ioc.get_executor(), cfg, "", "",
      [](const std::vector<record_ptr>&) { return pipeline::admission::accepted; }, m, problems);
  ASSERT_NE(svc, nullptr) << (problems.empty() ? "" : problems[0].to_string());
  const auto port = svc->start();
  auto guard = net::make_work_guard(ioc);
  std::thread io([&ioc] { ioc.run(); });

  server::test::client c;
  ASSERT_FALSE(c.connect(port));
  ASSERT_FALSE(
      c.write_raw("POST /api/v1/kube-bench?node=wk1 HTTP/1.1\r\nHost: x\r\n"
                  "Content-Type: application/json\r\nContent-Length: 8388608\r\n\r\n"));
  server::test::client_response res;
  const auto ec = c.read(res);

  net::post(ioc, [&] {
    svc->stop();
    guard.reset();
  });
  io.join();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(res[http::field::www_authenticate], "Bearer");
  EXPECT_FALSE(res.keep_alive());
}

// Verifies that bad ingest settings are reported as problems naming the key.
TEST(IngestService, BadSettingsAreProblems) {
  net::io_context ioc{1};
  ke::metrics m("");
  config::config cfg;
  cfg.ingest.enabled = true;
  cfg.ingest.auth_mode = config::ingest_auth_mode::static_token;
  cfg.ingest.token_file = "/nonexistent/token";
  diagnostics problems;
  auto tree = route::rule_tree::compile({}, {}, problems);
  pipeline::dispatcher d(*tree, {}, m);
  EXPECT_EQ(ingest_service::create(ioc.get_executor(), cfg, "", "", submit_to(d), m, problems),
            nullptr);
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems[0].path, "ingest.auth.tokenFile");

  problems.clear();
  cfg.ingest.auth_mode = config::ingest_auth_mode::none;
  EXPECT_EQ(
      ingest_service::create(ioc.get_executor(), cfg, "bad-address", "", submit_to(d), m, problems),
      nullptr);
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems[0].path, "-ingest-address");
}

}  // namespace
}  // namespace ke::kubebench
