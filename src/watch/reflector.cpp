#include "watch/reflector.hpp"

#include <spdlog/spdlog.h>

#include <deque>
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

std::string reflector::watch_target(int timeout_seconds) const {
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
    bool restart = false;
    bool failed = false;
    std::string list_rv;
    std::size_t listed = 0;
    for (int page = 1;; ++page) {
      ++stats_.list_requests;
      auto res = co_await api_.get(list_target(rv, cont));
      if (stopping_) {
        co_return false;
      }
      if (!res.ok()) {
        if (res.error) {
          error(false, "list failed: " + res.describe());
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
          restart = true;
        } else {
          error(is_severe_status(res.status), "list failed: " + res.describe());
          failed = true;
        }
        break;
      }
      auto body = nlohmann::json::parse(res.body, nullptr, false);
      if (body.is_discarded() || !body.is_object() || !body.contains("items") ||
          !(body["items"].is_array() || body["items"].is_null())) {
        error(true, "list: the response is not a list");
        failed = true;
        break;
      }
      const auto& md = body["metadata"];
      std::string next;
      if (md.is_object()) {
        if (md.contains("resourceVersion") && md["resourceVersion"].is_string()) {
          list_rv = md["resourceVersion"].get<std::string>();
        }
        if (md.contains("continue") && md["continue"].is_string()) {
          next = md["continue"].get<std::string>();
        }
      }
      if (body["items"].is_array()) {
        for (auto& item : body["items"]) {
          reflector_item it;
          it.kind = item_kind::listed;
          it.initial_list = initial;
          it.object = std::move(item);
          ++listed;
          try {
            co_await handler_(std::move(it));
          } catch (const std::exception& e) {
            spdlog::error("watch {}: dropping an event the handler failed on: {}", opt_.path,
                          e.what());
          }
          if (stopping_) {
            co_return false;
          }
        }
      }
      if (next.empty()) {
        break;
      }
      cont = std::move(next);
    }
    if (restart) {
      if (!co_await backoff_sleep()) {
        co_return false;
      }
      continue;
    }
    if (failed) {
      if (!co_await backoff_sleep()) {
        co_return false;
      }
      continue;
    }
    rv_ = list_rv;
    synced_ = true;
    relist_consistent_ = false;
    ++stats_.lists;
    spdlog::info("watch {}: listed {} event(s) at resourceVersion \"{}\"; watching", opt_.path,
                 listed, rv_);
    co_return true;
  }
}

net::awaitable<reflector::next_step> reflector::watch_once() {
  const auto span = opt_.max_watch_timeout - opt_.min_watch_timeout;
  const int timeout_s =
      static_cast<int>(opt_.min_watch_timeout.count() +
                       static_cast<std::int64_t>(random_() * static_cast<double>(span.count())));
  const auto idle = opt_.watch_idle_timeout > std::chrono::milliseconds::zero()
                        ? opt_.watch_idle_timeout
                        : std::chrono::milliseconds(std::chrono::seconds(timeout_s + 60));

  // The stream callback cannot suspend, so events queue here and a consumer coroutine hands
  // them to the handler. Both are local; the consumer is always awaited before returning.
  struct shared {
    std::deque<reflector_item> queue;
    bool done = false;
    bool consumer_finished = false;
    std::optional<kube::api_status> watch_error;  // an ERROR event
    bool paused = false;
  };
  auto ex = clock_.executor();
  shared s;
  net::steady_timer wake(ex, std::chrono::steady_clock::time_point::max());
  net::steady_timer finished(ex, std::chrono::steady_clock::time_point::max());
  net::co_spawn(
      ex,
      [&]() -> net::awaitable<void> {
        for (;;) {
          while (!s.queue.empty()) {
            reflector_item it = std::move(s.queue.front());
            s.queue.pop_front();
            try {
              co_await handler_(std::move(it));
            } catch (const std::exception& e) {
              spdlog::error("watch {}: dropping an event the handler failed on: {}", opt_.path,
                            e.what());
            }
          }
          if (s.done) {
            break;
          }
          boost::system::error_code ec;
          wake.expires_at(std::chrono::steady_clock::time_point::max());
          co_await wake.async_wait(net::redirect_error(net::use_awaitable, ec));
        }
        s.consumer_finished = true;
        finished.cancel();
      },
      net::detached);

  ++stats_.watches;
  const auto started = clock_.now();
  const std::string start_rv = rv_;
  // A named callback: GCC 12 destroys lambda temporaries inside a co_await expression twice
  // (harmless for this capture-by-reference lambda, but keep the pattern safe).
  kube::api_client::event_callback on_event = [&](nlohmann::json&& ev) {
    const std::string& type = ev["type"].get_ref<const std::string&>();
    auto& obj = ev["object"];
    if (type == "ERROR") {
      s.watch_error = kube::parse_status(obj, 0);
      return false;
    }
    if (std::string r = rv_of(obj); !r.empty()) {
      rv_ = std::move(r);
    }
    if (type == "BOOKMARK") {
      return true;
    }
    reflector_item it;
    it.kind = type == "ADDED"      ? item_kind::added
              : type == "MODIFIED" ? item_kind::modified
                                   : item_kind::deleted;
    it.object = std::move(obj);
    s.queue.push_back(std::move(it));
    wake.cancel();
    if (s.queue.size() >= opt_.max_queued_events) {
      s.paused = true;
      ++stats_.pauses;
      return false;
    }
    return true;
  };
  auto res = co_await api_.watch(watch_target(timeout_s), idle, std::move(on_event));
  s.done = true;
  wake.cancel();
  while (!s.consumer_finished) {
    boost::system::error_code ec;
    co_await finished.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
  const auto elapsed = clock_.now() - started;

  if (stopping_) {
    co_return next_step::stop;
  }
  if (s.watch_error) {
    const kube::api_status& st = *s.watch_error;
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
  if (s.paused) {
    spdlog::debug("watch {}: consumer fell behind; re-watching from {}", opt_.path, rv_);
    co_return next_step::rewatch;
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
    if (need_list) {
      if (!co_await list()) {
        break;
      }
      need_list = false;
    }
    const auto step = co_await watch_once();
    switch (step) {
      case next_step::stop:
        co_return;
      case next_step::rewatch:
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
