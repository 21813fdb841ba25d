// go_template: the Go types of resmoio's EnhancedEvent, values, and Go-style printing.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "core/go_json.hpp"
#include "route/go_template_internal.hpp"

namespace ke::route::tmpl {

namespace {

// The Go types reachable from *kube.EnhancedEvent (k8s.io/api core/v1 and apimachinery meta/v1),
// with their JSON keys. Field order is Go's declaration order (fmt prints structs that way).
struct schema {
  go_type t_string{type_kind::string_, "string"};
  go_type t_int{type_kind::int_, "int"};
  go_type t_int32{type_kind::int_, "int32"};
  go_type t_int64{type_kind::int_, "int64"};
  go_type t_bool{type_kind::bool_, "bool"};
  go_type t_float{type_kind::float_, "float64"};
  go_type t_time{type_kind::time_, "v1.Time"};
  go_type t_micro{type_kind::time_, "v1.MicroTime", nullptr, nullptr, true};
  go_type t_gotime{type_kind::time_, "time.Time", nullptr, nullptr, true};
  go_type t_time_ptr{type_kind::ptr_, "*v1.Time", &t_time};
  go_type t_int64_ptr{type_kind::ptr_, "*int64", &t_int64};
  go_type t_bool_ptr{type_kind::ptr_, "*bool", &t_bool};
  go_type t_map{type_kind::map_, "map[string]string", &t_string};
  go_type t_strings{type_kind::slice_, "[]string", &t_string};
  go_type t_json{type_kind::json_, "interface {}"};

  struct_desc d_type_meta, d_object_meta, d_object_ref, d_owner_ref, d_source, d_series, d_event,
      d_enh_ref, d_enh_event, d_managed;
  go_type t_type_meta{type_kind::struct_, "v1.TypeMeta", nullptr, &d_type_meta};
  go_type t_object_meta{type_kind::struct_, "v1.ObjectMeta", nullptr, &d_object_meta};
  go_type t_object_ref{type_kind::struct_, "v1.ObjectReference", nullptr, &d_object_ref};
  go_type t_owner_ref{type_kind::struct_, "v1.OwnerReference", nullptr, &d_owner_ref};
  go_type t_source{type_kind::struct_, "v1.EventSource", nullptr, &d_source};
  go_type t_series{type_kind::struct_, "v1.EventSeries", nullptr, &d_series};
  go_type t_event{type_kind::struct_, "v1.Event", nullptr, &d_event};
  go_type t_enh_ref{type_kind::struct_, "kube.EnhancedObjectReference", nullptr, &d_enh_ref};
  go_type t_enh_event{type_kind::struct_, "kube.EnhancedEvent", nullptr, &d_enh_event};
  go_type t_managed{type_kind::struct_, "v1.ManagedFieldsEntry", nullptr, &d_managed};
  go_type t_owner_refs{type_kind::slice_, "[]v1.OwnerReference", &t_owner_ref};
  go_type t_managed_fields{type_kind::slice_, "[]v1.ManagedFieldsEntry", &t_managed};
  go_type t_series_ptr{type_kind::ptr_, "*v1.EventSeries", &t_series};
  go_type t_object_ref_ptr{type_kind::ptr_, "*v1.ObjectReference", &t_object_ref};
  go_type t_event_ptr{type_kind::ptr_, "*kube.EnhancedEvent", &t_enh_event};

  std::vector<method> time_methods{
      {"Unix", method_id::time_unix},
      {"UnixMilli", method_id::time_unix_milli},
      {"UnixMicro", method_id::time_unix_micro},
      {"UnixNano", method_id::time_unix_nano},
      {"IsZero", method_id::time_is_zero},
      {"String", method_id::time_string},
      {"Format", method_id::time_format, 1},
      {"UTC", method_id::time_utc},
      {"Local", method_id::time_utc},
      {"Year", method_id::time_year},
  };

