// A subset of Go's text/template (with the usual sprig functions), as resmoio uses it for
// layouts and headers. The data is a record's document: for Kubernetes events, Go field names
// (.Message, .InvolvedObject.Labels.app, .Source.Host, .GetTimestampMs, ...) are mapped onto
// resmoio's enhanced-event JSON; for other documents `.key` reads the JSON key.
//
// Supported: text, {{- -}} trimming, comments, {{ pipeline }} with fields/maps/variables/
// literals/parentheses/`|`, if/else if/else/end, range (maps sorted, lists, $i/$e, else,
// break/continue), with/else with, $x := / $x =. Builtins: and or not len index print printf
// println eq ne lt le gt ge urlquery html. Sprig: toJson toPrettyJson toRawJson quote squote
// lower upper title trim trimPrefix trimSuffix trimAll replace default empty coalesce ternary
// contains hasPrefix hasSuffix join splitList cat indent nindent trunc repeat nospace toString
// b64enc b64dec add add1 sub mul div mod int int64 float64 atoi now date unixEpoch. Time values
// have .Unix .UnixMilli .UnixMicro .UnixNano .IsZero .String .Format .UTC .Local .Year.
// Anything else (define/template/block, unknown functions, fields the event type does not have)
// is rejected by parse(), not silently printed empty.
//
// Deviations from Go, by design: times print in UTC (Go uses the process's Local zone, UTC in
// the images this replaces); lower/upper/title/trim change ASCII only; %q treats all non-ASCII
// runes as printable except common format/separator characters; printing a whole
// *EnhancedEvent/ObjectMeta (which Go prints through a huge generated String()) is an error.
//
// Thread safety: a parsed template is immutable; execute() may run concurrently.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/record.hpp"

namespace ke::tmpl {

namespace detail {
struct tree;
}

class go_template {
 public:
  // How the document is presented to the template.
  enum class data_model {
    kube_event,  // resmoio's *kube.EnhancedEvent: Go field names, Go types and methods
    json,        // any JSON object: .key reads the key as is
  };

  // Parses `text` and checks function names and argument counts; for the kube_event model also
  // field names and types (a json template can only be checked when it runs). Returns nullptr
  // and sets *error ("line N: ...") on failure. Any parsed template can execute on either model.
  static std::unique_ptr<const go_template> parse(std::string_view text, std::string* error,
                                                  data_model model = data_model::kube_event);

  // Appends the output to `out`. Returns false and sets *error on an execution error (as Go
  // does, e.g. a nil pointer or a wrong argument type); `out` may then hold partial output.
  bool execute(const nlohmann::ordered_json& doc, data_model model, std::string& out,
               std::string* error) const;
  // Same, with the model chosen from r.source (kube_event for Kubernetes events).
  bool execute(const record& r, std::string& out, std::string* error) const;

  // True when the template has no actions: its output is always text().
  bool is_constant() const;
  const std::string& text() const;

  ~go_template();
  go_template(const go_template&) = delete;
  go_template& operator=(const go_template&) = delete;

 private:
  go_template();
  std::unique_ptr<detail::tree> tree_;
};

}  // namespace ke::tmpl
