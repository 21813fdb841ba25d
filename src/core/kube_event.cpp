// core/v1 Event -> resmoio EnhancedEvent document and line; see kube_event.hpp.
//
// The document reproduces what Go does when resmoio decodes the event into corev1.Event
// (k8s.io/api v0.26) and json.Marshal()s its EnhancedEvent:
//  - keys in struct declaration order; embedded structs (TypeMeta, ObjectReference) promote
//    their fields in place; EnhancedEvent's own involvedObject shadows Event's, so it comes
//    last, after clusterName;
//  - omitempty drops "", 0, nil pointers, empty maps and slices, but never struct values:
//    metav1.Time/MicroTime fields marshal as null when zero, source is always an object;
//  - unknown input fields are dropped (typed decode), managedFields is cleared;
//  - map keys (labels, annotations) are sorted bytewise;
//  - Time is re-marshalled as RFC3339 UTC seconds, MicroTime with 6 fractional digits.
#include "core/kube_event.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

#include "core/go_json.hpp"

namespace ke {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// A type mismatch somewhere in the event; unwinds to decode_kube_event.
struct field_error {
  std::string message;
};

std::string join(std::string_view parent, std::string_view key) {
  std::string p;
  p.reserve(parent.size() + key.size() + 1);
  p.append(parent);
  if (!parent.empty() && key.front() != '[') {
    p.push_back('.');
  }
  p.append(key);
  return p;
}

[[noreturn]] void fail(std::string_view parent, std::string_view key, std::string_view expected,
                       const json& got) {
  throw field_error{join(parent, key) + ": expected " + std::string(expected) + ", got " +
                    got.type_name()};
}

// The member `key` of object `obj`, or nullptr when absent or JSON null (Go leaves the zero
// value for null).
const json* member(const json* obj, std::string_view key) {
  if (obj == nullptr) {
    return nullptr;
  }
  auto it = obj->find(key);
  if (it == obj->end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

std::string_view get_string(const json* obj, const char* key, std::string_view parent) {
  const json* v = member(obj, key);
  if (v == nullptr) {
    return {};
  }
  if (!v->is_string()) {
    fail(parent, key, "string", *v);
  }
  return v->get_ref<const std::string&>();
}

const json* get_object(const json* obj, const char* key, std::string_view parent) {
  const json* v = member(obj, key);
  if (v != nullptr && !v->is_object()) {
    fail(parent, key, "object", *v);
  }
  return v;
}

const json* get_array(const json* obj, const char* key, std::string_view parent) {
  const json* v = member(obj, key);
  if (v != nullptr && !v->is_array()) {
    fail(parent, key, "array", *v);
  }
  return v;
}

// A Go integer field: a JSON number without fraction or exponent, within range. nlohmann
// parses "5.0" and "5e0" as floats, which Go also rejects for integer fields.
template <class Int>
std::optional<Int> get_int(const json* obj, const char* key, std::string_view parent,
                           std::string_view type) {
  const json* v = member(obj, key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_number_integer()) {
    if (v->is_number_unsigned()) {
      const auto u = v->get<std::uint64_t>();
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<Int>::max())) {
        return static_cast<Int>(u);
      }
    } else {
      const auto i = v->get<std::int64_t>();
      if (i >= std::numeric_limits<Int>::min() && i <= std::numeric_limits<Int>::max()) {
        return static_cast<Int>(i);
      }
    }
  }
  fail(parent, key, type, *v);
}

std::optional<bool> get_bool(const json* obj, const char* key, std::string_view parent) {
  const json* v = member(obj, key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_boolean()) {
    fail(parent, key, "boolean", *v);
  }
  return v->get<bool>();
}

// An empty document object with room for `n` members. Members are appended, and the
// ordered_map's vector copies (not moves) its pair<const string, json> elements when it grows.
ojson object_with_capacity(std::size_t n) {
  ojson obj = ojson::object();
  obj.get_ref<ojson::object_t&>().reserve(n);
  return obj;
}

// Appends `key: value` to a document object. Keys are unique by construction (struct fields,
// map keys), so ordered_map's duplicate search is skipped.
template <class V>
void add(ojson& obj, std::string_view key, V&& value) {
  obj.get_ref<ojson::object_t&>().emplace_back(std::string(key), ojson(std::forward<V>(value)));
}

void put_string_omitempty(ojson& out, const char* key, std::string_view s) {
  if (!s.empty()) {
    add(out, key, s);
  }
}

// True for an RFC3339 spelling of Go's zero time.Time (0001-01-01T00:00:00Z), which is outside
// the int64-nanosecond range parse_rfc3339_ns covers and which Time.MarshalJSON writes as null.
bool is_go_zero_time(std::string_view s) {
  constexpr std::string_view zero = "0001-01-01T00:00:00";
  if (s.substr(0, zero.size()) != zero) {
    return false;
  }
  s.remove_prefix(zero.size());
  if (!s.empty() && (s.front() == '.' || s.front() == ',')) {
    s.remove_prefix(1);
    if (s.empty() || s.front() != '0') {
      return false;
    }
    while (!s.empty() && s.front() == '0') {
      s.remove_prefix(1);
    }
  }
  return s == "Z" || s == "+00:00" || s == "-00:00";
}

// metav1.Time (micro=false) or metav1.MicroTime (micro=true), parsed and re-marshalled as Go
// does: UTC, seconds or microseconds (extra precision truncated), null when zero or absent.
ojson time_value(const json* obj, const char* key, std::string_view parent, bool micro) {
  const json* v = member(obj, key);
  if (v == nullptr) {
    return nullptr;
  }
  if (!v->is_string()) {
    fail(parent, key, "RFC3339 time string", *v);
  }
  const auto& s = v->get_ref<const std::string&>();
  const std::int64_t ns = parse_rfc3339_ns(s);
  if (ns == -1) {
    if (is_go_zero_time(s)) {
      return nullptr;
    }
    throw field_error{join(parent, key) + ": invalid RFC3339 time \"" + s + "\""};
  }
  return micro ? format_rfc3339_micro(ns) : format_rfc3339(ns);
}

// map[string]string with omitempty: keys sorted (json objects are std::map), null values
// decode to "".
void put_string_map(ojson& out, const char* key, const json* obj, std::string_view parent) {
  const json* m = get_object(obj, key, parent);
  if (m == nullptr || m->empty()) {
    return;
  }
  ojson dst = object_with_capacity(m->size());
  for (auto it = m->begin(); it != m->end(); ++it) {
    if (it->is_null()) {
      add(dst, it.key(), "");
    } else if (it->is_string()) {
      add(dst, it.key(), it->get_ref<const std::string&>());
    } else {
      fail(join(parent, key), it.key(), "string", *it);
    }
  }
  add(out, key, std::move(dst));
}

void put_string_pairs(ojson& out, const char* key, const string_pairs& pairs) {
  if (pairs.empty()) {
    return;
  }
  ojson dst = object_with_capacity(pairs.size());
  for (const auto& [k, v] : pairs) {
    add(dst, k, v);
  }
  add(out, key, std::move(dst));
}

// Sorted by key; for duplicate keys the last one wins, as when filling a Go map.
string_pairs sorted_unique(string_pairs pairs) {
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  string_pairs out;
  out.reserve(pairs.size());
  for (auto& p : pairs) {
    if (!out.empty() && out.back().first == p.first) {
      out.back().second = std::move(p.second);
    } else {
      out.push_back(std::move(p));
    }
  }
  return out;
}

// metav1.OwnerReference: apiVersion, kind, name, uid always; controller and
// blockOwnerDeletion (*bool, omitempty) when set.
ojson owner_reference(const json* in, std::string_view path) {
  ojson out = object_with_capacity(6);
  add(out, "apiVersion", get_string(in, "apiVersion", path));
  add(out, "kind", get_string(in, "kind", path));
  add(out, "name", get_string(in, "name", path));
  add(out, "uid", get_string(in, "uid", path));
  if (auto c = get_bool(in, "controller", path)) {
    add(out, "controller", *c);
  }
  if (auto b = get_bool(in, "blockOwnerDeletion", path)) {
    add(out, "blockOwnerDeletion", *b);
  }
  return out;
}

// []metav1.OwnerReference with omitempty, decoded strictly (wrong types are errors).
void put_owner_references(ojson& out, const json* obj, std::string_view parent) {
  const json* arr = get_array(obj, "ownerReferences", parent);
  if (arr == nullptr || arr->empty()) {
    return;
  }
  const std::string path = join(parent, "ownerReferences");
  ojson dst = ojson::array();
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const json& e = (*arr)[i];
    const std::string epath = join(path, "[" + std::to_string(i) + "]");
    if (!e.is_null() && !e.is_object()) {
      throw field_error{epath + ": expected object, got " + e.type_name()};
    }
    dst.push_back(owner_reference(e.is_null() ? nullptr : &e, epath));
  }
  add(out, "ownerReferences", std::move(dst));
}