  schema() {
    d_type_meta.members = {{"Kind", "kind", &t_string}, {"APIVersion", "apiVersion", &t_string}};
    d_object_meta.members = {
        {"Name", "name", &t_string},
        {"GenerateName", "generateName", &t_string},
        {"Namespace", "namespace", &t_string},
        {"SelfLink", "selfLink", &t_string},
        {"UID", "uid", &t_string},
        {"ResourceVersion", "resourceVersion", &t_string},
        {"Generation", "generation", &t_int64},
        {"CreationTimestamp", "creationTimestamp", &t_time},
        {"DeletionTimestamp", "deletionTimestamp", &t_time_ptr},
        {"DeletionGracePeriodSeconds", "deletionGracePeriodSeconds", &t_int64_ptr},
        {"Labels", "labels", &t_map},
        {"Annotations", "annotations", &t_map},
        {"OwnerReferences", "ownerReferences", &t_owner_refs},
        {"Finalizers", "finalizers", &t_strings},
        {"ManagedFields", "managedFields", &t_managed_fields},
    };
    d_object_ref.members = {
        {"Kind", "kind", &t_string},
        {"Namespace", "namespace", &t_string},
        {"Name", "name", &t_string},
        {"UID", "uid", &t_string},
        {"APIVersion", "apiVersion", &t_string},
        {"ResourceVersion", "resourceVersion", &t_string},
        {"FieldPath", "fieldPath", &t_string},
    };
    d_owner_ref.members = {
        {"APIVersion", "apiVersion", &t_string},
        {"Kind", "kind", &t_string},
        {"Name", "name", &t_string},
        {"UID", "uid", &t_string},
        {"Controller", "controller", &t_bool_ptr},
        {"BlockOwnerDeletion", "blockOwnerDeletion", &t_bool_ptr},
    };
    d_source.members = {{"Component", "component", &t_string}, {"Host", "host", &t_string}};
    d_series.members = {{"Count", "count", &t_int32},
                        {"LastObservedTime", "lastObservedTime", &t_micro}};
    d_event.members = {
        {"TypeMeta", "", &t_type_meta, true},
        {"ObjectMeta", "metadata", &t_object_meta, true},
        {"InvolvedObject", "involvedObject", &t_object_ref},
        {"Reason", "reason", &t_string},
        {"Message", "message", &t_string},
        {"Source", "source", &t_source},
        {"FirstTimestamp", "firstTimestamp", &t_time},
        {"LastTimestamp", "lastTimestamp", &t_time},
        {"Count", "count", &t_int32},
        {"Type", "type", &t_string},
        {"EventTime", "eventTime", &t_micro},
        {"Series", "series", &t_series_ptr},
        {"Action", "action", &t_string},
        {"Related", "related", &t_object_ref_ptr},
        {"ReportingController", "reportingComponent", &t_string},
        {"ReportingInstance", "reportingInstance", &t_string},
    };
    d_enh_ref.members = {
        {"ObjectReference", "", &t_object_ref, true},
        {"Labels", "labels", &t_map},
        {"Annotations", "annotations", &t_map},
        {"OwnerReferences", "ownerReferences", &t_owner_refs},
        {"Deleted", "deleted", &t_bool},
    };
    d_enh_event.members = {
        {"Event", "", &t_event, true},
        {"ClusterName", "clusterName", &t_string},
        {"InvolvedObject", "involvedObject", &t_enh_ref},
    };
    d_enh_event.methods = {{"GetTimestampMs", method_id::get_timestamp_ms},
                           {"GetTimestampISO8601", method_id::get_timestamp_iso8601}};

    static constexpr std::string_view object_ref_fields[] = {
        "Kind", "Namespace", "Name", "UID", "APIVersion", "ResourceVersion", "FieldPath"};
    d_object_ref.gogo = "ObjectReference";
    d_object_ref.gogo_fields.assign(std::begin(object_ref_fields), std::end(object_ref_fields));
    d_enh_ref.gogo = "ObjectReference";  // promoted from the embedded ObjectReference
    d_enh_ref.gogo_fields = d_object_ref.gogo_fields;
    d_source.gogo = "EventSource";
    d_source.gogo_fields = {"Component", "Host"};
    d_series.gogo = "EventSeries";
    d_series.gogo_fields = {"Count", "LastObservedTime"};
    d_owner_ref.gogo = "OwnerReference";
    d_owner_ref.gogo_fields = {"Kind",       "Name",       "UID",
                               "APIVersion", "Controller", "BlockOwnerDeletion"};
    d_enh_event.opaque = true;
    d_event.opaque = true;
    d_object_meta.opaque = true;
    d_type_meta.opaque = true;
    d_managed.opaque = true;
  }
};

const schema& types() {
  static const schema s;
  return s;
}

// Depth-first search for a field by name; records the shallowest match (Go's promotion rule).
void find_member(const struct_desc* d, std::string_view name, std::vector<const member*>& path,
                 std::vector<const member*>& best, std::size_t& best_depth) {
  for (const auto& m : d->members) {
    if (m.go_name == name && path.size() < best_depth) {
      best = path;
      best.push_back(&m);
      best_depth = path.size();
    }
  }
  for (const auto& m : d->members) {
    if (m.embedded && m.type->fields != nullptr && path.size() + 1 < best_depth) {
      path.push_back(&m);
      find_member(m.type->fields, name, path, best, best_depth);
      path.pop_back();
    }
  }
}

const ojson* child(const ojson* j, std::string_view key) {
  if (j == nullptr || !j->is_object()) {
    return nullptr;
  }
  if (key.empty()) {
    return j;
  }
  auto it = j->find(key);
  return it == j->end() ? nullptr : &*it;
}

void append_int(std::int64_t v, std::string& out) { out += std::to_string(v); }

std::int64_t json_int(const ojson* j) {
  if (j == nullptr) {
    return 0;
  }
  if (j->is_number_integer()) {
    return j->get<std::int64_t>();
  }
  if (j->is_number_unsigned()) {
    return static_cast<std::int64_t>(j->get<std::uint64_t>());
  }
  if (j->is_number_float()) {
    return static_cast<std::int64_t>(j->get<double>());
  }
  return 0;
}

go_time time_from_json(const ojson* j) {
  if (j == nullptr || !j->is_string()) {
    return {};
  }
  std::int64_t ns = parse_rfc3339_ns(j->get_ref<const std::string&>());
  if (ns == -1) {
    return {};
  }
  go_time t;
  t.sec = ns / 1000000000;
  t.nsec = static_cast<std::int32_t>(ns % 1000000000);
  if (t.nsec < 0) {
    t.nsec += 1000000000;
    t.sec -= 1;
  }
  return t;
}

void format_node(const go_type* type, const ojson* j, int depth, std::string& out);

void format_json(const ojson& j, int depth, std::string& out) {
  switch (j.type()) {
    case ojson::value_t::null:
      out += "<nil>";
      break;
    case ojson::value_t::string:
      out += j.get_ref<const std::string&>();
      break;
    case ojson::value_t::boolean:
      out += j.get<bool>() ? "true" : "false";
      break;
    case ojson::value_t::number_integer:
    case ojson::value_t::number_unsigned:
      out += j.dump();
      break;
    case ojson::value_t::number_float:
      out += format_float_v(j.get<double>());
      break;
    case ojson::value_t::object: {
      std::vector<std::pair<std::string_view, const ojson*>> items;
      for (auto it = j.begin(); it != j.end(); ++it) {
        items.emplace_back(it.key(), &it.value());
      }
      std::sort(items.begin(), items.end());
      out += "map[";
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) {
          out += ' ';
        }
        out += items[i].first;
        out += ':';
        format_json(*items[i].second, depth + 1, out);
      }
      out += ']';
      break;
    }
    case ojson::value_t::array: {
      out += '[';
      for (std::size_t i = 0; i < j.size(); ++i) {
        if (i > 0) {
          out += ' ';
        }
        format_json(j[i], depth + 1, out);
      }
      out += ']';
      break;
    }
    default:
      break;
  }
}

