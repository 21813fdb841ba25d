#include "sinks/loki/loki_sink.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "sinks/loki_fixture.hpp"

namespace ke::sinks::loki {
namespace {

using std::chrono::milliseconds;

class LokiSinkTest : public LokiSinkFixture {
 protected:
  LokiSinkTest() : LokiSinkFixture("/tmp/ke-loki-sink-test-XXXXXX") {}

  // Event i at time t (ns): its line says which one it is.
  static record_ptr rec(int i, std::int64_t t, const std::string& ns = "default",
                        std::size_t pad = 0) {
    auto r = std::make_shared<record>();
    r->namespace_ = ns;
    r->reason = "BackOff";
    r->uid = "uid-" + std::to_string(i);
    r->time_ns = t;
    r->line = R"({"i":)" + std::to_string(i) + R"(,"msg":")" + std::string(pad, 'm') + R"("})";
    r->source_position = r->uid + "/" + std::to_string(1000 + i);
    return r;
  }
  static std::vector<record_ptr> recs(int from, int n, std::size_t pad = 0) {
    std::vector<record_ptr> v;
    for (int i = from; i < from + n; ++i) {
      v.push_back(rec(i, 1'700'000'000'000'000'000 + static_cast<std::int64_t>(i) * 1'000'000,
                      "default", pad));
    }
    return v;
  }
  send_result send(loki_sink& s, std::vector<record_ptr> v) {
    return test::run_coro(ioc_, s.send(std::move(v)));
  }
  bool stored(std::size_t n, milliseconds limit = milliseconds(20000)) {
    return test::run_until(
        ioc_, [&] { return loki_->stored().size() >= n; }, limit);
  }
  bool idle(loki_sink& s, milliseconds limit = milliseconds(20000)) {
    return test::run_until(
        ioc_, [&] { return s.idle(); }, limit);
  }

  // Every stored line is one of [0, n) exactly once and in that order.
  void expect_all_in_order(int n) {
    ASSERT_EQ(loki_->stored().size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(index_of(loki_->stored()[static_cast<std::size_t>(i)].line), i) << "at " << i;
    }
  }
};

// ---- the happy path ----------------------------------------------------------------------

// Verifies that entries reach Loki with the stream labels, the record's own time and line, as
// snappy protobuf on /loki/api/v1/push, and are acknowledged.
TEST_F(LokiSinkTest, DeliversWithLabelsAndEventTime) {
  auto c = cfg();
  c.structured_metadata = {"uid"};
  auto s = make(c);
  ASSERT_TRUE(s);
  auto v = recs(0, 3);
  v.push_back(rec(3, 1'600'000'000'123'456'789, "kube-system"));
  EXPECT_EQ(send(*s, v), send_result::ok);
  ASSERT_TRUE(stored(4));
  const auto& e = loki_->stored();
  EXPECT_EQ(e[0].labels, R"({job="kubernetes-event", namespace="default"})");
  EXPECT_EQ(e[0].time_ns, 1'700'000'000'000'000'000);
  EXPECT_EQ(e[0].line, R"({"i":0,"msg":""})");
  EXPECT_EQ(e[0].metadata, (string_pairs{{"uid", "uid-0"}}));
  EXPECT_EQ(e[3].labels, R"({job="kubernetes-event", namespace="kube-system"})");
  EXPECT_EQ(e[3].time_ns, 1'600'000'000'123'456'789);
  ASSERT_FALSE(loki_->pushes().empty());
  EXPECT_EQ(loki_->pushes()[0].content_type, "application/x-protobuf");
  ASSERT_TRUE(idle(*s));
  EXPECT_EQ(value("loki_entries_sent_total"), 4);
  EXPECT_GE(batches("204"), 1);
  EXPECT_EQ(acks_.delivered_positions.size(), 4u);
  EXPECT_EQ(acks_.delivered_positions[0], "uid-0/1000");
  close(*s);
}

// Verifies that entries are sorted by time within a stream in each push.
TEST_F(LokiSinkTest, SortsEntriesWithinAPush) {
  auto c = cfg();
  c.batch_wait = milliseconds(100000);
  auto s = make(c);
  send(*s, {rec(0, 3000), rec(1, 1000), rec(2, 2000)});
  close(*s);
  ASSERT_EQ(loki_->pushes().size(), 1u);
  const auto& p = loki_->pushes()[0].entries;
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].time_ns, 1000);
  EXPECT_EQ(p[1].time_ns, 2000);
  EXPECT_EQ(p[2].time_ns, 3000);
}

