#include "sinks/line_format.hpp"

#include "core/go_json.hpp"

namespace ke::sinks {

line_format::line_format(std::unique_ptr<const tmpl::layout> layout, bool de_dot)
    : layout_(std::move(layout)), de_dot_(de_dot) {}

bool line_format::append(const record& r, std::string& out, std::string* error) const {
  if (!layout_) {
    if (de_dot_) {
      out += go_json(tmpl::de_dot(r.doc));
    } else {
      out += r.line;
    }
    return true;
  }
  scratch_.clear();
  bool ok = false;
  if (de_dot_) {
    record copy = r;
    copy.doc = tmpl::de_dot(r.doc);
    ok = layout_->render(copy, scratch_, error);
  } else {
    ok = layout_->render(r, scratch_, error);
  }
  if (ok) {
    out += scratch_;
  }
  return ok;
}

}  // namespace ke::sinks