// Owner references fetched by enrichment, read like unstructured.GetOwnerReferences(): a
// malformed list yields none, a wrongly typed field reads as unset.
void put_meta_owner_references(ojson& out, const json& refs) {
  if (!refs.is_array() || refs.empty()) {
    return;
  }
  ojson dst = ojson::array();
  for (const auto& e : refs) {
    if (!e.is_object()) {
      return;
    }
    auto str = [&e](const char* k) {
      auto it = e.find(k);
      return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    ojson r = object_with_capacity(6);
    add(r, "apiVersion", str("apiVersion"));
    add(r, "kind", str("kind"));
    add(r, "name", str("name"));
    add(r, "uid", str("uid"));
    for (const char* k : {"controller", "blockOwnerDeletion"}) {
      auto it = e.find(k);
      if (it != e.end() && it->is_boolean()) {
        add(r, k, it->get<bool>());
      }
    }
    dst.push_back(std::move(r));
  }
  add(out, "ownerReferences", std::move(dst));
}

// metav1.ObjectMeta (apimachinery v0.26; managedFields cleared by resmoio).
ojson object_meta(const json* in) {
  constexpr std::string_view p = "metadata";
  ojson out = object_with_capacity(14);
  for (const char* k :
       {"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion"}) {
    put_string_omitempty(out, k, get_string(in, k, p));
  }
  if (auto g = get_int<std::int64_t>(in, "generation", p, "int64"); g && *g != 0) {
    add(out, "generation", *g);
  }
  add(out, "creationTimestamp", time_value(in, "creationTimestamp", p, false));
  if (member(in, "deletionTimestamp") != nullptr) {  // *Time: present when non-nil
    add(out, "deletionTimestamp", time_value(in, "deletionTimestamp", p, false));
  }
  if (auto g = get_int<std::int64_t>(in, "deletionGracePeriodSeconds", p, "int64")) {
    add(out, "deletionGracePeriodSeconds", *g);
  }
  put_string_map(out, "labels", in, p);
  put_string_map(out, "annotations", in, p);
  put_owner_references(out, in, p);
  if (const json* f = get_array(in, "finalizers", p); f != nullptr && !f->empty()) {
    ojson dst = ojson::array();
    for (std::size_t i = 0; i < f->size(); ++i) {
      const json& e = (*f)[i];
      if (e.is_null()) {
        dst.push_back("");
      } else if (e.is_string()) {
        dst.push_back(e.get_ref<const std::string&>());
      } else {
        fail("metadata.finalizers", "[" + std::to_string(i) + "]", "string", e);
      }
    }
    add(out, "finalizers", std::move(dst));
  }
  return out;
}

constexpr std::array<const char*, 7> object_reference_fields = {
    "kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"};

// corev1.ObjectReference: every field a string with omitempty.
void put_object_reference_fields(ojson& out, const json* in, std::string_view parent) {
  for (const char* k : object_reference_fields) {
    put_string_omitempty(out, k, get_string(in, k, parent));
  }
}

// Copies a sorted map from the document into the record's string_pairs.
string_pairs pairs_of(const ojson& obj, const char* key) {
  string_pairs out;
  auto it = obj.find(key);
  if (it == obj.end()) {
    return out;
  }
  out.reserve(it->size());
  for (auto m = it->begin(); m != it->end(); ++m) {
    out.emplace_back(m.key(), m->get<std::string>());
  }
  return out;
}

std::string string_at(const ojson& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? std::string() : it->get<std::string>();
}

record build(const json& event, const kube_event_options& opt, const involved_object_meta* meta) {
  const json* ev = &event;
  record rec;
  rec.source = record_source::kube_event;
  ojson& doc = rec.doc;
  doc = object_with_capacity(18);

  // metav1.TypeMeta (kind, apiVersion) is left out: resmoio's informer hands out objects with an
  // empty TypeMeta, and watch objects carry it while list items don't; the line must not differ.

  ojson metadata = object_meta(get_object(ev, "metadata", ""));
  rec.uid = string_at(metadata, "uid");
  rec.namespace_ = string_at(metadata, "namespace");
  rec.name = string_at(metadata, "name");
  add(doc, "metadata", std::move(metadata));

  // Validate the shadowed Event.involvedObject's type before anything else depends on it.
  const json* involved = get_object(ev, "involvedObject", "");

  const std::string_view reason = get_string(ev, "reason", "");
  const std::string_view message = get_string(ev, "message", "");
  put_string_omitempty(doc, "reason", reason);
  put_string_omitempty(doc, "message", message);
  rec.reason = reason;
  rec.message = message;

  const json* source = get_object(ev, "source", "");
  ojson src = object_with_capacity(2);
  const std::string_view component = get_string(source, "component", "source");
  const std::string_view host = get_string(source, "host", "source");
  put_string_omitempty(src, "component", component);
  put_string_omitempty(src, "host", host);
  rec.component = component;
  rec.host = host;
  add(doc, "source", std::move(src));

  add(doc, "firstTimestamp", time_value(ev, "firstTimestamp", "", false));
  add(doc, "lastTimestamp", time_value(ev, "lastTimestamp", "", false));
  rec.count = get_int<std::int32_t>(ev, "count", "", "int32").value_or(0);
  if (rec.count != 0) {
    add(doc, "count", rec.count);
  }
  const std::string_view type = get_string(ev, "type", "");
  put_string_omitempty(doc, "type", type);
  rec.type = type;
  add(doc, "eventTime", time_value(ev, "eventTime", "", true));

  if (const json* series = get_object(ev, "series", ""); series != nullptr) {
    ojson s = object_with_capacity(2);
    if (auto c = get_int<std::int32_t>(series, "count", "series", "int32"); c && *c != 0) {
      add(s, "count", *c);
    }
    add(s, "lastObservedTime", time_value(series, "lastObservedTime", "series", true));
    add(doc, "series", std::move(s));
  }
  put_string_omitempty(doc, "action", get_string(ev, "action", ""));
  if (const json* related = get_object(ev, "related", ""); related != nullptr) {
    ojson r = object_with_capacity(7);
    put_object_reference_fields(r, related, "related");
    add(doc, "related", std::move(r));
  }
  add(doc, "reportingComponent", get_string(ev, "reportingComponent", ""));
  add(doc, "reportingInstance", get_string(ev, "reportingInstance", ""));

  std::string_view cluster = opt.cluster_name;
  if (cluster.empty()) {
    cluster = get_string(ev, "clusterName", "");
  }
  add(doc, "clusterName", cluster);

  // EnhancedObjectReference: ObjectReference inline, then labels, annotations,
  // ownerReferences (omitempty) and deleted (always).
  constexpr std::string_view ip = "involvedObject";
  ojson obj = object_with_capacity(11);
  put_object_reference_fields(obj, involved, ip);
  bool deleted = false;
  if (meta != nullptr) {
    put_string_pairs(obj, "labels", sorted_unique(meta->labels));
    put_string_pairs(obj, "annotations", sorted_unique(meta->annotations));
    put_meta_owner_references(obj, meta->owner_references);
    deleted = meta->deleted;
  } else {
    put_string_map(obj, "labels", involved, ip);
    put_string_map(obj, "annotations", involved, ip);
    put_owner_references(obj, involved, ip);
    deleted = get_bool(involved, "deleted", ip).value_or(false);
  }
  add(obj, "deleted", deleted);
  rec.kind = string_at(obj, "kind");
  rec.api_version = string_at(obj, "apiVersion");
  rec.labels = pairs_of(obj, "labels");
  rec.annotations = pairs_of(obj, "annotations");
  add(doc, "involvedObject", std::move(obj));

  rec.time_ns = kube_event_time_ns(event);
  rec.line = go_json(rec.doc);
  return rec;
}

// The time at `obj.key` in ns, or 0 when absent, null, malformed or not representable.
std::int64_t time_ns_at(const json* obj, const char* key) {
  const json* v = member(obj, key);
  if (v == nullptr || !v->is_string()) {
    return 0;
  }
  const std::int64_t ns = parse_rfc3339_ns(v->get_ref<const std::string&>());
  return ns == -1 ? 0 : ns;
}

}  // namespace

std::optional<record> decode_kube_event(const nlohmann::json& event, const kube_event_options& opt,
                                        const involved_object_meta* meta, std::string* error) {
  if (!event.is_object()) {
    if (error != nullptr) {
      *error = std::string("event: expected object, got ") + event.type_name();
    }
    return std::nullopt;
  }
  try {
    return build(event, opt, meta);
  } catch (const field_error& e) {
    if (error != nullptr) {
      *error = e.message;
    }
    return std::nullopt;
  }
}

std::int64_t kube_event_time_ns(const nlohmann::json& event) {
  if (!event.is_object()) {
    return 0;
  }
  const json* ev = &event;
  const json* series = member(ev, "series");
  if (series != nullptr && series->is_object()) {
    if (auto t = time_ns_at(series, "lastObservedTime"); t != 0) {
      return t;
    }
  }
  for (const char* key : {"lastTimestamp", "eventTime", "firstTimestamp"}) {
    if (auto t = time_ns_at(ev, key); t != 0) {
      return t;
    }
  }
  const json* metadata = member(ev, "metadata");
  if (metadata != nullptr && metadata->is_object()) {
    return time_ns_at(metadata, "creationTimestamp");
  }
  return 0;
}

}  // namespace ke
