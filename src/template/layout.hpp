// resmoio layouts: a recursive map whose string leaves are Go text/templates evaluated against
// the event with Go field names (.Message, .InvolvedObject.Name, .Source.Component, ...).
// Non-string scalars become null, as resmoio's convertTemplate does. Output keys are sorted, as
// Go marshals maps.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/diagnostic.hpp"
#include "core/record.hpp"

namespace ke::tmpl {

class layout {
 public:
  // spec: the layout node from config; path: its YAML path for diagnostics. Templates are parsed
  // here; a parse error or an unsupported construct is an error naming path and key; compile
  // then returns nullptr. A null spec renders the record's full JSON (r.line); a spec that is
  // not a map (or null) is an error, as resmoio's map[string]interface{} would not load it.
  static std::unique_ptr<const layout> compile(const nlohmann::json& spec, const std::string& path,
                                               diagnostics& problems);

  // Renders the layout for `r` as Go-style JSON text. Returns false and sets *error on a
  // template execution error (the send then fails, as in resmoio, and is counted).
  bool render(const record& r, std::string& out, std::string* error) const;
  // Same for another document of the record's kind, e.g. de_dot(r.doc) for sinks with deDot
  // (resmoio applies deDot before the layout). A null spec renders go_json(doc).
  bool render(const nlohmann::ordered_json& doc, record_source source, std::string& out,
              std::string* error) const;

  ~layout();
  layout(const layout&) = delete;
  layout& operator=(const layout&) = delete;

 private:
  layout();
  struct impl;
  std::unique_ptr<impl> impl_;
};

// deDot: '.' -> '_' in the keys of metadata.labels/annotations and involvedObject
// labels/annotations of a record's doc (applied before layout/JSON by sinks that have deDot).
nlohmann::ordered_json de_dot(const nlohmann::ordered_json& doc);

}  // namespace ke::tmpl
