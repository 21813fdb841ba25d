#include "watch/event_source.hpp"

#include <spdlog/spdlog.h>

#include "config/defaults.hpp"
#include "core/kube_event.hpp"
#include "watch/events_v1.hpp"

namespace ke::watch {

event_source_options options_from_config(const config::config& cfg) {
  event_source_options o;
  o.namespace_ = cfg.namespace_;
  o.events_api = cfg.events_api_version;
  o.repeated_events = cfg.export_repeated_events;
  o.omit_lookup = cfg.omit_lookup;
  o.cache_size =
      static_cast<std::size_t>(cfg.cache_size > 0 ? cfg.cache_size : config::defaults::cache_size);
  o.kube_qps = cfg.kube_qps > 0 ? cfg.kube_qps : config::defaults::kube_qps;
  o.kube_burst = cfg.kube_burst > 0 ? cfg.kube_burst : config::defaults::kube_burst;
  o.max_event_age_seconds = cfg.max_event_age_seconds;
  o.cluster_name = cfg.cluster_name;
  return o;
}

std::unique_ptr<event_source> event_source::create(net::any_io_executor ex,
                                                   const config::config& cfg,
                                                   const std::string& kubeconfig_flag, sink s,
                                                   ke::metrics& m, std::string* error) {
  auto rc = kube::resolve_rest_config(kubeconfig_flag, kube::kube_environment{}, error);
  if (!rc) {
    return nullptr;
  }
  return create(std::move(ex), *rc, options_from_config(cfg), std::move(s), m, error);
}

std::unique_ptr<event_source> event_source::create(net::any_io_executor ex,
                                                   const kube::rest_config& rc,
                                                   event_source_options opt, sink s, ke::metrics& m,
                                                   std::string* error, clock* test_clock) {
  if (opt.events_api != "v1" && opt.events_api != "events.k8s.io/v1") {
    if (error != nullptr) {
      *error = "eventsAPIVersion: \"" + opt.events_api + "\" (expected v1 or events.k8s.io/v1)";
    }
    return nullptr;
  }
  std::unique_ptr<event_source> src(
      new event_source(ex, rc, std::move(opt), std::move(s), m, test_clock));
  src->opt_.api.qps = src->opt_.kube_qps;
  src->opt_.api.burst = src->opt_.kube_burst;
  src->api_ =
      kube::api_client::create(std::move(ex), src->rest_, *src->clock_, src->opt_.api, error);
  if (!src->api_) {
    return nullptr;
  }
  src->opt_.enrichment.cache_size = src->opt_.cache_size;
  src->enricher_ = std::make_unique<enricher>(*src->api_, *src->clock_, &m, src->opt_.enrichment);
  src->opt_.reflector.path = events_path(src->opt_.events_api, src->opt_.namespace_);
  src->opt_.filter.repeated_events = src->opt_.repeated_events;
  src->opt_.filter.max_event_age_seconds = src->opt_.max_event_age_seconds;
  spdlog::info("watch: Kubernetes API {} ({}); watching {}{}", src->api_->server().origin(),
               rc.source, src->opt_.reflector.path,
               src->opt_.omit_lookup ? "; omitLookup: involved objects are not looked up" : "");
  return src;
}

event_source::event_source(net::any_io_executor ex, kube::rest_config rc, event_source_options opt,
                           sink s, ke::metrics& m, clock* c)
    : ex_(std::move(ex)),
      rest_(std::move(rc)),
      opt_(std::move(opt)),
      sink_(std::move(s)),
      metrics_(m),
      own_clock_(c == nullptr ? std::make_unique<clock>(ex_) : nullptr),
      clock_(c == nullptr ? own_clock_.get() : c),
      wake_emitter_(ex_, std::chrono::steady_clock::time_point::max()),
      room_(ex_, std::chrono::steady_clock::time_point::max()),
      all_done_(ex_, std::chrono::steady_clock::time_point::max()) {}

event_source::~event_source() {
  if (reflector_) {
    reflector_->stop();
  }
  if (api_) {
    api_->close_all();
  }
}

void event_source::task_done() {
  --tasks_;
  if (tasks_ == 0) {
    all_done_.cancel();
  }
}

void event_source::start() {
  if (running_) {
    return;
  }
  running_ = true;
  stopping_ = false;
  clock_->reset();
  api_->reopen();
  // A new filter per start: a new leader term starts like a process start (resmoio semantics),
  // but with the checkpoint (loaded first) deciding what was shipped already.
  filter_.reset();
  reflector_ =
      std::make_unique<reflector>(*api_, *clock_, &metrics_, opt_.reflector,
                                  [this](reflector_item item) { return on_item(std::move(item)); });
  tasks_ += 2;
  net::co_spawn(ex_, run_reflector(), net::detached);
  net::co_spawn(
      ex_,
      [this]() -> net::awaitable<void> {
        try {
          co_await emitter();
        } catch (const std::exception& e) {
          spdlog::error("watch: the event emitter failed: {}", e.what());
        }
        task_done();
      },
      net::detached);
}

net::awaitable<void> event_source::stop(std::chrono::steady_clock::time_point deadline) {
  if (!running_) {
    co_return;
  }
  stopping_ = true;
  reflector_->stop();  // aborts requests, wakes clock sleeps
  api_->close_all();
  wake_emitter_.cancel();
  room_.cancel();
  net::steady_timer limit(ex_, deadline);
  bool timed_out = false;
  limit.async_wait([this, &timed_out](boost::system::error_code ec) {
    if (!ec) {
      timed_out = true;
      all_done_.cancel();
    }
  });
  while (tasks_ > 0 && !timed_out) {
    boost::system::error_code ec;
    all_done_.expires_at(std::chrono::steady_clock::time_point::max());
    co_await all_done_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
  limit.cancel();
  if (tasks_ > 0) {
    spdlog::warn("watch: {} task(s) still running at the shutdown deadline", tasks_);
  }
  if (!pending_.empty()) {
    spdlog::warn("watch: {} event(s) received but not shipped at shutdown", pending_.size());
  }
  pending_.clear();
  to_look_up_.clear();
  running_ = false;
}

net::awaitable<void> event_source::run_reflector() {
  try {
    filter_options fo = opt_.filter;
    if (checkpoint_ != nullptr) {
      co_await checkpoint_->load();
      fo.known = checkpoint_->known();
    }
    filter_ = std::make_unique<event_filter>(fo, *clock_, &metrics_);
    if (!stopping_) {
      co_await reflector_->run();
    }
  } catch (const std::exception& e) {
    spdlog::error("watch: the list/watch loop failed: {}", e.what());
  }
  task_done();
}

void event_source::skip_for_good(const nlohmann::json& event) {
  if (checkpoint_ == nullptr) {
    return;
  }
  const auto md = event.find("metadata");
  if (md == event.end() || !md->is_object()) {
    return;
  }
  checkpoint_->handled(md->value("uid", std::string()), event_filter::occurrences(event),
                       event_filter::created_seconds(*md));
}

net::awaitable<void> event_source::on_item(reflector_item item) {
  if (stopping_) {
    co_return;
  }
  nlohmann::json ev = opt_.events_api == "events.k8s.io/v1"
                          ? events_v1_to_core(std::move(item.object))
                          : std::move(item.object);
  const verdict v = filter_->decide(item.kind, item.initial_list, ev);
  if (v == verdict::too_old) {
    skip_for_good(ev);
  }
  if (!emitted(v)) {
    co_return;
  }
  while (pending_.size() >= opt_.max_pending && !stopping_) {
    boost::system::error_code ec;
    room_.expires_at(std::chrono::steady_clock::time_point::max());
    co_await room_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
  if (stopping_) {
    co_return;
  }
  auto s = std::make_shared<slot>();
  s->event = std::move(ev);
  pending_.push_back(s);
  if (opt_.omit_lookup) {
    s->ready = true;
    emit_ready_wake();
  } else {
    to_look_up_.push_back(std::move(s));
    start_lookups();
  }
}

void event_source::start_lookups() {
  while (!to_look_up_.empty() && lookups_running_ < opt_.max_concurrent_lookups && !stopping_) {
    auto s = std::move(to_look_up_.front());
    to_look_up_.pop_front();
    ++lookups_running_;
    ++tasks_;
    net::co_spawn(
        ex_,
        [this, s]() -> net::awaitable<void> {
          try {
            co_await run_lookup(s);
          } catch (const std::exception& e) {
            spdlog::error("watch: involved object lookup failed: {}", e.what());
          }
          s->ready = true;
          --lookups_running_;
          emit_ready_wake();
          start_lookups();
          task_done();
        },
        net::detached);
  }
}

net::awaitable<void> event_source::run_lookup(std::shared_ptr<slot> s) {
  auto it = s->event.find("involvedObject");
  if (it == s->event.end()) {
    co_return;
  }
  const auto started = clock_->now();
  s->meta = co_await enricher_->lookup(*it);
  metrics_.lookup_seconds().Observe(std::chrono::duration<double>(clock_->now() - started).count());
}

net::awaitable<void> event_source::emitter() {
  const kube_event_options kopt{opt_.cluster_name};
  while (!stopping_) {
    while (!pending_.empty() && pending_.front()->ready && !stopping_) {
      auto s = std::move(pending_.front());
      pending_.pop_front();
      room_.cancel();
      std::string err;
      auto rec = decode_kube_event(s->event, kopt, s->meta ? &*s->meta : nullptr, &err);
      if (!rec) {
        const auto now = clock_->now();
        if (now - last_decode_log_ >= std::chrono::seconds(10) ||
            last_decode_log_ == std::chrono::steady_clock::time_point{}) {
          spdlog::error("watch: cannot decode an Event, skipped: {}", err);
          last_decode_log_ = now;
        }
        skip_for_good(s->event);
        continue;
      }
      if (const auto md = s->event.find("metadata");
          checkpoint_ != nullptr && md != s->event.end() && md->is_object()) {
        const std::string uid = md->value("uid", std::string());
        rec->source_position = uid + "/" + md->value("resourceVersion", std::string());
        checkpoint_->shipped(rec->source_position, uid, event_filter::occurrences(s->event),
                             event_filter::created_seconds(*md));
      }
      metrics_.events_sent.inc();
      ++emitted_;
      co_await sink_(std::make_shared<const record>(std::move(*rec)));
    }
    if (stopping_) {
      break;
    }
    boost::system::error_code ec;
    wake_emitter_.expires_at(std::chrono::steady_clock::time_point::max());
    co_await wake_emitter_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

}  // namespace ke::watch
