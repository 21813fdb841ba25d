// Which list/watch updates of Events become records.
//
// - ADDED: yes.
// - MODIFIED: yes when the occurrence count grew (count, or series.count for the new events
//   API): the event happened again. resmoio drops every update, so repeats were never exported
//   (its users asked for them); `repeated_events` (on by default) switches this. A MODIFIED that
//   does not grow the count (e.g. a metadata change) is never exported.
// - DELETED: never (Events are deleted by their TTL; nothing happened).
// - Listed items: a relist never re-emits what was already seen. The filter keeps, per event
//   (metadata.uid), the last resourceVersion and count it saw, for `seen_window` after it last
//   saw the event (the API server's event TTL, 1 h by default, plus margin; an event older than
//   that is gone from the server and cannot come back). A listed item whose (uid,
//   resourceVersion) was seen is skipped; one that was seen with a smaller count is a repeat
//   that happened while the watch was down; an unknown one is an event missed while the watch
//   was down, and is emitted.
// - maxEventAgeSeconds applies to the items of the first list at startup, as in resmoio: an
//   event whose last occurrence (lastTimestamp, else series.lastObservedTime, else eventTime) is
//   older is discarded (no timestamp at all: discarded). Discards are counted in
//   events_discarded and logged only when the event's time is after the process started, as
//   resmoio does; older ones are the expected backlog. Discarded events are still remembered,
//   so a later repeat of one is exported.
//
// Memory: about 100 bytes per remembered event (hashes, not strings), at most max_entries
// (oldest forgotten first, with a warning).
//
// Threading: one executor thread.
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "config/defaults.hpp"
#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "watch/reflector.hpp"

namespace ke::watch {

class checkpoint_set;

struct filter_options {
  bool repeated_events = true;
  std::int64_t max_event_age_seconds = config::defaults::max_event_age_seconds;
  std::chrono::seconds seen_window{3900};
  std::size_t max_entries = 1000000;
  std::chrono::system_clock::time_point process_start = std::chrono::system_clock::now();
  // The delivery checkpoint of earlier processes (watch/checkpoint.hpp), or nullptr. An Event
  // it has at the same or a higher count is a duplicate; one it lacks that was created at or
  // after its complete_since() was missed and is emitted whatever its age (maxEventAgeSeconds
  // then only applies to Events it cannot vouch for).
  const checkpoint_set* known = nullptr;
};

enum class verdict {
  emit,         // a new event (ADDED, or missed while the watch was down)
  emit_repeat,  // the count grew: the event happened again
  duplicate,    // this (uid, resourceVersion) was seen already
  unchanged,    // updated without a count increase
  repeat_off,   // the count grew but repeated_events is off
  deleted,      // DELETED: never exported
  too_old,      // initial list, older than maxEventAgeSeconds
};

inline bool emitted(verdict v) { return v == verdict::emit || v == verdict::emit_repeat; }

class event_filter {
 public:
  event_filter(filter_options opt, clock& c, ke::metrics* m);

  // Decides for one core/v1-shaped Event (events.k8s.io objects converted first).
  verdict decide(item_kind kind, bool initial_list, const nlohmann::json& event);

  std::size_t size() const { return entries_.size(); }

  // The occurrence count used to detect repeats: max(count, series.count).
  static std::int64_t occurrences(const nlohmann::json& event);
  // resmoio's age timestamp in ns (0 if none): lastTimestamp, series.lastObservedTime,
  // eventTime.
  static std::int64_t age_time_ns(const nlohmann::json& event);
  // metadata.creationTimestamp in seconds since the epoch (0 if none).
  static std::int64_t created_seconds(const nlohmann::json& metadata);

 private:
  struct entry {
    std::uint64_t rv_hash = 0;
    std::int64_t count = 0;
    std::chrono::steady_clock::time_point touched{};
  };
  void touch(std::uint64_t key, entry& e);
  void evict();

  filter_options opt_;
  clock& clock_;
  ke::metrics* metrics_;
  std::unordered_map<std::uint64_t, entry> entries_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> order_;
  std::chrono::steady_clock::time_point last_overflow_log_{};
  std::chrono::steady_clock::time_point last_discard_log_{};
  std::uint64_t discards_unlogged_ = 0;
};

}  // namespace ke::watch
