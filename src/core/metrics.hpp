// The process's metrics: resmoio-compatible names under metricsNamePrefix, plus our own.
// Single-threaded use from the io_context; values are atomics so a scrape may run anywhere.
#pragma once
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ke {

// A monotonically increasing value exposed as TYPE untyped under its bare name. resmoio's
// counters have no _total suffix and Prometheus stores them under that bare name; exposing them
// as "counter" without _total would fail `promtool check metrics`, "untyped" keeps the stored
// series name identical.
class compat_counter {
 public:
  void inc(double v = 1.0) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class metrics {
 public:
  // prefix: config metricsNamePrefix ("" or matching ^[a-zA-Z][a-zA-Z0-9_:]*_$).
  explicit metrics(std::string prefix, std::string version = "", std::string revision = "");
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  const std::string& prefix() const { return prefix_; }

  // resmoio names (untyped, no labels).
  compat_counter events_sent;                 // accepted after the age filter, before routing
  compat_counter events_discarded;            // discarded as too old
  compat_counter watch_errors;                // list/watch errors
  compat_counter send_event_errors;           // sink sends that failed
  compat_counter kube_api_read_cache_hits;    // enrichment cache hits
  compat_counter kube_api_read_cache_misses;  // enrichment API GETs

  // Ours, per receiver.
  prometheus::Gauge& queue_depth(std::string_view receiver);
  prometheus::Counter& records_sent(std::string_view receiver);
  prometheus::Counter& records_dropped(std::string_view receiver, std::string_view reason);
  prometheus::Counter& records_routed_nowhere();
  // Involved-object lookups the API server answered 403 (the ServiceAccount may not get that
  // kind), by the kind's apiVersion and kind: bounded by the kinds events name.
  prometheus::Counter& lookups_forbidden(std::string_view api_version, std::string_view kind);
  // How long events waited for their involved object's lookup (cache hits, shared GETs, the
  // kubeQPS token wait and the GET itself), in seconds.
  prometheus::Histogram& lookup_seconds() { return *lookup_seconds_; }

  // The registry further families can be added to (names should use prefix()).
  prometheus::Registry& registry() { return *registry_; }

  // Text exposition format 0.0.4 of everything registered.
  std::string serialize() const;
  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

 private:
  class compat_collectable;

  std::string prefix_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<compat_collectable> compat_;
  prometheus::Family<prometheus::Gauge>* queue_depth_;
  prometheus::Family<prometheus::Counter>* sent_;
  prometheus::Family<prometheus::Counter>* dropped_;
  prometheus::Counter* routed_nowhere_;
  prometheus::Family<prometheus::Counter>* forbidden_;
  prometheus::Histogram* lookup_seconds_;
};

}  // namespace ke