// Verifies that pushes are split at batchSize bytes.
TEST_F(LokiSinkTest, SplitsPushesByBatchSize) {
  auto c = cfg();
  c.batch_size = 1000;
  auto s = make(c);
  send(*s, recs(0, 10, 300));
  ASSERT_TRUE(stored(10));
  EXPECT_GE(loki_->pushes().size(), 4u);
  for (const auto& p : loki_->pushes()) {
    EXPECT_LE(p.line_bytes, 1000u);
  }
  expect_all_in_order(10);
  close(*s);
}

// Verifies that a partial batch is pushed once batchWait has passed, without further records.
TEST_F(LokiSinkTest, PushesAfterBatchWait) {
  auto s = make(cfg());
  send(*s, recs(0, 1));
  EXPECT_EQ(loki_->requests(), 0u);
  ASSERT_TRUE(stored(1, milliseconds(5000)));
  close(*s);
}

// Verifies that close() pushes the open batch even when batchWait is far away.
TEST_F(LokiSinkTest, CloseFlushesTheOpenBatch) {
  auto c = cfg();
  c.batch_wait = milliseconds(3600000);
  auto s = make(c);
  send(*s, recs(0, 5));
  EXPECT_EQ(s->open_entries(), 5u);
  close(*s);
  expect_all_in_order(5);
  EXPECT_EQ(loki_->requests(), 1u);
}

// Verifies that the tenant, basic auth and extra headers are sent.
TEST_F(LokiSinkTest, TenantBasicAuthAndHeaders) {
  auto c = cfg();
  c.tenant = "team-a";
  c.basic_auth.username = "user";
  c.basic_auth.password = "pass";
  c.headers = {{"X-Extra", "1"}};
  auto s = make(c);
  send(*s, recs(0, 1));
  ASSERT_TRUE(stored(1));
  const auto& req = loki_->pushes()[0].request;
  EXPECT_EQ(req["X-Scope-OrgID"], "team-a");
  EXPECT_EQ(req[http::field::authorization], "Basic dXNlcjpwYXNz");
  EXPECT_EQ(req["X-Extra"], "1");
  close(*s);
}

// Verifies that a bearer token is read from bearerTokenFile (trailing newline trimmed).
TEST_F(LokiSinkTest, BearerTokenFile) {
  const std::string file = tmp_ + "/token";
  std::ofstream(file) << "s3cret\n";
  auto c = cfg();
  c.bearer_token_file = file;
  auto s = make(c);
  send(*s, recs(0, 1));
  ASSERT_TRUE(stored(1));
  EXPECT_EQ(loki_->pushes()[0].request[http::field::authorization], "Bearer s3cret");
  EXPECT_TRUE(loki_->pushes()[0].request.find("X-Scope-OrgID") == loki_->pushes()[0].request.end());
  close(*s);
}

// Verifies that the tls settings are applied: https with caFile and serverName works, and a
// server the CA did not sign is refused (resmoio ignored its loki tls block).
TEST_F(LokiSinkTest, HttpsUsesTheTlsSettings) {
  const std::string tls_dir = std::string(KE_TEST_DATA) + "/tls";
  test::fake_loki secure(ioc_.get_executor(), test::http_test_server::make_tls(tls_dir));
  auto c = cfg();
  c.url = secure.url();
  c.tls.ca_file = tls_dir + "/ca.pem";
  c.tls.server_name = "loki.test";
  auto s = make(c);
  ASSERT_TRUE(s);
  send(*s, recs(0, 2));
  ASSERT_TRUE(test::run_until(ioc_, [&] { return secure.stored().size() == 2; }));
  close(*s);

  c.tls.ca_file = tls_dir + "/other-ca.pem";
  c.max_retries = 1;
  auto bad = make(c, nullptr, "bad");
  ASSERT_TRUE(bad);
  send(*bad, recs(2, 1));
  ASSERT_TRUE(idle(*bad));
  EXPECT_EQ(secure.stored().size(), 2u);
  EXPECT_EQ(counter("loki_entries_dropped_total", {{"receiver", "bad"}, {"reason", "max_retries"}}),
            1);
  close(*bad);
}

