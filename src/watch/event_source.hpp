// The Kubernetes Event source: list+watch (reflector) -> which updates count (event_filter) ->
// enrichment (enricher) -> decode (core/kube_event) -> the sink callback (the dispatcher).
//
// Ordering and flow: records reach the sink in the order the API server delivered the events.
// Enrichment lookups run concurrently (at most max_concurrent_lookups), so one slow lookup
// delays the records behind it but never the reading of the watch, until max_pending events
// wait for lookups or for the sink; then reading pauses (nothing more is read from the
// connection until there is room, see reflector.hpp). The sink may suspend (receiver
// backpressure).
//
// Lifetime: start() begins; stop(deadline) aborts requests, wakes sleeps and waits (until the
// deadline) for every internal coroutine to finish. After stop() completes, start() may be
// called again (the hook for leader election: start when leading, stop when not). The object
// must outlive the io_context's run if stop() hit its deadline.
//
// Threading: everything on the executor given at creation (one io_context thread).
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "config/defaults.hpp"
#include "core/asio.hpp"
#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "core/record.hpp"
#include "kube/api_client.hpp"
#include "kube/kube_config.hpp"
#include "watch/checkpoint.hpp"
#include "watch/enricher.hpp"
#include "watch/event_filter.hpp"
#include "watch/reflector.hpp"

namespace ke::watch {

struct event_source_options {
  std::string namespace_;         // config namespace ("" = all)
  std::string events_api = "v1";  // config eventsAPIVersion: v1 | events.k8s.io/v1
  bool repeated_events = true;    // config exportRepeatedEvents
  bool omit_lookup = false;       // config omitLookup
  std::size_t cache_size = config::defaults::cache_size;  // config cacheSize
  double kube_qps = config::defaults::kube_qps;           // config kubeQPS
  int kube_burst = config::defaults::kube_burst;          // config kubeBurst
  std::int64_t max_event_age_seconds =
      config::defaults::max_event_age_seconds;  // config maxEventAgeSeconds
  std::string cluster_name;                     // config clusterName

  std::size_t max_pending = 4096;  // events waiting for a lookup or the sink
  std::size_t max_concurrent_lookups = 8;
  reflector_options reflector;    // path is filled from namespace_/events_api
  enricher_options enrichment;    // cache_size is filled from cache_size
  filter_options filter;          // repeated_events, max_event_age_seconds filled in
  kube::api_client::options api;  // qps, burst filled in
};

// The options main.cpp uses: from the config file.
event_source_options options_from_config(const config::config& cfg);

class event_source {
 public:
  using sink = std::function<net::awaitable<void>(record_ptr)>;

  // Resolves where the API is (see kube_config.hpp: the -kubeconfig flag, in-cluster,
  // $KUBECONFIG, ~/.kube/config) and builds the client. nullptr and *error on failure (print it
  // and exit non-zero).
  static std::unique_ptr<event_source> create(net::any_io_executor ex, const config::config& cfg,
                                              const std::string& kubeconfig_flag, sink s,
                                              ke::metrics& m, std::string* error);
  // For tests: an explicit kube::rest_config, options and (optionally) a clock.
  static std::unique_ptr<event_source> create(net::any_io_executor ex, const kube::rest_config& rc,
                                              event_source_options opt, sink s, ke::metrics& m,
                                              std::string* error, clock* test_clock = nullptr);
  ~event_source();
  event_source(const event_source&) = delete;
  event_source& operator=(const event_source&) = delete;

  // The delivery checkpoint (optional; set before start()). Each start() loads it first, then
  // decides listed Events by it (see checkpoint.hpp); records carry source_position
  // "<uid>/<resourceVersion>" and are reported to it as shipped, Events skipped for good as
  // handled.
  void set_checkpointer(checkpointer* c) { checkpoint_ = c; }

  // Starts listing and watching (no-op if running).
  void start();
  // Stops, waiting at most until deadline for the internal coroutines. Events not yet handed
  // to the sink are not shipped (logged).
  net::awaitable<void> stop(std::chrono::steady_clock::time_point deadline);

  bool running() const { return running_; }
  // True once the first list has completed.
  bool synced() const { return reflector_ && reflector_->synced(); }
  const kube::rest_config& rest() const { return rest_; }
  kube::api_client& api() { return *api_; }
  const reflector* current_reflector() const { return reflector_.get(); }
  const enricher& lookups() const { return *enricher_; }
  std::uint64_t records_emitted() const { return emitted_; }

 private:
  struct slot {
    nlohmann::json event;
    std::optional<involved_object_meta> meta;
    bool ready = false;
  };

  event_source(net::any_io_executor ex, kube::rest_config rc, event_source_options opt, sink s,
               ke::metrics& m, clock* c);
  net::awaitable<void> run_reflector();
  net::awaitable<void> on_item(reflector_item item);
  // Tells the checkpoint an Event will never be shipped (skipped on purpose).
  void skip_for_good(const nlohmann::json& event);
  net::awaitable<void> emitter();
  net::awaitable<void> run_lookup(std::shared_ptr<slot> s);
  void start_lookups();
  void emit_ready_wake() { wake_emitter_.cancel(); }
  void task_done();

  net::any_io_executor ex_;
  kube::rest_config rest_;
  event_source_options opt_;
  sink sink_;
  ke::metrics& metrics_;
  std::unique_ptr<clock> own_clock_;
  clock* clock_;
  std::unique_ptr<kube::api_client> api_;
  std::unique_ptr<enricher> enricher_;
  std::unique_ptr<event_filter> filter_;
  std::unique_ptr<reflector> reflector_;
  checkpointer* checkpoint_ = nullptr;

  std::deque<std::shared_ptr<slot>> pending_;     // in arrival order
  std::deque<std::shared_ptr<slot>> to_look_up_;  // waiting for a lookup slot
  std::size_t lookups_running_ = 0;
  net::steady_timer wake_emitter_;
  net::steady_timer room_;      // on_item waits here when pending_ is full
  net::steady_timer all_done_;  // stop() waits here
  std::size_t tasks_ = 0;       // running coroutines (reflector, emitter, lookups)
  bool running_ = false;
  bool stopping_ = false;
  std::uint64_t emitted_ = 0;
  std::chrono::steady_clock::time_point last_decode_log_{};
};

}  // namespace ke::watch
