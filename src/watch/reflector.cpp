#include "watch/reflector.hpp"

#include <spdlog/spdlog.h>

#include <random>

namespace ke::watch {

namespace {

std::function<double()> default_random() {
  return [engine = std::mt19937_64(std::random_device{}())]() mutable {
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
  };
}

// The metadata.resourceVersion of an object ("" if absent).
std::string rv_of(const nlohmann::json& obj) {
  if (!obj.is_object()) {
    return {};
  }
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) {
    return {};
  }
  auto rv = md->find("resourceVersion");
  if (rv == md->end() || !rv->is_string()) {
    return {};
  }
  return rv->get<std::string>();
}

bool is_severe_status(int code) {
  return code == 400 || code == 401 || code == 403 || code == 404 || code == 405 || code == 406 ||
         code == 422;
}

}  // namespace

std::string events_path(const std::string& events_api, const std::string& namespace_) {
  std::string base = events_api == "events.k8s.io/v1" ? "/apis/events.k8s.io/v1" : "/api/v1";
  if (!namespace_.empty()) {
    base += "/namespaces/" + kube::query_escape(namespace_);
  }
  return base + "/events";
}

reflector::reflector(kube::api_client& api, clock& c, ke::metrics* m, reflector_options opt,
                     handler h)
    : api_(api),
      clock_(c),
      metrics_(m),
      opt_(std::move(opt)),
      handler_(std::move(h)),
      random_(opt_.random ? opt_.random : default_random()),
      backoff_(opt_.backoff_initial, opt_.backoff_max, random_) {}

void reflector::stop() {
  stopping_ = true;
  api_.close_all();
  clock_.cancel_all();
}

void reflector::error(bool severe, const std::string& what) {
  ++stats_.errors;
  if (metrics_ != nullptr) {
    metrics_->watch_errors.inc();
  }
  if (severe) {
    spdlog::error("watch {}: {}", opt_.path, what);
  } else {
    spdlog::warn("watch {}: {}", opt_.path, what);
  }
}

net::awaitable<bool> reflector::backoff_sleep() {
  const auto now = clock_.now();
  if (backed_off_ && now - last_backoff_ >= opt_.backoff_reset) {
    backoff_.reset();  // healthy for a while: start again from the first delay
  }
  backed_off_ = true;
  last_backoff_ = now;
  const auto delay = backoff_.next();
  spdlog::debug("watch {}: retrying in {} ms", opt_.path, delay.count());
  if (stopping_) {
    co_return false;
  }
  const bool slept = co_await clock_.sleep(delay);
  co_return slept && !stopping_;
}

std::string reflector::list_target(const std::string& rv, const std::string& cont) const {
  std::string t = opt_.path + "?limit=" + std::to_string(opt_.page_size);
  if (!cont.empty()) {
    t += "&continue=" + kube::query_escape(cont);
  } else {
    t += "&resourceVersion=" + kube::query_escape(rv);
  }
  return t;
}

std::string reflector::watch_target(int timeout_seconds, bool initial_events) const {
  if (initial_events) {
    // Watch-list (KEP-3157): the current state as ADDED events, then a bookmark annotated
    // k8s.io/initial-events-end, then changes. resourceVersion "" = a consistent snapshot.
    return opt_.path +
           "?allowWatchBookmarks=true&resourceVersion=&resourceVersionMatch=NotOlderThan"
           "&sendInitialEvents=true&timeoutSeconds=" +
           std::to_string(timeout_seconds) + "&watch=1";
  }
  return opt_.path + "?allowWatchBookmarks=true&resourceVersion=" + kube::query_escape(rv_) +
         "&timeoutSeconds=" + std::to_string(timeout_seconds) + "&watch=1";
}

