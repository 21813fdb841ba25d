#include "watch/events_v1.hpp"

#include <utility>

namespace ke::watch {

nlohmann::json events_v1_to_core(nlohmann::json event) {
  if (!event.is_object()) {
    return event;
  }
  static const std::pair<const char*, const char*> renames[] = {
      {"metadata", "metadata"},
      {"regarding", "involvedObject"},
      {"reason", "reason"},
      {"note", "message"},
      {"deprecatedSource", "source"},
      {"deprecatedFirstTimestamp", "firstTimestamp"},
      {"deprecatedLastTimestamp", "lastTimestamp"},
      {"deprecatedCount", "count"},
      {"type", "type"},
      {"eventTime", "eventTime"},
      {"series", "series"},
      {"action", "action"},
      {"related", "related"},
      {"reportingController", "reportingComponent"},
      {"reportingInstance", "reportingInstance"},
  };
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [from, to] : renames) {
    auto it = event.find(from);
    if (it != event.end()) {
      out[to] = std::move(*it);
    }
  }
  return out;
}

}  // namespace ke::watch
