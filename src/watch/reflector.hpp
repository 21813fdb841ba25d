// List + watch of one collection (Events), behaving like client-go's reflector:
//
// 1. The initial state, streamed: items are handed on one by one as their bytes arrive, so
//    neither a response body nor a DOM of it is ever held whole, whatever the list's size.
//    a) Watch-list (KEP-3157, default): a watch with sendInitialEvents=true,
//       resourceVersionMatch=NotOlderThan and resourceVersion="" brings the current state as
//       ADDED events (handed on as `listed`), then a BOOKMARK annotated
//       k8s.io/initial-events-end whose RV the watch continues from. A server that refuses it
//       (gate off: 422; any 4xx but 401/410/429) or ends the stream without that bookmark is
//       asked with paged lists from then on. A watch-list that breaks off before its bookmark
//       is started over after backoff.
//    b) LIST, paged (limit=500 with continue tokens; a server may ignore limit and send
//       everything in one response, which streams just the same). The first list ever uses
//       resourceVersion=0; later relists use resourceVersion="" (a consistent read: they follow
//       a 410 or an error, where the old RV is suspect). A 410 on a later page (the continue
//       token expired) restarts the list from page one.
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
// (backpressure), and nothing more is read from the connection meanwhile, so a slow consumer
// slows the server down (TCP flow control; a server that gives up on a slow watcher ends the
// watch, which is re-opened from the last RV). Memory: at most one read chunk's objects (16 KiB
// of bytes) beyond what the handler holds.
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
  // Ask for the initial state with watch-list first (falls back to paged lists when refused).
  bool watch_list = true;
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
  enum class next_step {
    rewatch,
    rewatch_after_backoff,
    relist_after_backoff,
    watch_list_refused,
    stop
  };

  net::awaitable<bool> list();  // false when stopped
  // One watch; with initial_events, a watch-list that brings the initial state first.
  net::awaitable<next_step> watch_once(bool initial_events);
  net::awaitable<void> hand_on(reflector_item it);
  void mark_synced(std::size_t listed, const char* how);
  net::awaitable<bool> backoff_sleep();
  void error(bool severe, const std::string& what);
  std::string list_target(const std::string& rv, const std::string& cont) const;
  std::string watch_target(int timeout_seconds, bool initial_events) const;

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
  bool relist_consistent_ = false;   // the next list uses resourceVersion=""
  bool watch_list_refused_ = false;  // the server does not do watch-list: paged lists
  bool stopping_ = false;
  stats stats_;
};

// Builds the collection path for a kind of Events: events_api "v1" (core, default) or
// "events.k8s.io/v1"; namespace_ "" = all namespaces.
std::string events_path(const std::string& events_api, const std::string& namespace_);

}  // namespace ke::watch