net::awaitable<bool> reflector::list() {
  for (;;) {
    if (stopping_) {
      co_return false;
    }
    const bool initial = !synced_;
    const std::string rv = (synced_ || relist_consistent_) ? std::string() : std::string("0");
    std::string cont;
    bool failed = false;  // this list ends here: backoff, then list again
    std::string list_rv;
    std::size_t listed = 0;
    // Items are handed on one by one as the response streams in (kube/api_client.hpp).
    kube::api_client::event_callback on_item = [&](nlohmann::json item) -> net::awaitable<bool> {
      ++listed;
      // Named: GCC 12 destroys a temporary inside a co_await expression twice.
      reflector_item it{item_kind::listed, initial, std::move(item)};
      co_await hand_on(std::move(it));
      co_return !stopping_;
    };
    for (int page = 1;; ++page) {
      ++stats_.list_requests;
      auto res = co_await api_.list(list_target(rv, cont), on_item);
      if (stopping_) {
        co_return false;
      }
      if (!res.ok()) {
        if (res.error) {
          error(false,
                "list failed after " + std::to_string(listed) + " item(s): " + res.describe());
          failed = true;
        } else if (!res.decode_error.empty()) {
          error(true, "list: " + res.describe());
          failed = true;
        } else if (res.status == 410) {
          relist_consistent_ = true;
          if (page > 1) {
            error(false, "list: continue token expired (" + res.describe() +
                             "); listing again from the start");
          } else {
            error(false, "list at resourceVersion \"" + rv + "\": " + res.describe() +
                             "; listing again at the latest resourceVersion");
          }
          failed = true;
        } else {
          error(is_severe_status(res.status), "list failed: " + res.describe());
          failed = true;
        }
        break;
      }
      list_rv = res.resource_version;
      if (res.continue_token.empty()) {
        break;
      }
      cont = std::move(res.continue_token);
    }
    if (failed) {
      if (!co_await backoff_sleep()) {
        co_return false;
      }
      continue;
    }
    rv_ = list_rv;
    mark_synced(listed, "list");
    co_return true;
  }
}

void reflector::mark_synced(std::size_t listed, const char* how) {
  synced_ = true;
  relist_consistent_ = false;
  ++stats_.lists;
  spdlog::info("watch {}: listed {} event(s) at resourceVersion \"{}\" ({}); watching", opt_.path,
               listed, rv_, how);
}

net::awaitable<void> reflector::hand_on(reflector_item it) {
  try {
    co_await handler_(std::move(it));
  } catch (const std::exception& e) {
    spdlog::error("watch {}: dropping an event the handler failed on: {}", opt_.path, e.what());
  }
}

