#include "server/metrics_route.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace ke::server {
namespace {

using test::client;
using test::client_response;
using test::loopback_options;
using test::running_server;
using ::testing::HasSubstr;

// A metrics registry with some values in every family, resmoio's and ours.
void fill(ke::metrics& m) {
  m.events_sent.inc(3);
  m.events_discarded.inc();
  m.watch_errors.inc(2);
  m.send_event_errors.inc();
  m.kube_api_read_cache_hits.inc(5);
  m.kube_api_read_cache_misses.inc(4);
  m.queue_depth("loki").Set(7);
  m.queue_depth("dump").Set(0);
  m.records_sent("loki").Increment(11);
  m.records_dropped("loki", "queue_full").Increment(2);
  m.records_dropped("dump", "rejected").Increment();
  m.records_routed_nowhere().Increment();
}

client_response scrape(unsigned short port, http::verb method = http::verb::get) {
  client c;
  EXPECT_FALSE(c.connect(port));
  client_response res;
  EXPECT_FALSE(c.request(method, "/metrics", res));
  return res;
}

// Verifies that GET /metrics answers the serialized registry with the 0.0.4 text content type.
TEST(MetricsRoute, ServesSerializedMetricsWithContentType) {
  ke::metrics m("event_exporter_", "1.2.3", "abc");
  fill(m);
  running_server s(loopback_options());
  add_metrics_route(s.server(), m);
  const auto res = scrape(s.start());
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(res.body(), m.serialize());
}

// Verifies that the resmoio metric names, with the metricsNamePrefix, are exposed with their
// values, next to the per-receiver families.
TEST(MetricsRoute, ExposesResmoioNamesWithPrefix) {
  ke::metrics m("event_exporter_", "1.2.3", "abc");
  fill(m);
  running_server s(loopback_options());
  add_metrics_route(s.server(), m);
  const auto body = scrape(s.start()).body();
  for (const char* line :
       {"\nevent_exporter_events_sent 3\n", "\nevent_exporter_events_discarded 1\n",
        "\nevent_exporter_watch_errors 2\n", "\nevent_exporter_send_event_errors 1\n",
        "\nevent_exporter_kube_api_read_cache_hits 5\n",
        "\nevent_exporter_kube_api_read_cache_misses 4\n",
        "\nevent_exporter_receiver_queue_depth{receiver=\"loki\"} 7\n",
        "\nevent_exporter_receiver_records_sent_total{receiver=\"loki\"} 11\n",
        "\nevent_exporter_receiver_records_dropped_total{reason=\"queue_full\",receiver=\"loki\"} "
        "2\n"}) {
    EXPECT_THAT(body, HasSubstr(line));
  }
  EXPECT_THAT(body, HasSubstr("event_exporter_build_info{version=\"1.2.3\",revision=\"abc\""));
}

// Verifies that `promtool check metrics` accepts the exposition served over HTTP. promtool comes
// from the Debian package "prometheus"; without it this test fails.
TEST(MetricsRoute, PromtoolCheckMetricsAcceptsTheExposition) {
  const auto promtool = test::find_on_path("promtool");
  ASSERT_FALSE(promtool.empty())
      << "promtool not found on PATH: install the Debian package 'prometheus' (apt-get install "
         "prometheus) to run this test";
  ke::metrics m("event_exporter_", "1.2.3", "abc");
  fill(m);
  running_server s(loopback_options());
  add_metrics_route(s.server(), m);
  const auto res = scrape(s.start());
  ASSERT_EQ(res.result(), http::status::ok);

  test::temp_dir dir;
  const auto file = dir.write("metrics.txt", res.body());
  std::string output;
  const int status = test::run_command("'" + promtool + "' check metrics < '" + file + "'", output);
  EXPECT_EQ(status, 0) << "promtool check metrics said:\n" << output << "\nfor:\n" << res.body();
}

// Verifies that HEAD /metrics gives the headers (Content-Length of the body) without a body.
TEST(MetricsRoute, HeadGivesLengthWithoutBody) {
  ke::metrics m("");
  running_server s(loopback_options());
  add_metrics_route(s.server(), m);
  const auto res = scrape(s.start(), http::verb::head);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_TRUE(res.body().empty());
  EXPECT_EQ(res[http::field::content_length], std::to_string(m.serialize().size()));
}

}  // namespace
}  // namespace ke::server