// Verifies that a missing caFile is a diagnostic naming the key.
TEST_F(LokiSinkTest, MissingCaFileIsADiagnostic) {
  auto c = cfg();
  c.url = "https://loki.example/loki/api/v1/push";
  c.tls.ca_file = tmp_ + "/nope.pem";
  diagnostics d;
  EXPECT_FALSE(make(c, &d));
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d.back().path, "receivers[0].loki.tls.caFile");
}

// Verifies the JSON encoding with gzip reaches Loki intact.
TEST_F(LokiSinkTest, JsonGzipEncoding) {
  auto c = cfg();
  c.encoding = config::loki_encoding::json;
  c.gzip = true;
  auto s = make(c);
  send(*s, recs(0, 3));
  ASSERT_TRUE(stored(3));
  EXPECT_EQ(loki_->pushes()[0].content_type, "application/json");
  EXPECT_EQ(loki_->pushes()[0].content_encoding, "gzip");
  EXPECT_EQ(loki_->stored()[0].labels, R"({job="kubernetes-event", namespace="default"})");
  expect_all_in_order(3);
  close(*s);
}

// Verifies that long lines are truncated (policy truncate) on a UTF-8 boundary.
TEST_F(LokiSinkTest, LongLinesTruncated) {
  auto c = cfg();
  c.max_line_size = 12;
  auto s = make(c);
  send(*s, recs(0, 1, 50));
  ASSERT_TRUE(stored(1));
  EXPECT_EQ(loki_->stored()[0].line, R"({"i":0,"msg")");
  EXPECT_EQ(value("loki_lines_truncated_total"), 1);
  close(*s);
}

// Verifies that long lines are dropped and counted with policy drop.
TEST_F(LokiSinkTest, LongLinesDropped) {
  auto c = cfg();
  c.max_line_size = 30;
  c.on_line_too_long = config::line_too_long::drop;
  auto s = make(c);
  send(*s, {rec(0, 1, "default", 50), rec(1, 2)});
  ASSERT_TRUE(stored(1));
  ASSERT_TRUE(idle(*s));
  EXPECT_EQ(loki_->stored().size(), 1u);
  EXPECT_EQ(dropped("line_too_long"), 1);
  EXPECT_EQ(s->take_errors(), 1u);
  ASSERT_EQ(acks_.dropped_positions.size(), 1u);
  EXPECT_EQ(acks_.dropped_positions[0].second, "line_too_long");
  close(*s);
}

// ---- faults --------------------------------------------------------------------------------

// Verifies that a 429 is retried no sooner than its Retry-After says.
TEST_F(LokiSinkTest, HonoursRetryAfterOn429) {
  loki_->script(test::reply::code(429).header("Retry-After", "1").with_body("rate limited"));
  auto c = cfg();
  c.max_backoff = milliseconds(5000);  // Retry-After is honoured up to maxBackoff
  auto s = make(c);
  send(*s, recs(0, 3));
  ASSERT_TRUE(stored(3));
  ASSERT_EQ(loki_->requests(), 2u);
  const auto gap = loki_->pushes()[1].at - loki_->pushes()[0].at;
  EXPECT_GE(gap, milliseconds(950));
  EXPECT_EQ(batches("429"), 1);
  EXPECT_EQ(value("loki_retries_total"), 1);
  expect_all_in_order(3);
  close(*s);
}

