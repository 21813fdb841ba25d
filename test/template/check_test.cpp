// Tests for the compile-time checks (src/template/check.cpp: unknown fields, argument counts,
// unsupported printing) and the Go types of the EnhancedEvent they check against
// (src/template/schema.cpp: field names and JSON keys, promotion, values from document nodes).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "template/internal.hpp"
#include "template/template_test_util.hpp"

namespace ke::tmpl {
namespace {

using detail::lookup;
using detail::lookup_result;
using detail::value;
using nlohmann::ordered_json;

// check_tree's error for `text` against `root` ("" when it passes).
std::string check_error(const std::string& text, const detail::go_type* root) {
  std::vector<detail::list_node> nodes = detail::parse_list_nodes(text);
  try {
    detail::check_tree(nodes, root);
  } catch (const detail::exec_error& e) {
    return e.what();
  }
  return "";
}

std::vector<render_case> schema_render_table() {
  return {
      // Field names of the EnhancedEvent.
      {"Message", "{{ .Message }}", "Back-off restarting failed container"},
      {"ReasonTypeCount", "{{ .Reason }} {{ .Type }} {{ .Count }}", "BackOff Warning 5"},
      {"ObjectMeta", "{{ .Namespace }}/{{ .Name }} {{ .UID }} {{ .ResourceVersion }}",
       "default/nginx.17c2 e-uid 100"},
      {"ObjectMetaExplicit", "{{ .ObjectMeta.Name }}", "nginx.17c2"},
      {"InvolvedObject",
       "{{ .InvolvedObject.Kind }} {{ .InvolvedObject.Namespace }}/{{ .InvolvedObject.Name }} "
       "{{ .InvolvedObject.UID }} {{ .InvolvedObject.APIVersion }} "
       "{{ .InvolvedObject.ResourceVersion }} {{ .InvolvedObject.FieldPath }}",
       "Pod default/nginx p-uid v1 42 spec.containers{nginx}"},
      {"Source", "{{ .Source.Component }}@{{ .Source.Host }}", "kubelet@node-1"},
      {"ClusterAndReporting",
       "{{ .ClusterName }} {{ .ReportingController }} {{ .ReportingInstance }}",
       "prod kubelet node-1"},
      {"EmptyActionIsEmptyString", "[{{ .Action }}]", "[]"},
      {"Deleted", "{{ .InvolvedObject.Deleted }}", "false"},
  };
}

class TemplateSchemaRender : public ::testing::TestWithParam<render_case> {};

// Verifies that each template renders exactly as Go's text/template with sprig would.
TEST_P(TemplateSchemaRender, RendersLikeGo) { expect_renders(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, TemplateSchemaRender, ::testing::ValuesIn(schema_render_table()),
                         case_name<render_case>);

std::vector<error_case> parse_error_table() {
  return {
      {"LowercaseFieldOfIssue69", "{{ .clusterName }}",
       "can't evaluate field clusterName in type *kube.EnhancedEvent"},
      {"UnknownNestedField", "{{ .InvolvedObject.Owner }}",
       "can't evaluate field Owner in type kube.EnhancedObjectReference"},
      {"FieldOfString", "{{ .InvolvedObject.Name.Foo }}",
       "can't evaluate field Foo in type string"},
      {"FieldInRangeOfStructs", "{{ range .InvolvedObject.OwnerReferences }}{{ .Nme }}{{ end }}",
       "can't evaluate field Nme in type v1.OwnerReference"},
      {"WrongArgCount", "{{ upper }}", "wrong number of args for upper: want 1 got 0"},
      {"WrongArgCountInPipeline", "{{ .Reason | replace \"a\" }}",
       "wrong number of args for replace: want 3 got 2"},
      {"MethodArgCount", "{{ .FirstTimestamp.Format }}", "wrong number of args for Format"},
      {"ArgumentsToField", "{{ .Message 1 }}", "has arguments but cannot be invoked"},
      {"PrintingTheWholeEvent", "{{ . }}", "printing a *kube.EnhancedEvent is not supported"},
      {"RangeOverString", "{{ range .Reason }}{{ end }}", "range can't iterate over"},
      {"ArgumentToNonFunction", "{{ \"x\" 1 }}", "can't give argument to non-function"},
  };
}

class TemplateCheckParseError : public ::testing::TestWithParam<error_case> {};

// Verifies that invalid or unsupported templates are rejected at parse time with Go's message.
TEST_P(TemplateCheckParseError, RejectedAtParse) { expect_parse_error(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, TemplateCheckParseError, ::testing::ValuesIn(parse_error_table()),
                         case_name<error_case>);

// Verifies that field checks follow dot through with and variables, naming the Go type.
TEST(TemplateCheck, FieldsCheckedThroughWithAndVariables) {
  const detail::go_type* event = detail::event_type();
  EXPECT_EQ(check_error("{{ with .Source }}{{ .Hots }}{{ end }}", event),
            "line 1: can't evaluate field Hots in type v1.EventSource");
  EXPECT_EQ(check_error("{{ $s := .Source }}\n{{ $s.Hots }}", event),
            "line 2: can't evaluate field Hots in type v1.EventSource");
  EXPECT_EQ(check_error("{{ with .Source }}{{ .Host }}{{ $.Reason }}{{ end }}", event), "");
}

// Verifies that results of functions and methods have static types that are checked too.
TEST(TemplateCheck, ResultTypesAreChecked) {
  const detail::go_type* event = detail::event_type();
  EXPECT_EQ(check_error("{{ (upper .Reason).Foo }}", event),
            "line 1: can't evaluate field Foo in type string");
  EXPECT_EQ(check_error("{{ .LastTimestamp.UTC.Nope }}", event),
            "line 1: can't evaluate field Nope in type time.Time");
  EXPECT_EQ(check_error("{{ .LastTimestamp.UTC.Unix }}", event), "");
}

// Verifies that the json model only checks functions: any field name passes, argument counts
// still fail.
TEST(TemplateCheck, JsonModelChecksOnlyFunctions) {
  EXPECT_EQ(check_error("{{ .anything.nested }}", detail::json_type()), "");
  EXPECT_EQ(check_error("{{ .anything }}", detail::event_type()),
            "line 1: can't evaluate field anything in type *kube.EnhancedEvent");
  std::string error;
  auto model = go_template::data_model::json;
  EXPECT_NE(go_template::parse("{{ .anything }}", &error, model), nullptr) << error;
  EXPECT_EQ(go_template::parse("{{ .anything | trimPrefix }}", &error, model), nullptr);
  EXPECT_EQ(error, "line 1: wrong number of args for trimPrefix: want 2 got 1");
}

// Verifies that a non-nil series pointer is printed and its fields are reachable.
TEST(TemplateSchema, SeriesFields) {
  ordered_json doc = event_doc();
  doc["series"] = {{"count", 3}, {"lastObservedTime", "2024-05-14T10:00:01.500000Z"}};
  EXPECT_EQ(render("{{ .Series.Count }} {{ .Series.LastObservedTime }}", doc),
            "3 2024-05-14 10:00:01.5 +0000 UTC");
  EXPECT_EQ(render("{{ .Series }}", doc),
            "&EventSeries{Count:3,LastObservedTime:2024-05-14 10:00:01.5 +0000 UTC,}");
}

// Verifies Go's selector rules: promoted fields through embedded structs (with the JSON keys on
// the way), the shallowest field winning, methods, map keys and unknown names.
TEST(TemplateSchema, LookupFollowsPromotion) {
  const detail::go_type* event = detail::event_type();
  lookup_result name = lookup(event, "Name");
  ASSERT_EQ(name.k, lookup_result::kind::field);
  ASSERT_EQ(name.path.size(), 3u);
  EXPECT_EQ(name.path[0]->go_name, "Event");
  EXPECT_EQ(name.path[0]->json_key, "");
  EXPECT_EQ(name.path[1]->json_key, "metadata");
  EXPECT_EQ(name.path[2]->json_key, "name");
  EXPECT_EQ(name.type, detail::string_type());

  // EnhancedEvent.InvolvedObject shadows the embedded Event.InvolvedObject.
  lookup_result involved = lookup(event, "InvolvedObject");
  ASSERT_EQ(involved.k, lookup_result::kind::field);
  EXPECT_EQ(involved.path.size(), 1u);
  EXPECT_EQ(involved.type->name, "kube.EnhancedObjectReference");
  lookup_result kind = lookup(involved.type, "Kind");
  ASSERT_EQ(kind.k, lookup_result::kind::field);
  EXPECT_EQ(kind.path.size(), 2u);

  lookup_result ms = lookup(event, "GetTimestampMs");
  ASSERT_EQ(ms.k, lookup_result::kind::method);
  EXPECT_EQ(ms.m->id, detail::method_id::get_timestamp_ms);
  EXPECT_EQ(ms.type, detail::int_type());

  lookup_result labels = lookup(involved.type, "Labels");
  ASSERT_EQ(labels.k, lookup_result::kind::field);
  lookup_result key = lookup(labels.type, "any.key");
  EXPECT_EQ(key.k, lookup_result::kind::map_key);
  EXPECT_EQ(key.type, detail::string_type());

  EXPECT_EQ(lookup(event, "clusterName").k, lookup_result::kind::none);
  EXPECT_EQ(lookup(detail::string_type(), "Foo").k, lookup_result::kind::none);
}

// Verifies the time methods and their result types, with Format taking one argument.
TEST(TemplateSchema, TimeMethods) {
  lookup_result last = lookup(detail::event_type(), "LastTimestamp");
  ASSERT_EQ(last.k, lookup_result::kind::field);
  EXPECT_EQ(last.type->name, "v1.Time");
  lookup_result format = lookup(last.type, "Format");
  ASSERT_EQ(format.k, lookup_result::kind::method);
  EXPECT_EQ(format.m->args, 1);
  EXPECT_EQ(format.type, detail::string_type());
  EXPECT_EQ(lookup(last.type, "IsZero").type, detail::bool_type());
  EXPECT_EQ(lookup(last.type, "UTC").type, detail::go_time_type());
  EXPECT_EQ(lookup(last.type, "Month").k, lookup_result::kind::none);
}

// Verifies values built from document nodes: scalars become Go values (absent = zero value),
// composites stay typed nodes; json_child and json_int on odd input.
TEST(TemplateSchema, ValuesFromNodes) {
  ordered_json doc = ordered_json::parse(R"({"s":"x","n":7,"f":2.5,"o":{"k":"v"}})");
  value s = detail::from_node(detail::string_type(), detail::json_child(&doc, "s"), nullptr);
  EXPECT_EQ(s.k, value::kind::str);
  EXPECT_EQ(s.s, "x");
  value missing = detail::from_node(detail::int_type(), detail::json_child(&doc, "nope"), nullptr);
  EXPECT_EQ(missing.k, value::kind::int_);
  EXPECT_EQ(missing.i, 0);
  value dyn = detail::from_node(detail::json_type(), detail::json_child(&doc, "o"), nullptr);
  EXPECT_EQ(dyn.k, value::kind::node);
  EXPECT_EQ(detail::type_name(dyn), "map[string]interface {}");
  EXPECT_EQ(detail::json_child(&doc, ""), &doc);  // inline embedded struct
  EXPECT_EQ(detail::json_child(detail::json_child(&doc, "s"), "k"), nullptr);
  EXPECT_EQ(detail::json_int(detail::json_child(&doc, "f")), 2);
  EXPECT_EQ(detail::json_int(detail::json_child(&doc, "s")), 0);
}

// Verifies text/template truth and sprig's empty for each kind of value.
TEST(TemplateSchema, TruthAndEmptiness) {
  EXPECT_FALSE(detail::is_true(value::make_str("")));
  EXPECT_TRUE(detail::is_true(value::make_str("0")));
  EXPECT_FALSE(detail::is_true(value::make_int(0)));
  EXPECT_TRUE(detail::is_true(value::make_float(0.5)));
  EXPECT_FALSE(detail::is_true(value::make_nil()));
  EXPECT_TRUE(detail::is_empty(value::make_bool(false)));
  EXPECT_FALSE(detail::is_empty(value::make_int(-1)));
  EXPECT_TRUE(detail::is_empty(detail::from_owned_json(ordered_json::array())));
  EXPECT_FALSE(detail::is_empty(detail::from_owned_json(ordered_json::array({1}))));
}

}  // namespace
}  // namespace ke::tmpl
