// core/v1 Event JSON (as served by the API server) -> record with resmoio's enhanced-event line.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/record.hpp"

namespace ke {

// Metadata of the involved object, fetched by enrichment (watch/); absent with omitLookup.
struct involved_object_meta {
  string_pairs labels;
  string_pairs annotations;
  nlohmann::json owner_references;  // array as served by the API, or null
  bool deleted = false;
};

struct kube_event_options {
  std::string cluster_name;  // config clusterName
};

// Builds the record from a core/v1 Event object. The record's doc is resmoio's EnhancedEvent in
// Go encoding/json order with Go's omitempty/null rules (managedFields removed); line is
// go_json(doc). If meta is absent, involvedObject.labels/annotations/ownerReferences already
// present in `event` (the enhanced form, as route-test reads it) are kept.
// Returns std::nullopt and sets *error when `event` is not an object or a field has the wrong type.
std::optional<record> decode_kube_event(const nlohmann::json& event, const kube_event_options& opt,
                                        const involved_object_meta* meta, std::string* error);

// The record's own time in ns: series.lastObservedTime, lastTimestamp, eventTime,
// firstTimestamp, metadata.creationTimestamp - first present wins; 0 if none.
std::int64_t kube_event_time_ns(const nlohmann::json& event);

}  // namespace ke
