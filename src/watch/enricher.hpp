// Enrichment: the involved object's labels, annotations and ownerReferences, as resmoio adds
// them, fetched with a GET on the object.
//
// - The object's URL comes from API discovery (GET /api/v1 or /apis/<group>/<version>, the
//   APIResourceList), cached per group/version. A kind missing from a cached group/version
//   refreshes that one group/version, at most once per discovery_refresh; nothing else
//   re-runs discovery (resmoio ran a full discovery on every cache miss).
// - Results are kept in an LRU of cache_size entries keyed by involvedObject uid + "/" +
//   resourceVersion (resmoio's key): hits and GETs are counted in kube_api_read_cache_hits /
//   kube_api_read_cache_misses, as resmoio counts them (a miss is a lookup that sends a GET).
// - Concurrent lookups of one key share one GET (a crash-looping pod's burst of events): the
//   first sends it, the others wait for its answer (a notifier on the executor) and all get the
//   same result, also a failure (no labels) or a rate-limit give-up; the cache, gone and
//   forbidden bookkeeping and the failure report happen once, in the first. A lookup that joins
//   counts as a hit (it sends no request) and in stats::coalesced. The in-flight map holds one
//   entry per lookup that sends a GET, so at most as many as lookups run; the entry is removed
//   when that GET ends, whatever the outcome (exceptions included; on stop the API client aborts
//   the GET, which ends every waiter too).
// - An object that is gone (404), being deleted (deletionTimestamp), or replaced by a new
//   object of the same name (another uid) gives deleted: true (labels only in the second case).
//   A uid found gone (404 or replaced) never comes back: it is remembered by uid alone (an LRU
//   of cache_size uids), so later events about it, whatever resourceVersion they carry, need no
//   request (events outlive their pods; each event names the object's version of its time).
// - GETs go through the API client's token bucket (kubeQPS/kubeBurst). A lookup never waits
//   for the bucket longer than max_rate_wait: beyond that it is given up (the record is
//   shipped without labels, and a rate-limited warning says to raise kubeQPS/kubeBurst), so a
//   burst of events cannot stall the watch behind the rate limiter.
// - 403 (RBAC does not grant `get` on the kind: CRDs, Leases ...) is remembered per apiVersion
//   and kind for forbidden_ttl: no further request for that kind meanwhile. It is counted in
//   kube_api_lookups_forbidden_total{api_version,kind} (each skipped lookup too), not in
//   watch_errors, and logged once per kind at warn, naming what to grant (chart:
//   rbac.enrichmentResources). The record is shipped without labels.
// - Other API errors (5xx, 401 ...) are logged at warn or error with the Status message (rate
//   limited) and counted in watch_errors; the record is shipped without labels.
//
// Threading: one executor thread; lookups may run concurrently.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "config/defaults.hpp"
#include "core/async.hpp"
#include "core/clock.hpp"
#include "core/kube_event.hpp"
#include "core/metrics.hpp"
#include "kube/api_client.hpp"
#include "watch/lru_cache.hpp"

namespace ke::watch {

struct enricher_options {
  std::size_t cache_size = config::defaults::cache_size;  // cacheSize
  clock::duration max_rate_wait{10000};                   // see above
  std::chrono::seconds discovery_refresh{30};  // minimum time between refreshes of one GV
  int max_tries = 3;                           // per GET (429/5xx with Retry-After)
  // After a 403 on a kind, its lookups are skipped (no request) for this long.
  std::chrono::seconds forbidden_ttl{300};
};

class enricher {
 public:
  enricher(kube::api_client& api, clock& c, ke::metrics* m, enricher_options opt);

  // Looks up the object an Event's involvedObject names. nullopt when it cannot (no kind or
  // name, unknown kind, API error, rate limit budget exceeded).
  net::awaitable<std::optional<involved_object_meta>> lookup(const nlohmann::json& involved);

  struct stats {
    std::uint64_t gets = 0;       // object GETs sent
    std::uint64_t hits = 0;       // served from the cache (or a shared in-flight GET)
    std::uint64_t coalesced = 0;  // of those, the lookups that waited for another's GET
    std::uint64_t discovery = 0;  // discovery GETs sent
    std::uint64_t failures = 0;   // lookups that gave up
    std::uint64_t forbidden = 0;  // lookups refused (403), or skipped: their kind was refused
  };
  const stats& counters() const { return stats_; }
  // Keys with a GET in flight (at most the number of lookups running).
  std::size_t in_flight() const { return in_flight_.size(); }

 private:
  struct resource {
    std::string name;
    bool namespaced = true;
  };
  struct group_version {
    std::map<std::string, resource> kinds;  // kind -> resource
    std::chrono::steady_clock::time_point fetched{};
    bool fetched_ok = false;
  };
  // One shared request (an object GET or a discovery GET) and the lookups waiting for it.
  struct flight {
    explicit flight(const net::any_io_executor& ex) : wake(ex) {}
    bool done = false;
    std::optional<involved_object_meta> result;
    notifier wake;  // notified once, when done
  };

  net::awaitable<std::optional<resource>> find_resource(const std::string& api_version,
                                                        const std::string& kind);
  net::awaitable<bool> fetch_discovery(const std::string& api_version, group_version& gv);
  net::awaitable<std::optional<involved_object_meta>> fetch(const nlohmann::json& involved);
  void report(bool severe, const std::string& what);

  kube::api_client& api_;
  clock& clock_;
  ke::metrics* metrics_;
  enricher_options opt_;
  lru_cache<involved_object_meta> cache_;
  lru_cache<involved_object_meta> gone_;  // by uid: objects found gone (see above)
  std::map<std::string, group_version> discovery_;
  std::map<std::string, std::shared_ptr<flight>> in_flight_;
  std::map<std::string, std::shared_ptr<flight>> discovery_flights_;
  // apiVersion + "/" + kind -> when a 403 was last seen. Bounded by the kinds events name.
  std::map<std::string, std::chrono::steady_clock::time_point> forbidden_;
  stats stats_;
  std::chrono::steady_clock::time_point last_log_{};
  std::uint64_t unlogged_ = 0;
};

}  // namespace ke::watch
