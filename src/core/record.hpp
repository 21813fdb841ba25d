// The one value type that flows source -> route -> queue -> sink.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace ke {

enum class record_source { kube_event, kube_bench };

using string_pairs = std::vector<std::pair<std::string, std::string>>;

// An immutable record. Built once by a decoder (kube event, kube-bench check), then shared
// read-only between every receiver it is routed to (record_ptr), so it is never copied.
struct record {
  record_source source = record_source::kube_event;

  // The document sinks ship. For Kubernetes events: resmoio's "enhanced event", keys in the
  // order Go's encoding/json emits them (ordered_json keeps insertion order).
  nlohmann::ordered_json doc;
  // doc serialized the way Go's json.Marshal does it (see core/go_json.hpp): the default line.
  std::string line;

  // Routing fields, extracted once by the decoder (empty when absent).
  std::string uid;         // metadata.uid
  std::string namespace_;  // metadata.namespace (the event's own)
  std::string name;        // metadata.name
  std::string reason;
  std::string type;
  std::string message;
  std::string api_version;  // involvedObject.apiVersion
  std::string kind;         // involvedObject.kind
  std::string component;    // source.component
  std::string host;         // source.host
  std::int32_t count = 0;
  string_pairs labels;       // involvedObject.labels, sorted by key
  string_pairs annotations;  // involvedObject.annotations, sorted by key

  // The record's own time in ns since the epoch (the event's time, not the send time).
  std::int64_t time_ns = 0;
  // Labels the source asks for on top of the receiver's stream labels (kube-bench).
  string_pairs stream_labels;
  // Where the record came from, opaque to sinks, for acknowledgements (sinks report it back
  // through sinks::delivery_observer once the record is durably delivered). Kube events:
  // "<uid>/<resourceVersion>"; ingest: the request it came in (e.g. "ingest:<id>#<n>").
  std::string source_position;
};

using record_ptr = std::shared_ptr<const record>;

}  // namespace ke
