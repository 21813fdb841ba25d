// libFuzzer target for watch event decoding: a WatchEvent ({"type":..,"object":..}) or a bare
// Event, as JSON text, through what the watch does with it (watch/event_source.cpp): the
// events.k8s.io/v1 -> core/v1 conversion, then decode_kube_event (core/kube_event.hpp) with and
// without enrichment metadata, and kube_event_time_ns. Invariants: no crash, no exception out of
// the decoder; a decoded record has a JSON object line; a refused event has an error message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "core/kube_event.hpp"
#include "watch/events_v1.hpp"

namespace {

void decode(const nlohmann::json& event) {
  const ke::kube_event_options opt{"fuzz-cluster"};
  ke::involved_object_meta meta;
  meta.labels = {{"app", "fuzz"}};
  meta.annotations = {{"a", "b"}};
  for (const ke::involved_object_meta* m :
       {static_cast<ke::involved_object_meta*>(nullptr), &meta}) {
    std::string error;
    const auto rec = ke::decode_kube_event(event, opt, m, &error);
    if (rec) {
      if (rec->line.empty() || rec->line.front() != '{' || rec->line.back() != '}') {
        std::abort();
      }
    } else if (error.empty()) {
      std::abort();
    }
  }
  (void)ke::kube_event_time_ns(event);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto* begin = reinterpret_cast<const char*>(data);
  // The watch reads objects from the framer and parses them the same way (no exceptions).
  const nlohmann::json doc = nlohmann::json::parse(begin, begin + size, nullptr, false);
  if (doc.is_discarded()) {
    return 0;
  }
  const nlohmann::json* object = &doc;
  if (doc.is_object()) {
    if (const auto it = doc.find("object"); it != doc.end()) {
      object = &*it;
    }
  }
  decode(*object);
  if (object->is_object()) {
    decode(ke::watch::events_v1_to_core(*object));
  }
  return 0;
}
