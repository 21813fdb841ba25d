#include "kubebench/gauges.hpp"

#include <prometheus/text_serializer.h>

#include <memory>

namespace ke::kubebench {

namespace {

constexpr const char* info_name = "kube_bench_info";
constexpr const char* info_help = "kube-bench totals of the latest report per node and target";
constexpr const char* last_name = "kube_bench_last_report_timestamp_seconds";
constexpr const char* last_help =
    "Unix time the latest kube-bench report per node and target was received";

prometheus::Family<prometheus::Gauge>& info_family(prometheus::Registry& reg) {
  return prometheus::BuildGauge().Name(info_name).Help(info_help).Register(reg);
}
prometheus::Family<prometheus::Gauge>& last_family(prometheus::Registry& reg) {
  return prometheus::BuildGauge().Name(last_name).Help(last_help).Register(reg);
}

// Adds r's series to the families; returns them.
std::vector<prometheus::Gauge*> add_series(prometheus::Family<prometheus::Gauge>& info,
                                           prometheus::Family<prometheus::Gauge>& last,
                                           const report& r, double unix_seconds) {
  const std::pair<const char*, std::int64_t> values[] = {{"total_pass", r.totals.pass},
                                                         {"total_fail", r.totals.fail},
                                                         {"total_warn", r.totals.warn},
                                                         {"total_info", r.totals.info}};
  std::vector<prometheus::Gauge*> out;
  for (const auto& [type, value] : values) {
    auto& g = info.Add({{"kube_bench_type", type},
                        {"kube_bench_target", r.target},
                        {"kube_bench_syntax", r.syntax},
                        {"kube_bench_node_name", r.node_name}});
    g.Set(static_cast<double>(value));
    out.push_back(&g);
  }
  auto& t = last.Add({{"kube_bench_node_name", r.node_name}, {"kube_bench_target", r.target}});
  t.Set(unix_seconds);
  out.push_back(&t);
  return out;
}

}  // namespace

gauges::gauges(prometheus::Registry& registry)
    : info_(info_family(registry)), last_(last_family(registry)) {}

void gauges::update(const report& r, double unix_seconds) {
  auto& old = series_[{r.node_name, r.target}];
  for (std::size_t i = 0; i < old.size(); ++i) {
    (i + 1 == old.size() ? last_ : info_).Remove(old[i]);
  }
  old = add_series(info_, last_, r, unix_seconds);
}

std::string gauges::exposition(const report& r, double unix_seconds) {
  prometheus::Registry reg;
  auto& info = info_family(reg);
  auto& last = last_family(reg);
  add_series(info, last, r, unix_seconds);
  return prometheus::TextSerializer().Serialize(reg.Collect());
}

}  // namespace ke::kubebench