// Verifies that 500s are retried with backoff until Loki accepts the batch.
TEST_F(LokiSinkTest, Retries500ThenSucceeds) {
  for (int i = 0; i < 3; ++i) {
    loki_->script(test::reply::code(500).with_body("internal error"));
  }
  auto s = make(cfg());
  send(*s, recs(0, 5));
  ASSERT_TRUE(stored(5));
  ASSERT_TRUE(idle(*s));
  EXPECT_EQ(loki_->requests(), 4u);
  EXPECT_EQ(batches("500"), 3);
  EXPECT_EQ(value("loki_retries_total"), 3);
  EXPECT_EQ(value("loki_entries_sent_total"), 5);
  expect_all_in_order(5);
  close(*s);
}

// Verifies that a partial 400 is not retried, the valid entries are stored, the rejected ones
// counted dropped and acknowledged as dropped.
TEST_F(LokiSinkTest, Partial400IsNotRetried) {
  loki_->reject_if([](const test::loki_entry& e) -> std::optional<std::string> {
    const int i = std::stoi(e.line.substr(5));
    if (i % 2 == 1) {
      return std::string("entry too far behind");
    }
    return std::nullopt;
  });
  auto s = make(cfg());
  send(*s, recs(0, 5));
  ASSERT_TRUE(idle(*s));
  EXPECT_EQ(loki_->requests(), 1u);
  EXPECT_EQ(loki_->stored().size(), 3u);
  EXPECT_EQ(batches("400"), 1);
  EXPECT_EQ(dropped("bad_request"), 2);
  EXPECT_EQ(value("loki_entries_sent_total"), 3);
  EXPECT_EQ(acks_.dropped_positions.size(), 5u);
  close(*s);
  EXPECT_EQ(loki_->requests(), 1u);
}

// Verifies that a server slower than the timeout makes the push time out and be retried, and
// that Loki's duplicate rule keeps the stored entries exactly once.
TEST_F(LokiSinkTest, SlowServerTimesOutAndRetries) {
  loki_->script(test::reply::code(204).after(milliseconds(1500)));
  auto c = cfg();
  c.timeout = milliseconds(200);
  auto s = make(c);
  send(*s, recs(0, 4));
  ASSERT_TRUE(test::run_until(ioc_, [&] { return loki_->requests() >= 2 && s->idle(); }));
  EXPECT_EQ(batches("error"), 1);
  EXPECT_EQ(batches("204"), 1);
  expect_all_in_order(4);
  close(*s);
}

// Verifies that a connection reset in the middle of the answer is retried.
TEST_F(LokiSinkTest, ConnectionResetMidBodyIsRetried) {
  loki_->script(test::reply::code(200).with_body(std::string(200, 'x')).resetting());
  auto s = make(cfg());
  send(*s, recs(0, 4));
  ASSERT_TRUE(stored(4));
  EXPECT_EQ(loki_->requests(), 2u);
  EXPECT_EQ(batches("error"), 1);
  expect_all_in_order(4);
  close(*s);
}

// Verifies that 401 is retried (credentials may be rotated) rather than dropped.
TEST_F(LokiSinkTest, UnauthorizedIsRetried) {
  loki_->script(test::reply::code(401).with_body("no org id"));
  auto s = make(cfg());
  send(*s, recs(0, 2));
  ASSERT_TRUE(stored(2));
  EXPECT_EQ(batches("401"), 1);
  close(*s);
}

// Verifies that other client errors (404) drop the batch without retrying.
TEST_F(LokiSinkTest, NotFoundIsDropped) {
  loki_->script(test::reply::code(404).with_body("404 page not found"));
  auto s = make(cfg());
  send(*s, recs(0, 2));
  ASSERT_TRUE(idle(*s));
  EXPECT_EQ(loki_->requests(), 1u);
  EXPECT_EQ(dropped("client_error"), 2);
  close(*s);
}

