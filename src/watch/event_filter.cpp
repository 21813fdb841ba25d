#include "watch/event_filter.hpp"

#include <spdlog/spdlog.h>

#include <functional>
#include <string_view>

#include "core/go_json.hpp"
#include "watch/checkpoint.hpp"

namespace ke::watch {

namespace {

using json = nlohmann::json;

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) {
    return nullptr;
  }
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

std::string_view string_at(const json& obj, const char* key) {
  const json* v = member(obj, key);
  if (v == nullptr || !v->is_string()) {
    return {};
  }
  return v->get_ref<const std::string&>();
}

std::int64_t int_at(const json& obj, const char* key) {
  const json* v = member(obj, key);
  if (v == nullptr || !v->is_number_integer()) {
    return 0;
  }
  return v->get<std::int64_t>();
}

std::int64_t time_at(const json& obj, const char* key) {
  const std::string_view s = string_at(obj, key);
  if (s.empty()) {
    return 0;
  }
  const auto ns = parse_rfc3339_ns(s);
  return ns < 0 ? 0 : ns;
}

}  // namespace

event_filter::event_filter(filter_options opt, clock& c, ke::metrics* m)
    : opt_(opt), clock_(c), metrics_(m) {}

std::int64_t event_filter::occurrences(const json& event) {
  std::int64_t n = int_at(event, "count");
  if (const json* series = member(event, "series")) {
    n = std::max(n, int_at(*series, "count"));
  }
  return n;
}

std::int64_t event_filter::created_seconds(const json& metadata) {
  const std::int64_t ns = time_at(metadata, "creationTimestamp");
  return ns / 1000000000LL;
}

std::int64_t event_filter::age_time_ns(const json& event) {
  if (auto t = time_at(event, "lastTimestamp"); t != 0) {
    return t;
  }
  if (const json* series = member(event, "series")) {
    if (auto t = time_at(*series, "lastObservedTime"); t != 0) {
      return t;
    }
  }
  return time_at(event, "eventTime");
}

void event_filter::touch(std::uint64_t key, entry& e) {
  e.touched = clock_.now();
  order_.emplace_back(e.touched, key);
}

void event_filter::evict() {
  const auto now = clock_.now();
  bool overflow_logged = false;
  while (!order_.empty()) {
    const auto [when, key] = order_.front();
    const bool expired = now - when >= opt_.seen_window;
    const bool over = entries_.size() > opt_.max_entries;
    if (!expired && !over) {
      break;
    }
    order_.pop_front();
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.touched != when) {
      continue;  // touched again later; a newer order_ entry stands for it
    }
    if (!expired && !overflow_logged && now - last_overflow_log_ >= std::chrono::minutes(1)) {
      spdlog::warn(
          "watch: more than {} events seen within {} s; forgetting the oldest (a relist may "
          "export them again)",
          opt_.max_entries, opt_.seen_window.count());
      last_overflow_log_ = now;
      overflow_logged = true;
    }
    entries_.erase(it);
  }
  // Compact the order queue when stale entries dominate it.
  if (order_.size() > 2 * entries_.size() + 1024) {
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> fresh;
    for (const auto& p : order_) {
      auto it = entries_.find(p.second);
      if (it != entries_.end() && it->second.touched == p.first) {
        fresh.push_back(p);
      }
    }
    order_.swap(fresh);
  }
}

verdict event_filter::decide(item_kind kind, bool initial_list, const json& event) {
  evict();
  const json* md = member(event, "metadata");
  std::string_view uid;
  std::string_view rv;
  std::string fallback;
  if (md != nullptr) {
    uid = string_at(*md, "uid");
    rv = string_at(*md, "resourceVersion");
    if (uid.empty()) {
      fallback =
          std::string(string_at(*md, "namespace")) + "/" + std::string(string_at(*md, "name"));
      uid = fallback;
    }
  }
  const std::uint64_t key = uid_key(uid);
  if (kind == item_kind::deleted) {
    entries_.erase(key);
    return verdict::deleted;
  }
  const std::uint64_t rvh = uid_key(rv);
  const std::int64_t count = occurrences(event);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    entry& e = it->second;
    if (e.rv_hash == rvh) {
      touch(key, e);
      return verdict::duplicate;
    }
    const bool grew = count > e.count;
    e.rv_hash = rvh;
    e.count = std::max(e.count, count);
    touch(key, e);
    if (!grew) {
      return verdict::unchanged;
    }
    return opt_.repeated_events ? verdict::emit_repeat : verdict::repeat_off;
  }
  entry& e = entries_[key];
  e.rv_hash = rvh;
  e.count = count;
  touch(key, e);
  if (opt_.known != nullptr) {
    // Handled by an earlier process (the checkpoint): shipped at some count.
    if (const auto* h = opt_.known->find(key)) {
      e.count = std::max(count, h->count);
      if (count <= h->count) {
        return verdict::duplicate;
      }
      return opt_.repeated_events ? verdict::emit_repeat : verdict::repeat_off;
    }
  }
  if (kind == item_kind::modified && !opt_.repeated_events) {
    return verdict::repeat_off;
  }
  if (opt_.known != nullptr && md != nullptr &&
      created_seconds(*md) >= opt_.known->complete_since()) {
    return verdict::emit;  // never handled (the checkpoint would know it): missed, whatever its age
  }
  if (kind == item_kind::listed && initial_list) {
    const std::int64_t ts = age_time_ns(event);
    const std::int64_t now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.wall_now().time_since_epoch())
            .count();
    const std::int64_t max_age_ns = opt_.max_event_age_seconds * 1000000000LL;
    if (ts == 0 || now_ns - ts > max_age_ns) {
      const std::int64_t start_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        opt_.process_start.time_since_epoch())
                                        .count();
      if (ts > start_ns) {
        if (metrics_ != nullptr) {
          metrics_->events_discarded.inc();
        }
        ++discards_unlogged_;
        const auto now = clock_.now();
        if (now - last_discard_log_ >= std::chrono::seconds(10) ||
            last_discard_log_ == std::chrono::steady_clock::time_point{}) {
          spdlog::warn(
              "watch: {} event(s) discarded as being older than maxEventAgeSeconds ({} s); "
              "latest: {}/{}",
              discards_unlogged_, opt_.max_event_age_seconds,
              md != nullptr ? string_at(*md, "namespace") : "",
              md != nullptr ? string_at(*md, "name") : "");
          last_discard_log_ = now;
          discards_unlogged_ = 0;
        }
      }
      return verdict::too_old;
    }
  }
  return verdict::emit;
}

}  // namespace ke::watch