// Follows a lookup path from a struct node to a member's node.
const ojson* walk(const ojson* j, const std::vector<const member*>& path) {
  for (const member* m : path) {
    j = child(j, m->json_key);
  }
  return j;
}

// A gogo-generated String() of a k8s API struct.
void format_gogo(const go_type* type, const ojson* j, std::string& out) {
  out += '&';
  out += type->fields->gogo;
  out += '{';
  for (std::string_view name : type->fields->gogo_fields) {
    lookup_result r = lookup(type, name);
    const ojson* f = walk(j, r.path);
    out += name;
    out += ':';
    if (r.type->kind == type_kind::ptr_) {  // valueToStringGenerated
      if (f == nullptr || f->is_null()) {
        out += "nil";
      } else {
        out += '*';
        format_node(r.type->elem, f, 1, out);
      }
    } else {
      format_node(r.type, f, 1, out);
    }
    out += ',';
  }
  out += '}';
}

void format_node(const go_type* type, const ojson* j, int depth, std::string& out) {
  if (j != nullptr && j->is_null()) {
    j = nullptr;
  }
  switch (type->kind) {
    case type_kind::string_:
      if (j != nullptr && j->is_string()) {
        out += j->get_ref<const std::string&>();
      }
      break;
    case type_kind::int_:
      append_int(json_int(j), out);
      break;
    case type_kind::bool_:
      out += (j != nullptr && j->is_boolean() && j->get<bool>()) ? "true" : "false";
      break;
    case type_kind::float_:
      out += format_float_v(j != nullptr && j->is_number() ? j->get<double>() : 0.0);
      break;
    case type_kind::time_:
      out += format_time(time_from_json(j), time_string_layout);
      break;
    case type_kind::map_: {
      std::vector<std::pair<std::string_view, const ojson*>> items;
      if (j != nullptr && j->is_object()) {
        for (auto it = j->begin(); it != j->end(); ++it) {
          items.emplace_back(it.key(), &it.value());
        }
      }
      std::sort(items.begin(), items.end());
      out += "map[";
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) {
          out += ' ';
        }
        out += items[i].first;
        out += ':';
        format_node(type->elem, items[i].second, depth + 1, out);
      }
      out += ']';
      break;
    }
    case type_kind::slice_: {
      out += '[';
      if (j != nullptr && j->is_array()) {
        for (std::size_t i = 0; i < j->size(); ++i) {
          if (i > 0) {
            out += ' ';
          }
          format_node(type->elem, &(*j)[i], depth + 1, out);
        }
      }
      out += ']';
      break;
    }
    case type_kind::ptr_: {
      const go_type* elem = type->elem;
      bool gogo = elem->kind == type_kind::struct_ && !elem->fields->gogo.empty();
      if (elem->kind == type_kind::struct_ && elem->fields->opaque) {
        throw exec_error("printing a " + std::string(type->name) +
                         " is not supported (print its fields, or use toJson)");
      }
      if (j == nullptr) {
        out += gogo ? "nil" : "<nil>";  // gogo's String() handles a nil receiver
      } else if (gogo) {
        format_gogo(elem, j, out);
      } else if (elem->kind == type_kind::time_) {
        format_node(elem, j, depth, out);  // *metav1.Time is a Stringer
      } else if (depth == 0 &&
                 (type->elem->kind == type_kind::struct_ || type->elem->kind == type_kind::map_ ||
                  type->elem->kind == type_kind::slice_)) {
        out += '&';
        format_node(type->elem, j, depth + 1, out);
      } else {
        out += "0xc000000000";  // fmt prints a nested pointer as its address
      }
      break;
    }
    case type_kind::struct_: {
      out += '{';
      bool first = true;
      for (const auto& m : type->fields->members) {
        if (!first) {
          out += ' ';
        }
        first = false;
        format_node(m.type, child(j, m.json_key), depth + 1, out);
      }
      out += '}';
      break;
    }
    case type_kind::json_:
      if (j == nullptr) {
        out += "<nil>";
      } else {
        format_json(*j, depth, out);
      }
      break;
  }
}

