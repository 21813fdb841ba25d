// resmoio layouts (pkg/sinks/tmpl.go convertLayoutTemplate/convertTemplate): string leaves are
// templates, maps and lists recurse, other scalars become null; json.Marshal sorts map keys.
#include "template/layout.hpp"

#include <algorithm>
#include <map>

#include "core/go_json.hpp"
#include "template/go_template.hpp"

namespace ke::tmpl {

namespace {

struct node {
  enum class kind { null, text, map, list } k = kind::null;
  std::unique_ptr<const go_template> tmpl;  // text
  std::string path;                         // text: for error messages
  std::vector<std::string> keys;  // map: the keys, sorted; items[i] is the value of keys[i]
  std::vector<node> items;        // list, or the map's values (no std::pair<std::string, node>:
                                  // std::pair of an incomplete type is undefined behaviour)
};

bool compile_node(const nlohmann::json& spec, const std::string& path, node& out,
                  diagnostics& problems) {
  switch (spec.type()) {
    case nlohmann::json::value_t::string: {
      std::string error;
      out.k = node::kind::text;
      out.path = path;
      out.tmpl = go_template::parse(spec.get_ref<const std::string&>(), &error);
      if (!out.tmpl) {
        problems.push_back({diagnostic::level::error, path, "invalid template: " + error});
        return false;
      }
      return true;
    }
    case nlohmann::json::value_t::object: {
      out.k = node::kind::map;
      bool ok = true;
      for (auto it = spec.begin(); it != spec.end(); ++it) {  // nlohmann::json: sorted keys
        out.keys.push_back(it.key());
        out.items.emplace_back();
        ok = compile_node(it.value(), path + "." + it.key(), out.items.back(), problems) && ok;
      }
      return ok;
    }
    case nlohmann::json::value_t::array: {
      out.k = node::kind::list;
      out.items.resize(spec.size());
      bool ok = true;
      for (std::size_t i = 0; i < spec.size(); ++i) {
        ok = compile_node(spec[i], path + "[" + std::to_string(i) + "]", out.items[i], problems) &&
             ok;
      }
      return ok;
    }
    default:
      out.k = node::kind::null;  // numbers, bools, null: convertTemplate returns nil
      return true;
  }
}

bool render_node(const node& n, const nlohmann::ordered_json& doc, go_template::data_model model,
                 nlohmann::json& out, std::string* error) {
  switch (n.k) {
    case node::kind::null:
      out = nullptr;
      return true;
    case node::kind::text: {
      std::string s;
      std::string err;
      if (!n.tmpl->execute(doc, model, s, &err)) {
        if (error != nullptr) {
          *error = n.path + ": " + err;
        }
        return false;
      }
      out = std::move(s);
      return true;
    }
    case node::kind::map:
      out = nlohmann::json::object();
      for (std::size_t i = 0; i < n.keys.size(); ++i) {
        if (!render_node(n.items[i], doc, model, out[n.keys[i]], error)) {
          return false;
        }
      }
      return true;
    case node::kind::list:
      out = nlohmann::json::array();
      for (const auto& child : n.items) {
        out.push_back(nullptr);
        if (!render_node(child, doc, model, out.back(), error)) {
          return false;
        }
      }
      return true;
  }
  return false;
}

}  // namespace

struct layout::impl {
  bool full_record = false;  // null spec
  node root;
};

layout::layout() : impl_(std::make_unique<impl>()) {}
layout::~layout() = default;

std::unique_ptr<const layout> layout::compile(const nlohmann::json& spec, const std::string& path,
                                              diagnostics& problems) {
  std::unique_ptr<layout> l(new layout());
  if (spec.is_null()) {
    l->impl_->full_record = true;
    return l;
  }
  if (!spec.is_object()) {
    problems.push_back({diagnostic::level::error, path, "layout must be a map"});
    return nullptr;
  }
  if (!compile_node(spec, path, l->impl_->root, problems)) {
    return nullptr;
  }
  return l;
}

bool layout::render(const record& r, std::string& out, std::string* error) const {
  if (impl_->full_record && !r.line.empty()) {
    out = r.line;
    return true;
  }
  return render(r.doc, r.source, out, error);
}

bool layout::render(const nlohmann::ordered_json& doc, record_source source, std::string& out,
                    std::string* error) const {
  if (impl_->full_record) {
    out = go_json(doc);
    return true;
  }
  auto model = source == record_source::kube_event ? go_template::data_model::kube_event
                                                   : go_template::data_model::json;
  nlohmann::json result;
  if (!render_node(impl_->root, doc, model, result, error)) {
    return false;
  }
  out = go_json(result);
  return true;
}

nlohmann::ordered_json de_dot(const nlohmann::ordered_json& doc) {
  nlohmann::ordered_json copy = doc;
  auto fix = [](nlohmann::ordered_json* parent, const char* key) {
    if (parent == nullptr || !parent->is_object()) {
      return;
    }
    auto it = parent->find(key);
    if (it == parent->end() || !it->is_object() || it->empty()) {
      return;
    }
    // Rebuilt in key order: Go marshals the new map sorted, and renaming can change the order.
    std::map<std::string, nlohmann::ordered_json> renamed;
    for (auto kv = it->begin(); kv != it->end(); ++kv) {
      std::string k = kv.key();
      std::replace(k.begin(), k.end(), '.', '_');
      renamed[k] = kv.value();
    }
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (auto& [k, v] : renamed) {
      out[k] = std::move(v);
    }
    *it = std::move(out);
  };
  auto object_at = [&copy](const char* key) -> nlohmann::ordered_json* {
    if (!copy.is_object()) {
      return nullptr;
    }
    auto it = copy.find(key);
    return it == copy.end() ? nullptr : &*it;
  };
  nlohmann::ordered_json* metadata = object_at("metadata");
  fix(metadata, "labels");
  fix(metadata, "annotations");
  nlohmann::ordered_json* involved = object_at("involvedObject");
  fix(involved, "labels");
  fix(involved, "annotations");
  return copy;
}

}  // namespace ke::tmpl
