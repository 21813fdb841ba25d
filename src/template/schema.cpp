// go_template: the Go types of resmoio's EnhancedEvent (k8s.io/api core/v1, apimachinery
// meta/v1), selector lookup with Go's promotion rules, and values built from document nodes.
#include "template/internal.hpp"

namespace ke::tmpl::detail {

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

}  // namespace

const ojson* json_child(const ojson* j, std::string_view key) {
  if (j == nullptr || !j->is_object()) {
    return nullptr;
  }
  if (key.empty()) {
    return j;  // an inline (embedded) struct shares its container's JSON object
  }
  auto it = j->find(key);
  return it == j->end() ? nullptr : &*it;
}

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

}  // namespace ke::tmpl::detail