// Verifies that without a spool a batch is given up after maxRetries retries, as promtail does.
TEST_F(LokiSinkTest, GivesUpAfterMaxRetriesWithoutSpool) {
  loki_->always(test::reply::code(503).with_body("unavailable"));
  auto c = cfg();
  c.max_retries = 2;
  auto s = make(c);
  send(*s, recs(0, 3));
  ASSERT_TRUE(idle(*s));
  EXPECT_EQ(loki_->requests(), 3u);
  EXPECT_EQ(dropped("max_retries"), 3);
  EXPECT_EQ(acks_.dropped_positions.size(), 3u);
  close(*s);
}

// Verifies that without a spool a full memory queue pushes back (retry) instead of dropping.
TEST_F(LokiSinkTest, FullMemoryQueuePushesBack) {
  loki_->down();
  auto c = cfg();
  c.max_queued_bytes = 100;
  c.max_retries = 1000;
  auto s = make(c);
  EXPECT_EQ(send(*s, recs(0, 50, 100)), send_result::ok);
  ASSERT_TRUE(test::run_until(ioc_, [&] { return s->open_entries() == 0; }));
  EXPECT_EQ(send(*s, recs(50, 10)), send_result::retry);
  loki_->up();
  ASSERT_TRUE(stored(50));
  // Loki has them; the sink frees their memory once it has read Loki's answer.
  ASSERT_TRUE(idle(*s));
  EXPECT_EQ(send(*s, recs(50, 10)), send_result::ok);
  ASSERT_TRUE(stored(60));
  expect_all_in_order(60);
  close(*s);
}

// Verifies the outage scenario: Loki is down while a minute's worth of records at 1k/s arrives;
// memory stays bounded by spilling to the spool, nothing is lost, and once Loki is back every
// entry arrives exactly once and in order.
TEST_F(LokiSinkTest, OutageSpillsToSpoolAndReplaysInOrder) {
  loki_->down();
  auto c = cfg();
  c.batch_size = 64 << 10;
  c.max_queued_bytes = 256 << 10;
  c.spool.dir = tmp_ + "/spool";
  c.max_backoff = milliseconds(20);
  auto s = make(c);
  ASSERT_TRUE(s);
  constexpr int total = 60000;
  constexpr int chunk = 1000;
  std::size_t biggest_chunk_bytes = 0;
  for (int i = 0; i < total; i += chunk) {
    auto v = recs(i, chunk, 300);
    std::size_t bytes = 0;
    for (const auto& r : v) {
      bytes += r->line.size();
    }
    biggest_chunk_bytes = std::max(biggest_chunk_bytes, bytes);
    ASSERT_EQ(send(*s, std::move(v)), send_result::ok) << i;
  }
  ASSERT_NE(s->disk_spool(), nullptr);
  EXPECT_GT(s->disk_spool()->batches(), 0u);
  EXPECT_GT(value("loki_entries_spooled_total"), 0);
  EXPECT_EQ(loki_->stored().size(), 0u);
  // Memory: the limit, plus what one send adds before it spills, plus the open batch.
  const std::size_t bound = c.max_queued_bytes + biggest_chunk_bytes + c.batch_size;
  EXPECT_LE(s->peak_queued_bytes(), bound);
  std::printf("outage: peak queued %zu bytes (bound %zu), spool %llu bytes in %zu batches\n",
              s->peak_queued_bytes(), bound,
              static_cast<unsigned long long>(s->disk_spool()->bytes()),
              s->disk_spool()->batches());
  // Every record is acknowledged (spooled or in memory and then delivered) exactly once.
  loki_->up();
  ASSERT_TRUE(stored(total, milliseconds(120000)));
  ASSERT_TRUE(idle(*s));
  expect_all_in_order(total);
  EXPECT_EQ(s->disk_spool()->batches(), 0u);
  EXPECT_EQ(acks_.delivered_positions.size(), static_cast<std::size_t>(total));
  EXPECT_EQ(
      std::set<std::string>(acks_.delivered_positions.begin(), acks_.delivered_positions.end())
          .size(),
      static_cast<std::size_t>(total));
  EXPECT_TRUE(acks_.dropped_positions.empty());
  close(*s);
}

