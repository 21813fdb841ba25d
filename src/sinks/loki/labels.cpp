#include "sinks/loki/labels.hpp"

#include <algorithm>
#include <cstdio>

#include "core/utf8.hpp"

namespace ke::sinks::loki {

namespace {

bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

struct named_field {
  std::string_view name;
  field_ref::kind what;
};

constexpr named_field known_fields[] = {
    {"namespace", field_ref::kind::namespace_},
    {"name", field_ref::kind::name},
    {"uid", field_ref::kind::uid},
    {"reason", field_ref::kind::reason},
    {"type", field_ref::kind::type},
    {"kind", field_ref::kind::kind},
    {"apiVersion", field_ref::kind::api_version},
    {"component", field_ref::kind::component},
    {"host", field_ref::kind::host},
    {"message", field_ref::kind::message},
    {"count", field_ref::kind::count},
    {"source", field_ref::kind::source},
};

void sort_unique(string_pairs& v) {
  std::stable_sort(v.begin(), v.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // On duplicate names the last one (highest precedence) wins.
  string_pairs out;
  out.reserve(v.size());
  for (auto& p : v) {
    if (!out.empty() && out.back().first == p.first) {
      out.back().second = std::move(p.second);
    } else {
      out.push_back(std::move(p));
    }
  }
  v = std::move(out);
}

}  // namespace

bool valid_label_name(std::string_view name) {
  if (name.empty() || !name_start(name[0]) || name.substr(0, 2) == "__") {
    return false;
  }
  return std::all_of(name.begin(), name.end(), name_char);
}

std::string format_labels(const string_pairs& sorted) {
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : sorted) {
    if (!first) {
      out += ", ";
    }
    first = false;
    out += name;
    out += '=';
    go_quote(value, out);
  }
  out += '}';
  return out;
}

// ---------------------------------------------------------------------------------------------
// field_ref

std::optional<field_ref> field_ref::parse(std::string_view spec, std::string* error) {
  auto fail = [&](std::string m) -> std::optional<field_ref> {
    if (error != nullptr) {
      *error = std::move(m);
    }
    return std::nullopt;
  };
  field_ref f;
  for (const auto& k : known_fields) {
    if (k.name == spec) {
      f.what = k.what;
      f.label = std::string(spec);
      return f;
    }
  }
  if (spec == "clusterName") {
    f.what = kind::doc_path;
    f.doc_path = {"clusterName"};
    f.label = "clusterName";
    return f;
  }
  if (spec.find('.') == std::string_view::npos) {
    return fail("unknown record field \"" + std::string(spec) +
                "\" (known: namespace, name, uid, reason, type, kind, apiVersion, component, "
                "host, message, count, source, clusterName, or a dotted path such as "
                "involvedObject.name)");
  }
  f.what = kind::doc_path;
  std::string_view rest = spec;
  while (true) {
    const auto dot = rest.find('.');
    const std::string_view part = rest.substr(0, dot);
    if (part.empty()) {
      return fail("empty component in field path \"" + std::string(spec) + "\"");
    }
    f.doc_path.emplace_back(part);
    if (dot == std::string_view::npos) {
      break;
    }
    rest = rest.substr(dot + 1);
  }
  f.label = std::string(spec);
  std::replace_if(
      f.label.begin(), f.label.end(), [](char c) { return !name_char(c); }, '_');
  if (!valid_label_name(f.label)) {
    return fail("field path \"" + std::string(spec) + "\" gives the invalid label name \"" +
                f.label + "\"");
  }
  return f;
}

std::string field_ref::value(const record& r) const {
  switch (what) {
    case kind::namespace_:
      return r.namespace_;
    case kind::name:
      return r.name;
    case kind::uid:
      return r.uid;
    case kind::reason:
      return r.reason;
    case kind::type:
      return r.type;
    case kind::kind:
      return r.kind;
    case kind::api_version:
      return r.api_version;
    case kind::component:
      return r.component;
    case kind::host:
      return r.host;
    case kind::message:
      return r.message;
    case kind::count:
      return r.count == 0 ? std::string() : std::to_string(r.count);
    case kind::source:
      return r.source == record_source::kube_bench ? "kube_bench" : "kube_event";
    case kind::doc_path: {
      const nlohmann::ordered_json* node = &r.doc;
      for (const auto& key : doc_path) {
        if (!node->is_object()) {
          return {};
        }
        const auto it = node->find(key);
        if (it == node->end()) {
          return {};
        }
        node = &*it;
      }
      if (node->is_string()) {
        return node->get<std::string>();
      }
      if (node->is_number() || node->is_boolean()) {
        return node->dump();
      }
      return {};
    }
  }
  return {};
}

bool field_ref::high_cardinality() const {
  return what == kind::uid || what == kind::name || what == kind::message || what == kind::count;
}

// ---------------------------------------------------------------------------------------------
// label_rules

std::optional<label_rules> label_rules::compile(const config::loki_sink& cfg,
                                                const std::string& path, diagnostics& problems) {
  using level = diagnostic::level;
  label_rules rules;
  bool ok = true;
  auto error = [&](const std::string& p, std::string m) {
    problems.push_back({level::error, p, std::move(m)});
    ok = false;
  };
  auto warn = [&](const std::string& p, std::string m) {
    problems.push_back({level::warning, p, std::move(m)});
  };

  std::vector<std::string> names;  // every label name the config can produce
  for (const auto& [name, value] : cfg.stream_labels) {
    const std::string p = path + ".streamLabels." + name;
    if (!valid_label_name(name)) {
      error(p, "invalid Loki label name \"" + name +
                   "\": names must match [a-zA-Z_][a-zA-Z0-9_]* and must not start with \"__\"");
      continue;
    }
    if (name.size() > max_label_name_bytes) {
      error(p, "label name longer than " + std::to_string(max_label_name_bytes) + " bytes");
      continue;
    }
    if (value.size() > max_label_value_bytes) {
      error(p, "label value longer than " + std::to_string(max_label_value_bytes) +
                   " bytes (Loki rejects the stream)");
      continue;
    }
    if (value.empty()) {
      warn(p, "empty label value: Loki treats it as absent, the label is not sent");
      continue;
    }
    names.push_back(name);
    rules.static_.emplace_back(name, value);
  }
  sort_unique(rules.static_);

  for (std::size_t i = 0; i < cfg.labels.size(); ++i) {
    const std::string p = path + ".labels[" + std::to_string(i) + "]";
    std::string why;
    auto f = field_ref::parse(cfg.labels[i], &why);
    if (!f) {
      error(p, why);
      continue;
    }
    if (f->high_cardinality()) {
      error(p, "\"" + cfg.labels[i] +
                   "\" is unique per record: as a label every record would be a new Loki "
                   "stream; use structuredMetadata for it");
      continue;
    }
    if (std::find(names.begin(), names.end(), f->label) != names.end()) {
      error(p, "label \"" + f->label + "\" is already set (streamLabels or labels)");
      continue;
    }
    names.push_back(f->label);
    rules.fields_.push_back(std::move(*f));
  }
  if (names.size() > max_label_names) {
    error(path + ".labels", "streamLabels and labels give " + std::to_string(names.size()) +
                                " label names; Loki accepts at most " +
                                std::to_string(max_label_names) + " per stream");
  }
  if (ok && names.empty()) {
    error(path + ".streamLabels",
          "no labels: Loki rejects streams without labels; set streamLabels (e.g. "
          "{job: kubernetes-event}) or labels");
  } else if (ok && rules.static_.empty()) {
    warn(path + ".streamLabels",
         "no static stream labels: records whose labels fields are all empty have no labels "
         "and are dropped (counted, reason no_labels)");
  }

  std::vector<std::string> meta_names;
  for (std::size_t i = 0; i < cfg.structured_metadata.size(); ++i) {
    const std::string p = path + ".structuredMetadata[" + std::to_string(i) + "]";
    std::string why;
    auto f = field_ref::parse(cfg.structured_metadata[i], &why);
    if (!f) {
      error(p, why);
      continue;
    }
    if (std::find(meta_names.begin(), meta_names.end(), f->label) != meta_names.end()) {
      error(p, "structured metadata \"" + f->label + "\" is listed twice");
      continue;
    }
    meta_names.push_back(f->label);
    rules.metadata_.push_back(std::move(*f));
  }
  if (!ok) {
    return std::nullopt;
  }
  return rules;
}

std::size_t label_rules::labels_for(const record& r, string_pairs& out) const {
  out.clear();
  std::size_t skipped = 0;
  out.reserve(static_.size() + fields_.size() + r.stream_labels.size());
  out = static_;
  for (const auto& f : fields_) {
    std::string v = f.value(r);
    out.emplace_back(f.label, std::move(v));
  }
  for (const auto& [name, value] : r.stream_labels) {
    if (!valid_label_name(name) || name.size() > max_label_name_bytes) {
      ++skipped;
      continue;
    }
    out.emplace_back(name, value);
  }
  sort_unique(out);
  std::erase_if(out, [](const auto& p) { return p.second.empty(); });
  for (auto& p : out) {
    cut_utf8(p.second, max_label_value_bytes);
  }
  if (out.size() > max_label_names) {
    // Keep the receiver's own labels; drop the record's extras beyond the limit.
    string_pairs kept;
    kept.reserve(max_label_names);
    for (auto& p : out) {
      const bool own = std::any_of(static_.begin(), static_.end(),
                                   [&](const auto& s) { return s.first == p.first; }) ||
                       std::any_of(fields_.begin(), fields_.end(),
                                   [&](const auto& f) { return f.label == p.first; });
      if (own) {
        kept.push_back(std::move(p));
      }
    }
    for (auto& p : out) {
      if (!p.first.empty() && kept.size() < max_label_names &&
          std::none_of(kept.begin(), kept.end(),
                       [&](const auto& k) { return k.first == p.first; })) {
        kept.push_back(std::move(p));
      }
    }
    skipped += out.size() - kept.size();
    sort_unique(kept);
    out = std::move(kept);
  }
  return skipped;
}

void label_rules::metadata_for(const record& r, string_pairs& out) const {
  out.clear();
  for (const auto& f : metadata_) {
    std::string v = f.value(r);
    if (!v.empty()) {
      out.emplace_back(f.label, std::move(v));
    }
  }
}

}  // namespace ke::sinks::loki
