#include "core/metrics.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

namespace ke {

class metrics::compat_collectable : public prometheus::Collectable {
 public:
  struct entry {
    std::string name;
    std::string help;
    const compat_counter* counter;
  };
  std::vector<entry> entries;
  std::vector<prometheus::ClientMetric::Label> build_labels;
  std::string build_name;

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    out.reserve(entries.size() + 1);
    for (const auto& e : entries) {
      prometheus::MetricFamily fam;
      fam.name = e.name;
      fam.help = e.help;
      fam.type = prometheus::MetricType::Untyped;
      prometheus::ClientMetric m;
      m.untyped.value = e.counter->value();
      fam.metric.push_back(std::move(m));
      out.push_back(std::move(fam));
    }
    prometheus::MetricFamily build;
    build.name = build_name;
    build.help = "A metric with a constant '1' value labeled by version and revision.";
    build.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric m;
    m.label = build_labels;
    m.gauge.value = 1;
    build.metric.push_back(std::move(m));
    out.push_back(std::move(build));
    return out;
  }
};

metrics::metrics(std::string prefix, std::string version, std::string revision)
    : prefix_(std::move(prefix)),
      registry_(std::make_shared<prometheus::Registry>()),
      compat_(std::make_shared<compat_collectable>()) {
  auto add = [&](const char* name, const char* help, const compat_counter& c) {
    compat_->entries.push_back({prefix_ + name, help, &c});
  };
  add("events_sent", "Events accepted after the age filter, before routing.", events_sent);
  add("events_discarded", "Events discarded as older than maxEventAgeSeconds.", events_discarded);
  add("watch_errors", "Errors from the Kubernetes list/watch.", watch_errors);
  add("send_event_errors", "Sink sends that failed.", send_event_errors);
  add("kube_api_read_cache_hits", "Involved-object metadata cache hits.", kube_api_read_cache_hits);
  add("kube_api_read_cache_misses", "Involved-object metadata API reads.",
      kube_api_read_cache_misses);
  compat_->build_name = prefix_ + "build_info";
  compat_->build_labels = {{"version", version},
                           {"revision", revision},
                           {"goversion", ""},
                           {"goos", "linux"},
                           {"goarch", "amd64"}};

  queue_depth_ = &prometheus::BuildGauge()
                      .Name(prefix_ + "receiver_queue_depth")
                      .Help("Records waiting in the receiver's queue.")
                      .Register(*registry_);
  sent_ = &prometheus::BuildCounter()
               .Name(prefix_ + "receiver_records_sent_total")
               .Help("Records the receiver's sink accepted.")
               .Register(*registry_);
  dropped_ = &prometheus::BuildCounter()
                  .Name(prefix_ + "receiver_records_dropped_total")
                  .Help("Records a receiver dropped, by reason.")
                  .Register(*registry_);
  routed_nowhere_ = &prometheus::BuildCounter()
                         .Name(prefix_ + "records_unrouted_total")
                         .Help("Records that reached no receiver.")
                         .Register(*registry_)
                         .Add({});
  forbidden_ =
      &prometheus::BuildCounter()
           .Name(prefix_ + "kube_api_lookups_forbidden_total")
           .Help("Involved-object lookups refused with 403 (RBAC), by apiVersion and kind.")
           .Register(*registry_);
  lookup_seconds_ = &prometheus::BuildHistogram()
                         .Name(prefix_ + "kube_api_lookup_duration_seconds")
                         .Help(
                             "Time events waited for their involved object's lookup (cache, "
                             "shared GETs, kubeQPS wait, the GET).")
                         .Register(*registry_)
                         .Add({}, prometheus::Histogram::BucketBoundaries{
                                      0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
}

prometheus::Gauge& metrics::queue_depth(std::string_view receiver) {
  return queue_depth_->Add({{"receiver", std::string(receiver)}});
}

prometheus::Counter& metrics::records_sent(std::string_view receiver) {
  return sent_->Add({{"receiver", std::string(receiver)}});
}

prometheus::Counter& metrics::records_dropped(std::string_view receiver, std::string_view reason) {
  return dropped_->Add({{"receiver", std::string(receiver)}, {"reason", std::string(reason)}});
}

prometheus::Counter& metrics::records_routed_nowhere() { return *routed_nowhere_; }

prometheus::Counter& metrics::lookups_forbidden(std::string_view api_version,
                                                std::string_view kind) {
  return forbidden_->Add({{"api_version", std::string(api_version)}, {"kind", std::string(kind)}});
}

std::string metrics::serialize() const {
  auto families = compat_->Collect();
  auto rest = registry_->Collect();
  families.insert(families.end(), std::make_move_iterator(rest.begin()),
                  std::make_move_iterator(rest.end()));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace ke
