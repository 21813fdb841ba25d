// How the stdout and file sinks turn a record into one line: the layout when configured, else the
// record's own JSON line; deDot (when set) is applied to the document first, as resmoio does.
#pragma once
#include <memory>
#include <string>

#include "core/record.hpp"
#include "template/layout.hpp"

namespace ke::sinks {

class line_format {
 public:
  // layout: null for the full record JSON.
  line_format(std::unique_ptr<const tmpl::layout> layout, bool de_dot);

  // Appends the record's line (no newline) to out. On a template execution error returns false,
  // leaves out unchanged and sets *error.
  bool append(const record& r, std::string& out, std::string* error) const;

 private:
  std::unique_ptr<const tmpl::layout> layout_;
  bool de_dot_;
  mutable std::string scratch_;
};

}  // namespace ke::sinks
