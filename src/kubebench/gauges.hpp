// The kube-bench gauges of the monitoring design, without metricsNamePrefix:
//   kube_bench_info{kube_bench_type="total_pass|total_fail|total_warn|total_info",
//                   kube_bench_target, kube_bench_syntax, kube_bench_node_name} = the totals
//   kube_bench_last_report_timestamp_seconds{kube_bench_node_name, kube_bench_target}
// of the latest report per node and target: a new report replaces that pair's series (also
// when its syntax changed).
//
// Threading: update() from one thread at a time (the io_context); scrapes may run anywhere
// (prometheus-cpp families lock internally).
#pragma once
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "kubebench/report.hpp"

namespace ke::kubebench {

class gauges {
 public:
  explicit gauges(prometheus::Registry& registry);
  gauges(const gauges&) = delete;
  gauges& operator=(const gauges&) = delete;

  // Sets the series of r's node and target to r's totals; unix_seconds: when it was received.
  void update(const report& r, double unix_seconds);
  // Node/target pairs currently exposed.
  std::size_t pairs() const { return series_.size(); }

  // The same gauges for r alone in the text exposition format (for a Pushgateway PUT, so no
  // timestamps), serialized by prometheus-cpp.
  static std::string exposition(const report& r, double unix_seconds);

 private:
  prometheus::Family<prometheus::Gauge>& info_;
  prometheus::Family<prometheus::Gauge>& last_;
  std::map<std::pair<std::string, std::string>, std::vector<prometheus::Gauge*>> series_;
};

}  // namespace ke::kubebench
