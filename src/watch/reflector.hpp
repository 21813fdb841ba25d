// List + watch of one collection (Events), behaving like client-go's reflector:
//
// 1. LIST, paged (limit=500 with continue tokens). The first list ever uses resourceVersion=0;
//    later relists use resourceVersion="" (a consistent read: they follow a 410 or an error,
//    where the old RV is suspect). A 410 on a later page (the continue token expired) restarts
//    the list from page one. Items are handed out page by page as they arrive.
// 2. WATCH from the list's RV with allowWatchBookmarks=true and a random timeoutSeconds in
//    [300, 600). The RV moves with every event, bookmarks included.
// 3. A watch that ends cleanly (timeout, EOF) is re-opened at once from the last RV, without a
//    relist. A watch that ended with no events in under a second counts as an error (client-go's
//    "very short watch"): backoff, relist.
// 4. 410 (an ERROR event with code 410, reason Expired or Gone, or an HTTP 410) -> backoff,
//    relist. 429 -> backoff, re-watch from the last RV (no relist). Transport errors, stalls
//    (idle timeout), undecodable streams -> backoff, re-watch from the last RV (a 410 follows if
//    the RV is too old by then). Other API errors on the watch (401, 403, 404, 500 ...) ->
//    backoff, relist.
// 5. Backoff: 0.8 s doubling with jitter, capped at 30 s (core/backoff.hpp), reset when no
//    backoff was needed for 2 minutes.
//
// Every error is logged (error for 401/403/404/422 and broken streams, warn otherwise) with the
// API's Status message and counted in metrics.watch_errors.
//
// Delivery: items go to the handler one at a time, in stream order; the handler may suspend
// (backpressure). While the handler is slow, watch events queue up to max_queued_events; then
// the watch is ended on purpose and re-opened from the last queued RV once the queue drains,
// so a slow consumer never makes memory grow without bound.
//
// Threading: one executor thread. run() returns after stop().
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/asio.hpp"
#include "core/backoff.hpp"
#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "kube/api_client.hpp"

namespace ke::watch {

enum class item_kind { listed, added, modified, deleted };

struct reflector_item {
  item_kind kind = item_kind::listed;
  bool initial_list = false;  // listed by the first list that ever completed (startup)
  nlohmann::json object;
};

struct reflector_options {
  // The collection path, e.g. "/api/v1/events" or "/apis/events.k8s.io/v1/namespaces/ns/events".
  std::string path = "/api/v1/events";
  int page_size = 500;
  std::chrono::seconds min_watch_timeout{300};
  std::chrono::seconds max_watch_timeout{600};
  std::chrono::milliseconds backoff_initial{800};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds backoff_reset{120000};
  std::chrono::milliseconds very_short_watch{1000};
  // A watch read that waits longer than this fails (stalled connection). 0 = the watch's
  // timeoutSeconds plus one minute (Events get no periodic bookmarks, so a quiet watch is silent
  // until the server ends it).
  std::chrono::milliseconds watch_idle_timeout{0};
  std::size_t max_queued_events = 1000;
  // Uniform [0,1) source for timeoutSeconds and backoff jitter; empty = random.
  std::function<double()> random;
};

class reflector {
 public:
  using handler = std::function<net::awaitable<void>(reflector_item)>;

  struct stats {
    std::uint64_t lists = 0;          // lists completed
    std::uint64_t list_requests = 0;  // page requests sent
    std::uint64_t watches = 0;        // watch requests opened
    std::uint64_t errors = 0;         // errors counted in watch_errors
    std::uint64_t relists_after_410 = 0;
    std::uint64_t pauses = 0;  // watches ended on purpose because the handler fell behind
  };

  reflector(kube::api_client& api, clock& c, ke::metrics* m, reflector_options opt, handler h);

  // Lists and watches until stop().
  net::awaitable<void> run();
  // Ends run() soon: aborts the running request, wakes sleeps. Idempotent.
  void stop();

  const std::string& resource_version() const { return rv_; }
  const stats& counters() const { return stats_; }
  bool synced() const { return synced_; }  // the first list has completed

 private:
  enum class next_step { rewatch, rewatch_after_backoff, relist_after_backoff, stop };

  net::awaitable<bool> list();  // false when stopped
  net::awaitable<next_step> watch_once();
  net::awaitable<bool> backoff_sleep();
  void error(bool severe, const std::string& what);
  std::string list_target(const std::string& rv, const std::string& cont) const;
  std::string watch_target(int timeout_seconds) const;

  kube::api_client& api_;
  clock& clock_;
  ke::metrics* metrics_;
  reflector_options opt_;
  handler handler_;
  std::function<double()> random_;
  ke::backoff backoff_;
  std::chrono::steady_clock::time_point last_backoff_{};
  bool backed_off_ = false;
  std::string rv_;
  bool synced_ = false;
  bool relist_consistent_ = false;  // the next list uses resourceVersion=""
  bool stopping_ = false;
  stats stats_;
};

// Builds the collection path for a kind of Events: events_api "v1" (core, default) or
// "events.k8s.io/v1"; namespace_ "" = all namespaces.
std::string events_path(const std::string& events_api, const std::string& namespace_);

}  // namespace ke::watch
