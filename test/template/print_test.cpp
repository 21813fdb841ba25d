// Tests for Go-style printing (src/template/print.cpp: text/template's printValue, fmt's %v,
// gogo String() methods, encoding/json, float formatting) and Go's fmt.Sprintf
// (src/template/fmt.cpp).
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/go_json.hpp"
#include "template/internal.hpp"
#include "template/template_test_util.hpp"

namespace ke::tmpl {
namespace {

using detail::value;
using nlohmann::ordered_json;

std::vector<render_case> print_render_table() {
  return {
      // Maps.
      {"MapPrintsLikeGo", "{{ .InvolvedObject.Labels }}",
       "map[app:nginx app.kubernetes.io/name:web]"},
      {"NilMapPrintsEmpty", "{{ .Labels }}", "map[]"},
      // JSON.
      {"ToJsonMap", "{{ toJson .InvolvedObject.Labels }}",
       R"({"app":"nginx","app.kubernetes.io/name":"web"})"},
      {"ToJsonNilMap", "{{ toJson .Labels }}", "null"},
      {"ToJsonScalars",
       "{{ toJson .Count }} {{ toJson .Reason }} {{ toJson .InvolvedObject.Deleted }}",
       R"(5 "BackOff" false)"},
      {"ToJsonTimes", "{{ toJson .FirstTimestamp }} {{ toJson .EventTime }}",
       R"("2024-05-14T10:00:00Z" null)"},
      {"ToJsonEscapesHtml", "{{ toJson \"<a&b>\" }}", R"("\u003ca\u0026b\u003e")"},
      {"ToRawJsonKeepsHtml", "{{ toRawJson \"<a&b>\" }}", R"("<a&b>")"},
      {"ToPrettyJson", "{{ toPrettyJson .InvolvedObject.Labels }}",
       "{\n  \"app\": \"nginx\",\n  \"app.kubernetes.io/name\": \"web\"\n}"},
      {"ToPrettyJsonEmpty", "{{ toPrettyJson .Source.Component }}", "\"kubelet\""},
      {"ToJsonStruct", "{{ toJson .Source }}", R"({"component":"kubelet","host":"node-1"})"},
      // Printing structs and pointers like Go (gogo String() methods on k8s types).
      {"PrintStructUsesGogoString", "{{ .Source }}",
       "&EventSource{Component:kubelet,Host:node-1,}"},
      {"PrintInvolvedObject", "{{ .InvolvedObject }}",
       "&ObjectReference{Kind:Pod,Namespace:default,Name:nginx,UID:p-uid,APIVersion:v1,"
       "ResourceVersion:42,FieldPath:spec.containers{nginx},}"},
      {"PrintNilSeries", "{{ .Series }}", "nil"},
      {"PrintNilTimePointer", "{{ .DeletionTimestamp }}", "<nil>"},
      {"PrintStructAsArgument", "{{ print .Source }}", "{kubelet node-1}"},
      {"PrintSliceOfStructs", "{{ index .InvolvedObject.OwnerReferences 0 }}",
       "&OwnerReference{Kind:ReplicaSet,Name:nginx-rs,UID:rs-uid,APIVersion:apps/v1,"
       "Controller:*true,BlockOwnerDeletion:*true,}"},
  };
}

class TemplatePrintRender : public ::testing::TestWithParam<render_case> {};

// Verifies that each template renders exactly as Go's text/template with sprig would.
TEST_P(TemplatePrintRender, RendersLikeGo) { expect_renders(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, TemplatePrintRender, ::testing::ValuesIn(print_render_table()),
                         case_name<render_case>);

std::vector<render_case> fmt_render_table() {
  return {
      {"Printf",
       "{{ printf \"%s/%s %d %v %q %5.1f|%-4s|%03d\" .InvolvedObject.Namespace "
       ".InvolvedObject.Name .Count .InvolvedObject.Deleted .Reason 2.25 \"ab\" 7 }}",
       "default/nginx 5 false \"BackOff\"   2.2|ab  |007"},
      {"PrintfBadVerbAndMissing", "{{ printf \"%d %s %s\" .Reason .Reason }}",
       "%!d(string=BackOff) BackOff %!s(MISSING)"},
      {"PrintfExtra", "{{ printf \"x\" 1 \"a\" }}", "x%!(EXTRA int=1, string=a)"},
  };
}

class TemplateFmtRender : public ::testing::TestWithParam<render_case> {};

// Verifies that each template renders exactly as Go's text/template with sprig would.
TEST_P(TemplateFmtRender, RendersLikeGo) { expect_renders(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, TemplateFmtRender, ::testing::ValuesIn(fmt_render_table()),
                         case_name<render_case>);

// Verifies that toJson of the whole event is Go's json.Marshal of it (the record's line).
TEST(TemplatePrint, ToJsonOfDotIsTheRecordLine) {
  ordered_json doc = event_doc();
  EXPECT_EQ(render("{{ toJson . }}", doc), go_json(doc));
}

// Verifies fmt's %v of floats (strconv 'g', shortest): exponent form below 1e-4 and from 1e6.
TEST(TemplatePrint, FormatFloatV) {
  EXPECT_EQ(detail::format_float_v(100000), "100000");
  EXPECT_EQ(detail::format_float_v(1e6), "1e+06");
  EXPECT_EQ(detail::format_float_v(1234567), "1.234567e+06");
  EXPECT_EQ(detail::format_float_v(0.0001), "0.0001");
  EXPECT_EQ(detail::format_float_v(0.00001), "1e-05");
  EXPECT_EQ(detail::format_float_v(-2.5), "-2.5");
  EXPECT_EQ(detail::format_float_v(1e21), "1e+21");
  EXPECT_EQ(detail::format_float_v(std::numeric_limits<double>::infinity()), "+Inf");
}

// Verifies the difference between an action printing a missing map key (<no value>) and
// passing it to a function (nil), and fmt's forms of invalid and nil values.
TEST(TemplatePrint, MissingValueForms) {
  EXPECT_EQ(render("{{ .InvolvedObject.Labels.nope }}|{{ print .InvolvedObject.Labels.nope }}",
                   event_doc()),
            "<no value>|<nil>");
  std::string out;
  detail::print_value(value(), out);
  out += '|';
  detail::format_v(value(), out);
  out += '|';
  detail::format_v(value::make_nil(), out);
  EXPECT_EQ(out, "<no value>|<invalid reflect.Value>|<nil>");
}

// Verifies encoding/json of floats and of the sprig list type.
TEST(TemplatePrint, ToJsonNumbersAndLists) {
  EXPECT_EQ(render("{{ toJson 1e6 }} {{ toJson 1.5 }} {{ toJson (splitList \",\" \"a,b\") }}",
                   event_doc()),
            R"(1000000 1.5 ["a","b"])");
}

// Verifies Go's json.Indent: nested containers, empty containers kept on one line, and
// strings holding JSON punctuation left alone.
TEST(TemplatePrint, IndentJson) {
  EXPECT_EQ(
      detail::indent_json(R"({"a":[1,2],"b":{},"c":[],"d":"x,{:}"})"),
      "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": [],\n  \"d\": \"x,{:}\"\n}");
}

// Verifies sprig's strval: strings as is, the rest through %v.
TEST(TemplatePrint, Strval) {
  EXPECT_EQ(detail::strval(value::make_str("s")), "s");
  EXPECT_EQ(detail::strval(value::make_int(-4)), "-4");
  EXPECT_EQ(detail::strval(value::make_float(0.5)), "0.5");
  EXPECT_EQ(detail::strval(value::make_bool(false)), "false");
}

// Verifies fmt.Sprintf's verbs with flags, width and precision.
TEST(TemplateFmt, SprintfVerbs) {
  std::vector<value> args = {value::make_float(3.14159),   value::make_str("ab"),
                             value::make_int(-42),         value::make_str("hi"),
                             value::make_int(255),         value::make_int(65),
                             value::make_int(1),           value::make_str("s"),
                             value::make_float(1234.5678), value::make_int(5)};
  EXPECT_EQ(detail::go_sprintf("%5.2f|%-6s|%06d|%x|%X|%c|%T %T|%e|%+d|%%", args, 0),
            " 3.14|ab    |-00042|6869|FF|A|int string|1.234568e+03|+5|%");
}

// Verifies that go_sprintf starts at `first` and takes width and precision from '*'.
TEST(TemplateFmt, SprintfFirstAndStar) {
  std::vector<value> args = {value::make_str("ignored"), value::make_int(5), value::make_int(42),
                             value::make_int(2), value::make_float(2.71828)};
  EXPECT_EQ(detail::go_sprintf("[%*d] [%.*f]", args, 1), "[   42] [2.72]");
}

// Verifies fmt's error forms: wrong verb for the type, missing operand, no verb, nil operand.
TEST(TemplateFmt, SprintfErrorForms) {
  std::vector<value> args = {value::make_int(5), value::make_nil()};
  EXPECT_EQ(detail::go_sprintf("%s %s %d %", args, 0),
            "%!s(int=5) %!s(<nil>) %!d(MISSING) %!(NOVERB)");
  EXPECT_EQ(detail::go_sprintf("%q", {value::make_str("a\"b\n")}, 0), "\"a\\\"b\\n\"");
}

}  // namespace
}  // namespace ke::tmpl