void append_utf8(char32_t r, std::string& out) {
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xC0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xE0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  }
}

// Decodes one UTF-8 sequence at s[i]; returns the rune and its length, or (0xFFFD, 1) when
// invalid (like Go's utf8.DecodeRuneInString).
std::pair<char32_t, std::size_t> decode_rune(std::string_view s, std::size_t i) {
  auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    return {b0, 1};
  }
  std::size_t n = 0;
  char32_t r = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    r = b0 & 0x1F;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    r = b0 & 0x0F;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    r = b0 & 0x07;
    min = 0x10000;
  } else {
    return {0xFFFD, 1};
  }
  if (i + n > s.size()) {
    return {0xFFFD, 1};
  }
  for (std::size_t k = 1; k < n; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      return {0xFFFD, 1};
    }
    r = (r << 6) | (b & 0x3F);
  }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) {
    return {0xFFFD, 1};
  }
  return {r, n};
}

// Approximates unicode.IsPrint for non-ASCII runes: everything is printable except the C1
// controls and the common format/separator characters (Go uses full Unicode tables).
bool is_print(char32_t r) {
  if (r < 0x20 || r == 0x7F) {
    return false;
  }
  if (r < 0x7F) {
    return true;
  }
  if (r <= 0x9F || r == 0xAD) {
    return false;
  }
  if ((r >= 0x200B && r <= 0x200F) || (r >= 0x2028 && r <= 0x202E) ||
      (r >= 0x2060 && r <= 0x206F) || r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB) ||
      (r >= 0xE000 && r <= 0xF8FF) || r >= 0xF0000 || r == 0xFFFE || r == 0xFFFF) {
    return false;
  }
  return true;
}

