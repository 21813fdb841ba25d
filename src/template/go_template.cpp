// go_template: the public entry points (parse, execute).
#include "template/go_template.hpp"

#include "template/internal.hpp"

namespace ke::tmpl {

go_template::go_template() : tree_(std::make_unique<detail::tree>()) {}
go_template::~go_template() = default;

std::unique_ptr<const go_template> go_template::parse(std::string_view text, std::string* error,
                                                      data_model model) {
  std::unique_ptr<go_template> t(new go_template());
  try {
    t->tree_->source = std::string(text);
    t->tree_->root = detail::parse_list_nodes(text);
    detail::check_tree(t->tree_->root, model == data_model::kube_event ? detail::event_type()
                                                                       : detail::json_type());
  } catch (const detail::exec_error& e) {
    if (error != nullptr) {
      *error = e.what();
    }
    return nullptr;
  }
  const auto& root = t->tree_->root;
  t->tree_->constant =
      root.empty() || (root.size() == 1 && root[0].k == detail::list_node::kind::text);
  return t;
}

bool go_template::execute(const nlohmann::ordered_json& doc, data_model model, std::string& out,
                          std::string* error) const {
  if (tree_->constant) {
    out += tree_->root.empty() ? std::string() : tree_->root[0].text;
    return true;
  }
  detail::value root;
  if (model == data_model::kube_event) {
    root.k = detail::value::kind::node;
    root.type = detail::event_type();
    root.j = &doc;
  } else {
    root = detail::from_node(detail::json_type(), &doc, nullptr);
  }
  try {
    detail::execute_tree(*tree_, root, out);
  } catch (const std::exception& e) {  // exec_error, or a JSON type error in a malformed doc
    if (error != nullptr) {
      *error = e.what();
    }
    return false;
  }
  return true;
}

bool go_template::execute(const record& r, std::string& out, std::string* error) const {
  return execute(r.doc,
                 r.source == record_source::kube_event ? data_model::kube_event : data_model::json,
                 out, error);
}

bool go_template::is_constant() const { return tree_->constant; }
const std::string& go_template::text() const { return tree_->source; }

}  // namespace ke::tmpl
