// Loki stream labels and structured metadata for a record, and the checks that keep Loki from
// rejecting them: names match [a-zA-Z_][a-zA-Z0-9_]*, no "__" prefix, at most 15 names, names
// up to 1024 and values up to 2048 bytes, empty values dropped (Loki treats them as absent).
//
// A record's labels are, by increasing precedence: the receiver's static streamLabels, then the
// record fields listed under `labels:`, then the record's own stream_labels (kube-bench).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/diagnostic.hpp"
#include "core/record.hpp"

namespace ke::sinks::loki {

inline constexpr std::size_t max_label_names = 15;          // Loki 3 max_label_names_per_series
inline constexpr std::size_t max_label_name_bytes = 1024;   // max_label_name_length
inline constexpr std::size_t max_label_value_bytes = 2048;  // max_label_value_length

// [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__" (reserved for Loki).
bool valid_label_name(std::string_view name);

// {a="x", job="y"}: pairs must be sorted by name with unique names and non-empty values (what
// label_rules produces). This is the string Loki's own client sends as StreamAdapter.labels.
std::string format_labels(const string_pairs& sorted);

// A record field that can become a label or structured metadata.
struct field_ref {
  enum class kind {
    namespace_,
    name,
    uid,
    reason,
    type,
    kind,
    api_version,
    component,
    host,
    message,
    count,
    source,
    doc_path
  };
  kind what = kind::namespace_;
  std::string label;                  // the label / metadata name it produces
  std::vector<std::string> doc_path;  // kind::doc_path: keys into record::doc

  // Field names: namespace, name, uid, reason, type, kind, apiVersion, component, host,
  // message, count, source ("kube_event"/"kube_bench"), clusterName, or a dotted path into the
  // record's JSON document (e.g. involvedObject.name -> label involvedObject_name; the last
  // component may not be an object). Returns nullopt and sets *error for an unusable name.
  static std::optional<field_ref> parse(std::string_view spec, std::string* error);

  // The field's value for r ("" when absent; numbers and booleans as JSON text).
  std::string value(const record& r) const;
  // True for fields whose values are unique per record (uid, name, message, count): fine as
  // structured metadata, but every value would create a new Loki stream as a label.
  bool high_cardinality() const;
};

// The compiled label and structured-metadata rules of one Loki receiver.
class label_rules {
 public:
  // Validates cfg's streamLabels/labels/structuredMetadata; errors and warnings go to problems
  // with paths under `path` (e.g. "receivers[0].loki"). nullopt when there is an error.
  static std::optional<label_rules> compile(const config::loki_sink& cfg, const std::string& path,
                                            diagnostics& problems);

  // The label set of r, sorted by name, empty values dropped, invalid names from
  // record::stream_labels skipped, values cut to 2048 bytes, at most 15 names (the receiver's
  // own come first). Returns the number of labels skipped for being invalid or over the limit.
  std::size_t labels_for(const record& r, string_pairs& out) const;
  // The structured metadata of r, in config order, empty values dropped.
  void metadata_for(const record& r, string_pairs& out) const;

  const string_pairs& static_labels() const { return static_; }

 private:
  string_pairs static_;              // sorted, non-empty values
  std::vector<field_ref> fields_;    // labels:
  std::vector<field_ref> metadata_;  // structuredMetadata:
};

}  // namespace ke::sinks::loki