std::string unescape_html(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (std::size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (c == '\\' && i + 1 < json.size()) {
      if (json[i + 1] == 'u' && i + 5 < json.size()) {
        std::string_view code = json.substr(i + 2, 4);
        if (code == "003c") {
          out += '<';
          i += 5;
          continue;
        }
        if (code == "003e") {
          out += '>';
          i += 5;
          continue;
        }
        if (code == "0026") {
          out += '&';
          i += 5;
          continue;
        }
      }
      out += c;
      out += json[i + 1];
      ++i;
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

const go_type* event_type() { return &types().t_event_ptr; }
const go_type* json_type() { return &types().t_json; }
const go_type* string_type() { return &types().t_string; }
const go_type* int_type() { return &types().t_int; }
const go_type* bool_type() { return &types().t_bool; }
const go_type* float_type() { return &types().t_float; }
const go_type* go_time_type() { return &types().t_gotime; }

const go_type* method_result_type(method_id id) {
  switch (id) {
    case method_id::get_timestamp_ms:
    case method_id::time_unix:
    case method_id::time_unix_milli:
    case method_id::time_unix_micro:
    case method_id::time_unix_nano:
    case method_id::time_year:
      return int_type();
    case method_id::get_timestamp_iso8601:
    case method_id::time_string:
    case method_id::time_format:
      return string_type();
    case method_id::time_is_zero:
      return bool_type();
    case method_id::time_utc:
      return go_time_type();
    case method_id::none:
      break;
  }
  return nullptr;
}

lookup_result lookup(const go_type* t, std::string_view name) {
  lookup_result res;
  if (t->kind == type_kind::ptr_) {
    t = t->elem;
  }
  if (t->kind == type_kind::time_) {
    for (const auto& m : types().time_methods) {
      if (m.go_name == name) {
        res.k = lookup_result::kind::method;
        res.m = &m;
        res.type = method_result_type(m.id);
        return res;
      }
    }
    return res;
  }
  if (t->kind == type_kind::map_ || t->kind == type_kind::json_) {
    res.k = lookup_result::kind::map_key;
    res.type = t->kind == type_kind::map_ ? t->elem : t;
    return res;
  }
  if (t->kind != type_kind::struct_) {
    return res;
  }
  for (const auto& m : t->fields->methods) {
    if (m.go_name == name) {
      res.k = lookup_result::kind::method;
      res.m = &m;
      res.type = method_result_type(m.id);
      return res;
    }
  }
  std::vector<const member*> path;
  std::size_t best_depth = SIZE_MAX;
  find_member(t->fields, name, path, res.path, best_depth);
  if (!res.path.empty()) {
    res.k = lookup_result::kind::field;
    res.type = res.path.back()->type;
  }
  return res;
}

value from_node(const go_type* type, const ojson* j, const std::shared_ptr<const ojson>& owned) {
  if (j != nullptr && j->is_null() && type->kind != type_kind::json_) {
    j = nullptr;
  }
  switch (type->kind) {
    case type_kind::string_:
      return value::make_str(j != nullptr && j->is_string() ? j->get<std::string>() : "");
    case type_kind::int_:
      return value::make_int(json_int(j));
    case type_kind::bool_:
      return value::make_bool(j != nullptr && j->is_boolean() && j->get<bool>());
    case type_kind::float_:
      return value::make_float(j != nullptr && j->is_number() ? j->get<double>() : 0.0);
    case type_kind::json_:
      if (j == nullptr || j->is_null()) {
        return value::make_nil();
      }
      switch (j->type()) {
        case ojson::value_t::string:
          return value::make_str(j->get<std::string>());
        case ojson::value_t::boolean:
          return value::make_bool(j->get<bool>());
        case ojson::value_t::number_integer:
        case ojson::value_t::number_unsigned:
          return value::make_int(json_int(j));
        case ojson::value_t::number_float:
          return value::make_float(j->get<double>());
        default:
          break;
      }
      break;
    default:
      break;
  }
  value v;
  v.k = value::kind::node;
  v.type = type;
  v.j = j;
  v.owned = owned;
  return v;
}

value from_owned_json(ojson j) {
  auto holder = std::make_shared<const ojson>(std::move(j));
  return from_node(json_type(), holder.get(), holder);
}

std::string type_name(const value& v) {
  switch (v.k) {
    case value::kind::invalid:
      return "<invalid>";
    case value::kind::nil:
      return "<nil>";
    case value::kind::str:
      return "string";
    case value::kind::int_:
      return "int";
    case value::kind::float_:
      return "float64";
    case value::kind::bool_:
      return "bool";
    case value::kind::time_:
    case value::kind::node:
      if (v.type->kind == type_kind::json_ && v.j != nullptr) {
        return v.j->is_array() ? "[]interface {}" : "map[string]interface {}";
      }
      return std::string(v.type->name);
  }
  return "?";
}

void format_v(const value& v, std::string& out) {
  switch (v.k) {
    case value::kind::invalid:
      out += "<invalid reflect.Value>";
      break;
    case value::kind::nil:
      out += "<nil>";
      break;
    case value::kind::str:
      out += v.s;
      break;
    case value::kind::int_:
      append_int(v.i, out);
      break;
    case value::kind::float_:
      out += format_float_v(v.f);
      break;
    case value::kind::bool_:
      out += v.b ? "true" : "false";
      break;
    case value::kind::time_:
      out += format_time(v.t, time_string_layout);
      break;
    case value::kind::node:
      format_node(v.type, v.j, 0, out);
      break;
  }
}

void print_value(const value& v, std::string& out) {
  if (v.k == value::kind::invalid) {
    out += "<no value>";
    return;
  }
  if (v.k != value::kind::node) {
    format_v(v, out);
    return;
  }
  // text/template indirects a pointer, then prints through String() when *T has one.
  const go_type* t = v.type;
  const ojson* j = v.j != nullptr && v.j->is_null() ? nullptr : v.j;
  bool addressable = v.addressable;
  if (t->kind == type_kind::ptr_) {
    if (j == nullptr) {
      format_node(t, nullptr, 0, out);
      return;
    }
    t = t->elem;
    addressable = true;
  }
  if (t->kind == type_kind::struct_) {
    if (t->fields->opaque) {
      throw exec_error("printing a " + std::string(t->name) +
                       " is not supported (print its fields, or use toJson)");
    }
    if (addressable && !t->fields->gogo.empty()) {
      format_gogo(t, j, out);
      return;
    }
  }
  format_node(t, j, 0, out);
}

std::string strval(const value& v) {
  if (v.k == value::kind::str) {
    return v.s;
  }
  std::string out;
  format_v(v, out);
  return out;
}

std::string to_json(const value& v, bool escape_html) {
  std::string out;
  switch (v.k) {
    case value::kind::invalid:
    case value::kind::nil:
      return "null";
    case value::kind::str:
      out = go_json(ojson(v.s));
      break;
    case value::kind::int_:
      return std::to_string(v.i);
    case value::kind::float_:
      out = go_json(ojson(v.f));
      break;
    case value::kind::bool_:
      return v.b ? "true" : "false";
    case value::kind::time_:
      return "\"" + format_time(v.t, "2006-01-02T15:04:05.999999999Z07:00") + "\"";
    case value::kind::node: {
      const ojson* j = v.j;
      if (j == nullptr || j->is_null()) {
        return v.type->kind == type_kind::struct_ ? "{}" : "null";
      }
      if (v.type->kind == type_kind::map_ || v.type->kind == type_kind::json_) {
        out = go_json(nlohmann::json(*j));  // Go marshals maps with sorted keys
      } else {
        out = go_json(*j);
      }
      break;
    }
  }
  return escape_html ? out : unescape_html(out);
}

std::string indent_json(std::string_view src) {
  std::string out;
  out.reserve(src.size() * 2);
  int depth = 0;
  bool need_indent = false;
  bool in_string = false;
  auto newline = [&](int d) {
    out += '\n';
    out.append(static_cast<std::size_t>(d) * 2, ' ');
  };
  for (std::size_t i = 0; i < src.size(); ++i) {
    char c = src[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < src.size()) {
        out += src[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (need_indent && c != '}' && c != ']') {
      need_indent = false;
      ++depth;
      newline(depth);
    }
    switch (c) {
      case '"':
        in_string = true;
        out += c;
        break;
      case '{':
      case '[':
        need_indent = true;
        out += c;
        break;
      case ',':
        out += c;
        newline(depth);
        break;
      case ':':
        out += ": ";
        break;
      case '}':
      case ']':
        if (need_indent) {
          need_indent = false;
        } else {
          --depth;
          newline(depth);
        }
        out += c;
        break;
      default:
        out += c;
        break;
    }
  }
  return out;
}

void go_quote(std::string_view s, std::string& out) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    auto [r, n] = decode_rune(s, i);
    if (r == 0xFFFD && n == 1 && static_cast<unsigned char>(s[i]) >= 0x80) {
      auto b = static_cast<unsigned char>(s[i]);
      out += "\\x";
      out += hex[b >> 4];
      out += hex[b & 0xF];
      ++i;
      continue;
    }
    i += n;
    if (r == '"' || r == '\\') {
      out += '\\';
      out += static_cast<char>(r);
      continue;
    }
    if (is_print(r)) {
      append_utf8(r, out);
      continue;
    }
    switch (r) {
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (r < ' ' || r == 0x7F) {
          out += "\\x";
          out += hex[(r >> 4) & 0xF];
          out += hex[r & 0xF];
        } else if (r < 0x10000) {
          out += "\\u";
          for (int shift = 12; shift >= 0; shift -= 4) {
            out += hex[(r >> shift) & 0xF];
          }
        } else {
          out += "\\U";
          for (int shift = 28; shift >= 0; shift -= 4) {
            out += hex[(r >> shift) & 0xF];
          }
        }
        break;
    }
  }
  out += '"';
}

std::string format_float_v(double f) {
  if (std::isnan(f)) {
    return "NaN";
  }
  if (std::isinf(f)) {
    return f > 0 ? "+Inf" : "-Inf";
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
  // sci = [-]d[.ddd]e[+-]dd
  bool neg = sci.front() == '-';
  if (neg) {
    sci.remove_prefix(1);
  }
  auto epos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, epos)) {
    if (c != '.') {
      digits += c;
    }
  }
  int exp = std::stoi(std::string(sci.substr(epos + 1)));
  std::string out = neg ? "-" : "";
  if (exp < -4 || exp >= 6) {  // strconv: shortest %g switches at precision 6
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += exp < 0 ? '-' : '+';
    int a = exp < 0 ? -exp : exp;
    if (a < 10) {
      out += '0';
    }
    out += std::to_string(a);
    return out;
  }
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exp - 1), '0');
    out += digits;
    return out;
  }
  auto int_len = static_cast<std::size_t>(exp) + 1;
  if (digits.size() <= int_len) {
    out += digits;
    out.append(int_len - digits.size(), '0');
  } else {
    out += digits.substr(0, int_len);
    out += '.';
    out += digits.substr(int_len);
  }
  return out;
}

bool is_true(const value& v) {
  switch (v.k) {
    case value::kind::invalid:
    case value::kind::nil:
      return false;
    case value::kind::str:
      return !v.s.empty();
    case value::kind::int_:
      return v.i != 0;
    case value::kind::float_:
      return v.f != 0;
    case value::kind::bool_:
      return v.b;
    case value::kind::time_:
      return true;  // a struct
    case value::kind::node:
      switch (v.type->kind) {
        case type_kind::map_:
        case type_kind::slice_:
          return v.j != nullptr && !v.j->empty() && !v.j->is_null();
        case type_kind::ptr_:
          return !v.is_null_node();
        case type_kind::json_:
          return v.j != nullptr && !v.j->is_null() && !v.j->empty();
        default:
          return true;  // structs, times
      }
  }
  return false;
}

bool is_empty(const value& v) { return !is_true(v); }

}  // namespace ke::route::tmpl