net::awaitable<reflector::next_step> reflector::watch_once(bool initial_events) {
  const auto span = opt_.max_watch_timeout - opt_.min_watch_timeout;
  const int timeout_s =
      static_cast<int>(opt_.min_watch_timeout.count() +
                       static_cast<std::int64_t>(random_() * static_cast<double>(span.count())));
  const auto idle = opt_.watch_idle_timeout > std::chrono::milliseconds::zero()
                        ? opt_.watch_idle_timeout
                        : std::chrono::milliseconds(std::chrono::seconds(timeout_s + 60));

  ++stats_.watches;
  const auto started = clock_.now();
  const std::string start_rv = rv_;
  // Watch-list: ADDED events are the initial state (listed) until the initial-events-end
  // bookmark; their RVs are in key order, not RV order, so rv_ moves only at the bookmark.
  bool initial = initial_events;
  const bool startup = !synced_;
  std::size_t listed = 0;
  std::optional<kube::api_status> watch_error;  // an ERROR event
  kube::api_client::event_callback on_event = [&](nlohmann::json ev) -> net::awaitable<bool> {
    const std::string& type = ev["type"].get_ref<const std::string&>();
    auto& obj = ev["object"];
    if (type == "ERROR") {
      watch_error = kube::parse_status(obj, 0);
      co_return false;
    }
    if (initial && type == "ADDED") {
      ++listed;
      reflector_item it{item_kind::listed, startup, std::move(obj)};
      co_await hand_on(std::move(it));
      co_return !stopping_;
    }
    if (std::string r = rv_of(obj); !r.empty()) {
      rv_ = std::move(r);
    }
    if (initial) {
      // The initial-events-end bookmark; or a server that ignores sendInitialEvents (before
      // 1.27) and has gone on to changes: either way the initial state is complete.
      initial = false;
      mark_synced(listed,
                  type == "BOOKMARK" ? "watch-list" : "watch-list without its end bookmark");
    }
    if (type == "BOOKMARK") {
      co_return true;
    }
    const item_kind kind = type == "ADDED"      ? item_kind::added
                           : type == "MODIFIED" ? item_kind::modified
                                                : item_kind::deleted;
    reflector_item it{kind, false, std::move(obj)};
    co_await hand_on(std::move(it));
    co_return !stopping_;
  };
  auto res = co_await api_.watch(watch_target(timeout_s, initial_events), idle, on_event);
  const auto elapsed = clock_.now() - started;

  if (stopping_) {
    co_return next_step::stop;
  }
  if (watch_error) {
    const kube::api_status& st = *watch_error;
    const std::string what = "watch from resourceVersion \"" + start_rv + "\" ended with ERROR " +
                             std::to_string(st.code) + " " + st.reason + ": " + st.message;
    if (st.code == 410 || st.reason == "Expired" || st.reason == "Gone") {
      error(false, what + "; relisting");
      ++stats_.relists_after_410;
      relist_consistent_ = true;
      co_return next_step::relist_after_backoff;
    }
    if (st.code == 429 || st.reason == "TooManyRequests") {
      error(false, what + "; re-watching after backoff");
      co_return next_step::rewatch_after_backoff;
    }
    error(is_severe_status(st.code), what + "; relisting after backoff");
    co_return next_step::relist_after_backoff;
  }
  if (res.error) {
    error(false, "watch from resourceVersion \"" + start_rv + "\" failed after " +
                     std::to_string(res.events) + " event(s): " + res.describe() +
                     "; re-watching after backoff");
    co_return next_step::rewatch_after_backoff;
  }
  if (!res.decode_error.empty()) {
    error(true, "watch from resourceVersion \"" + start_rv + "\": " + res.describe() +
                    "; re-watching after backoff");
    co_return next_step::rewatch_after_backoff;
  }
  if (res.status < 200 || res.status >= 300) {
    const std::string what = "watch from resourceVersion \"" + start_rv + "\": " + res.describe();
    if (initial && res.status != 401 && res.status != 410 && res.status != 429 &&
        res.status >= 400 && res.status < 500) {
      // A server without watch-list (gate off: 422 Invalid) or one that refuses it otherwise.
      spdlog::info("watch {}: the server does not serve watch-list ({}); using paged lists",
                   opt_.path, res.describe());
      co_return next_step::watch_list_refused;
    }
    if (res.status == 410) {
      error(false, what + "; relisting");
      ++stats_.relists_after_410;
      relist_consistent_ = true;
      co_return next_step::relist_after_backoff;
    }
    if (res.status == 429) {
      error(false, what + "; re-watching after backoff");
      co_return next_step::rewatch_after_backoff;
    }
    error(is_severe_status(res.status), what + "; relisting after backoff");
    co_return next_step::relist_after_backoff;
  }
  if (initial) {
    // A clean end before the initial-events-end bookmark: a server that ignored
    // sendInitialEvents and had no change to send.
    spdlog::info(
        "watch {}: the watch-list ended without its initial-events-end bookmark; using "
        "paged lists",
        opt_.path);
    co_return next_step::watch_list_refused;
  }
  if (res.events == 0 && elapsed < opt_.very_short_watch) {
    error(
        false,
        "very short watch: the watch from resourceVersion \"" + start_rv + "\" closed after " +
            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()) +
            " ms with no events; relisting after backoff");
    co_return next_step::relist_after_backoff;
  }
  co_return next_step::rewatch;
}

net::awaitable<void> reflector::run() {
  bool need_list = true;
  while (!stopping_) {
    bool streaming = false;  // this watch is a watch-list (it brings the initial state)
    if (need_list) {
      if (opt_.watch_list && !watch_list_refused_) {
        streaming = true;
      } else if (!co_await list()) {
        break;
      }
    }
    const std::uint64_t lists_before = stats_.lists;
    const auto step = co_await watch_once(streaming);
    if (streaming) {
      if (step == next_step::watch_list_refused) {
        watch_list_refused_ = true;
        continue;
      }
      if (stats_.lists == lists_before && step != next_step::stop) {
        // It broke off before the initial state was complete: start it over (what was handed
        // on stays handed on; the event filter knows those events).
        if (!co_await backoff_sleep()) {
          co_return;
        }
        continue;
      }
    }
    need_list = false;
    switch (step) {
      case next_step::stop:
        co_return;
      case next_step::rewatch:
      case next_step::watch_list_refused:
        break;
      case next_step::rewatch_after_backoff:
        if (!co_await backoff_sleep()) {
          co_return;
        }
        break;
      case next_step::relist_after_backoff:
        if (!co_await backoff_sleep()) {
          co_return;
        }
        need_list = true;
        break;
    }
  }
}

}  // namespace ke::watch
