#include "kubebench/gauges.hpp"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace ke::kubebench {
namespace {

report make(std::string node, std::string target, totals t, std::string syntax = "") {
  report r;
  r.node_name = std::move(node);
  r.target = std::move(target);
  r.syntax = syntax.empty() ? "kube-bench run --targets=" + r.target : syntax;
  r.totals = t;
  return r;
}

std::string text(prometheus::Registry& reg) {
  return prometheus::TextSerializer().Serialize(reg.Collect());
}

// Verifies the series of the design, with the totals as values.
TEST(KubeBenchGauges, ExposesTotals) {
  prometheus::Registry reg;
  gauges g(reg);
  g.update(make("wk1-k8s", "node", {17, 3, 5, 0}), 1700000000);
  const auto t = text(reg);
  EXPECT_NE(t.find("kube_bench_info{kube_bench_node_name=\"wk1-k8s\","
                   "kube_bench_syntax=\"kube-bench run --targets=node\",kube_bench_target=\"node\","
                   "kube_bench_type=\"total_fail\"} 3"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("kube_bench_type=\"total_pass\"} 17"), std::string::npos);
  EXPECT_NE(t.find("kube_bench_last_report_timestamp_seconds{kube_bench_node_name=\"wk1-k8s\","
                   "kube_bench_target=\"node\"} 1700000000"),
            std::string::npos)
      << t;
}

// Verifies that a new report for the same node and target replaces the old series, also when
// the syntax changed, and that other pairs stay.
TEST(KubeBenchGauges, NewReportReplacesSeries) {
  prometheus::Registry reg;
  gauges g(reg);
  g.update(make("a", "node", {1, 1, 1, 1}, "old"), 1);
  g.update(make("b", "node", {2, 2, 2, 2}), 1);
  g.update(make("a", "node", {9, 9, 9, 9}, "new"), 2);
  EXPECT_EQ(g.pairs(), 2u);
  const auto t = text(reg);
  EXPECT_EQ(t.find("kube_bench_syntax=\"old\""), std::string::npos) << t;
  EXPECT_NE(t.find("kube_bench_info{kube_bench_node_name=\"a\",kube_bench_syntax=\"new\","
                   "kube_bench_target=\"node\",kube_bench_type=\"total_pass\"} 9"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("kube_bench_info{kube_bench_node_name=\"b\","), std::string::npos);
}

// Verifies that label values with quotes, backslashes and newlines are escaped, and that the
// output passes `promtool check metrics` (skipped when promtool is not installed).
TEST(KubeBenchGauges, PromtoolAcceptsOutput) {
  prometheus::Registry reg;
  gauges g(reg);
  g.update(make("wk\"1\\", "node", {1, 2, 3, 4}, "kube-bench run --x=\"a\nb\""), 5);
  g.update(make("cp", "master", {1, 0, 0, 0}), 5);
  const auto t = text(reg);
  EXPECT_NE(t.find("kube_bench_node_name=\"wk\\\"1\\\\\""), std::string::npos) << t;
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed";
  }
  char path[] = "/tmp/ke-kubebench-metrics-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << t;
  const int rc = std::system(("promtool check metrics < " + std::string(path)).c_str());
  std::remove(path);
  EXPECT_EQ(rc, 0) << t;
}

// Verifies the standalone exposition (for Pushgateway): same families, no timestamps.
TEST(KubeBenchGauges, Exposition) {
  const auto t = gauges::exposition(make("n", "node", {1, 2, 3, 4}), 7);
  EXPECT_NE(t.find("# TYPE kube_bench_info gauge\n"), std::string::npos);
  EXPECT_NE(t.find("kube_bench_info{kube_bench_node_name=\"n\","
                   "kube_bench_syntax=\"kube-bench run --targets=node\",kube_bench_target=\"node\","
                   "kube_bench_type=\"total_info\"} 4\n"),
            std::string::npos)
      << t;
}

}  // namespace
}  // namespace ke::kubebench