// Verifies that the spool survives a restart: a sink shut down while Loki is down leaves its
// batches on disk, and a new sink on the same directory replays them in order.
TEST_F(LokiSinkTest, SpoolSurvivesRestart) {
  loki_->down();
  auto c = cfg();
  c.batch_size = 4 << 10;
  c.max_queued_bytes = 16 << 10;
  c.spool.dir = tmp_ + "/spool";
  {
    auto s = make(c);
    for (int i = 0; i < 3000; i += 500) {
      ASSERT_EQ(send(*s, recs(i, 500, 40)), send_result::ok);
    }
    close(*s, milliseconds(1000));
    EXPECT_EQ(dropped("shutdown"), 0);
    EXPECT_EQ(acks_.delivered_positions.size(), 3000u);
  }
  EXPECT_EQ(loki_->stored().size(), 0u);
  loki_->up();
  auto s = make(c);
  ASSERT_TRUE(stored(3000));
  ASSERT_TRUE(idle(*s));
  expect_all_in_order(3000);
  close(*s);
}

// Verifies that without a spool, what cannot be delivered by the shutdown deadline is counted
// dropped (reason shutdown) and acknowledged as such.
TEST_F(LokiSinkTest, ShutdownWithoutSpoolCountsLosses) {
  loki_->down();
  auto c = cfg();
  c.max_retries = 1000;
  auto s = make(c);
  send(*s, recs(0, 7));
  close(*s, milliseconds(300));
  EXPECT_EQ(dropped("shutdown"), 7);
  EXPECT_EQ(acks_.dropped_positions.size(), 7u);
}

// ---- construction --------------------------------------------------------------------------

// Verifies that a bad url is a diagnostic naming the key, and no sink is built.
TEST_F(LokiSinkTest, BadUrlIsADiagnostic) {
  auto c = cfg();
  c.url = "loki:3100";
  diagnostics d;
  EXPECT_FALSE(make(c, &d));
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d[0].path, "receivers[0].loki.url");
}

// Verifies that two receivers cannot share one spool directory.
TEST_F(LokiSinkTest, SpoolDirectoryIsExclusive) {
  auto c = cfg();
  c.spool.dir = tmp_ + "/spool";
  auto first = make(c);
  ASSERT_TRUE(first);
  diagnostics d;
  EXPECT_FALSE(make(c, &d));
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d.back().path, "receivers[0].loki.spool.dir");
  auto other = make(c, nullptr, "other");  // another receiver name: its own subdirectory
  EXPECT_TRUE(other);
  close(*first);
  close(*other);
}

// Verifies the checks check-config relies on: auth conflicts, sizes, backoff order.
TEST_F(LokiSinkTest, ValidateConfig) {
  auto c = cfg();
  c.basic_auth.username = "u";
  c.basic_auth.password = "p";
  c.basic_auth.password_file = "/f";
  c.bearer_token = "t";
  c.batch_size = 10 << 20;
  c.min_backoff = milliseconds(100);
  c.max_backoff = milliseconds(10);
  c.max_retries = -1;
  diagnostics d;
  validate_loki_config(c, "r", d);
  auto has = [&](const std::string& path, diagnostic::level l) {
    return std::any_of(d.begin(), d.end(),
                       [&](const diagnostic& x) { return x.path == path && x.severity == l; });
  };
  EXPECT_TRUE(has("r.basicAuth.passwordFile", diagnostic::level::error));
  EXPECT_TRUE(has("r.bearerToken", diagnostic::level::error));
  EXPECT_TRUE(has("r.batchSize", diagnostic::level::warning));
  EXPECT_TRUE(has("r.maxBackoff", diagnostic::level::error));
  EXPECT_TRUE(has("r.maxRetries", diagnostic::level::error));
  diagnostics ok;
  validate_loki_config(cfg(), "r", ok);
  EXPECT_FALSE(has_errors(ok));
}

}  // namespace
}  // namespace ke::sinks::loki
