// Tests for tmpl::go_template: Go text/template + sprig semantics over resmoio's EnhancedEvent.
#include "template/go_template.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/go_json.hpp"

namespace ke::tmpl {
namespace {

using nlohmann::ordered_json;

// An enhanced event as the decoder writes it (Go encoding/json order).
ordered_json event_doc() {
  return ordered_json::parse(R"({
    "metadata": {"name": "nginx.17c2", "namespace": "default", "uid": "e-uid",
                 "resourceVersion": "100", "creationTimestamp": "2024-05-14T10:00:00Z"},
    "reason": "BackOff",
    "message": "Back-off restarting failed container",
    "source": {"component": "kubelet", "host": "node-1"},
    "firstTimestamp": "2024-05-14T10:00:00Z",
    "lastTimestamp": "2024-05-14T10:05:30Z",
    "count": 5,
    "type": "Warning",
    "eventTime": null,
    "reportingComponent": "kubelet",
    "reportingInstance": "node-1",
    "clusterName": "prod",
    "involvedObject": {"kind": "Pod", "namespace": "default", "name": "nginx", "uid": "p-uid",
                       "apiVersion": "v1", "resourceVersion": "42",
                       "fieldPath": "spec.containers{nginx}",
                       "labels": {"app": "nginx", "app.kubernetes.io/name": "web"},
                       "annotations": {"owner": "team-a"},
                       "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                            "name": "nginx-rs", "uid": "rs-uid",
                                            "controller": true, "blockOwnerDeletion": true}],
                       "deleted": false}
  })");
}

struct render_case {
  const char* name;
  const char* tmpl;
  const char* want;
};

std::string render(const std::string& text, const ordered_json& doc,
                   go_template::data_model model = go_template::data_model::kube_event) {
  std::string error;
  auto t = go_template::parse(text, &error, model);
  if (!t) {
    return "PARSE ERROR: " + error;
  }
  std::string out;
  if (!t->execute(doc, model, out, &error)) {
    return "EXEC ERROR: " + error;
  }
  return out;
}

std::vector<render_case> render_table() {
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
      {"TimeIsGoString", "{{ .FirstTimestamp }} | {{ .LastTimestamp }}",
       "2024-05-14 10:00:00 +0000 UTC | 2024-05-14 10:05:30 +0000 UTC"},
      {"NullTimeIsZeroTime", "{{ .EventTime }}", "0001-01-01 00:00:00 +0000 UTC"},
      {"GetTimestampMs", "{{ .GetTimestampMs }}", "1715680800000"},
      {"GetTimestampISO8601", "{{ .GetTimestampISO8601 }}", "2024-05-14T10:00:00.000Z"},
      {"TimeMethods",
       "{{ .LastTimestamp.Unix }} {{ .LastTimestamp.UnixMilli }} {{ .EventTime.IsZero }}",
       "1715681130 1715681130000 true"},
      {"TimeFormat", "{{ .LastTimestamp.Format \"Mon Jan _2 15:04:05 MST 2006\" }}",
       "Tue May 14 10:05:30 UTC 2024"},
      {"TimeFormatZones", "{{ .LastTimestamp.Format \"2006-01-02T15:04:05Z07:00 -0700 pm\" }}",
       "2024-05-14T10:05:30Z +0000 am"},
      // Maps.
      {"LabelByField", "{{ .InvolvedObject.Labels.app }}", "nginx"},
      {"MissingLabelIsNoValue", "{{ .InvolvedObject.Labels.owner }}", "<no value>"},
      {"MissingEventLabelsIsNoValue", "{{ .Labels.team }}", "<no value>"},
      {"IndexDottedKey", "{{ index .InvolvedObject.Labels \"app.kubernetes.io/name\" }}", "web"},
      {"IndexMissingKeyIsEmpty", "[{{ index .InvolvedObject.Labels \"nope\" }}]", "[]"},
      {"MapPrintsLikeGo", "{{ .InvolvedObject.Labels }}",
       "map[app:nginx app.kubernetes.io/name:web]"},
      {"NilMapPrintsEmpty", "{{ .Labels }}", "map[]"},
      {"AnnotationByField", "{{ .InvolvedObject.Annotations.owner }}", "team-a"},
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
      // Control structures.
      {"IfElse", "{{ if eq .Type \"Warning\" }}W{{ else }}N{{ end }}", "W"},
      {"ElseIf",
       "{{ if eq .Type \"Normal\" }}N{{ else if eq .Type \"Warning\" }}W{{ else }}?{{ end }}", "W"},
      {"IfMissingKeyIsFalse", "{{ if .InvolvedObject.Labels.nope }}y{{ else }}n{{ end }}", "n"},
      {"RangeMapSorted", "{{ range $k, $v := .InvolvedObject.Labels }}{{ $k }}={{ $v }};{{ end }}",
       "app=nginx;app.kubernetes.io/name=web;"},
      {"RangeMapDot", "{{ range .InvolvedObject.Labels }}[{{ . }}]{{ end }}", "[nginx][web]"},
      {"RangeList",
       "{{ range $i, $o := .InvolvedObject.OwnerReferences }}{{ $i }}:{{ $o.Kind }}/{{ .Name }}{{ "
       "end }}",
       "0:ReplicaSet/nginx-rs"},
      {"RangeNilElse", "{{ range .Labels }}x{{ else }}empty{{ end }}", "empty"},
      {"RangeBreakContinue",
       "{{ range $k, $v := .InvolvedObject.Labels }}{{ if eq $k \"app\" }}{{ continue }}{{ end }}"
       "{{ $v }}{{ break }}{{ end }}",
       "web"},
      {"RootVariableInRange", "{{ range .InvolvedObject.Labels }}{{ $.Reason }}{{ end }}",
       "BackOffBackOff"},
      {"With", "{{ with .InvolvedObject.Labels.app }}app={{ . }}{{ end }}", "app=nginx"},
      {"WithNilPointerElse", "{{ with .Series }}{{ .Count }}{{ else }}none{{ end }}", "none"},
      {"ElseWith", "{{ with .Action }}a{{ else with .Reason }}{{ . }}{{ end }}", "BackOff"},
      {"TrimMarkers", "a  {{- .Type -}}  \n b", "aWarningb"},
      {"Comment", "x{{/* a comment */}}y{{- /* trimmed */ -}} z", "xyz"},
      {"Variables", "{{ $n := .InvolvedObject.Name }}{{ $n = printf \"%s!\" $n }}{{ $n }}",
       "nginx!"},
      {"ParenthesizedChain", "{{ (index .InvolvedObject.OwnerReferences 0).Name }}", "nginx-rs"},
      // Builtins.
      {"Pipeline", "{{ .Message | upper }}", "BACK-OFF RESTARTING FAILED CONTAINER"},
      {"PipelineFinalArg", "{{ .Reason | printf \"%s!\" }}", "BackOff!"},
      {"Printf",
       "{{ printf \"%s/%s %d %v %q %5.1f|%-4s|%03d\" .InvolvedObject.Namespace "
       ".InvolvedObject.Name .Count .InvolvedObject.Deleted .Reason 2.25 \"ab\" 7 }}",
       "default/nginx 5 false \"BackOff\"   2.2|ab  |007"},
      {"PrintfBadVerbAndMissing", "{{ printf \"%d %s %s\" .Reason .Reason }}",
       "%!d(string=BackOff) BackOff %!s(MISSING)"},
      {"PrintfExtra", "{{ printf \"x\" 1 \"a\" }}", "x%!(EXTRA int=1, string=a)"},
      {"Print", "{{ print 1 2 \"a\" 3 }}", "1 2a3"},
      {"Println", "{{ println \"a\" 1 }}", "a 1\n"},
      {"Len", "{{ len .InvolvedObject.Labels }} {{ len .Message }} {{ len .Labels }}", "2 36 0"},
      {"AndOr",
       "{{ and .Count .Reason }} {{ or .Action \"none\" }} {{ not .InvolvedObject.Deleted }}",
       "BackOff none true"},
      {"Comparisons",
       "{{ gt .Count 3 }} {{ lt .Count 3 }} {{ le 5 .Count }} {{ ne .Type \"Normal\" }}",
       "true false true true"},
      {"EqManyArgs", "{{ eq .Type \"Normal\" \"Warning\" }}", "true"},
      {"EqMissingKeyIsFalse", "{{ eq .InvolvedObject.Labels.nope \"x\" }}", "false"},
      {"Urlquery", "{{ urlquery \"a b&c\" }}", "a+b%26c"},
      {"Literals",
       "{{ \"a\\tb\" }}|{{ `r\\n` }}|{{ 'a' }}|{{ 0x1F }}|{{ 1.5 }}|{{ 1e6 }}|{{ -3 }}|{{ true }}",
       "a\tb|r\\n|97|31|1.5|1e+06|-3|true"},
      // Sprig.
      {"Quote", "{{ quote .Reason }} {{ squote .Reason }} {{ quote \"a\\\"b\\n\" }}",
       "\"BackOff\" 'BackOff' \"a\\\"b\\n\""},
      {"QuoteNumber", "{{ quote .Count }}", "\"5\""},
      {"LowerTitle", "{{ lower .Reason }} {{ title \"hello kube-world\" }}",
       "backoff Hello Kube-World"},
      {"Trim", "[{{ trim \"  x y \\n\" }}]", "[x y]"},
      {"TrimPrefixSuffix",
       "{{ trimPrefix \"Back-\" .Message }}|{{ trimSuffix \"container\" .Message }}|{{ trimAll "
       "\"-\" \"--x--\" }}",
       "off restarting failed container|Back-off restarting failed |x"},
      {"Replace", "{{ .Message | replace \" \" \"_\" }}", "Back-off_restarting_failed_container"},
      {"DefaultMissing", "{{ .InvolvedObject.Labels.team | default \"none\" }}", "none"},
      {"DefaultPresent", "{{ .InvolvedObject.Labels.app | default \"none\" }}", "nginx"},
      {"DefaultEmptyString", "{{ default \"x\" .Action }}", "x"},
      {"DefaultZeroNumber", "{{ default 7 0 }}", "7"},
      {"EmptyCoalesceTernary",
       "{{ empty .Action }} {{ coalesce .Action .Reason }} {{ ternary \"y\" \"n\" true }}",
       "true BackOff y"},
      {"ContainsPrefixSuffix",
       "{{ contains \"restart\" .Message }} {{ hasPrefix \"Back\" .Message }} {{ hasSuffix \"x\" "
       ".Message }}",
       "true true false"},
      {"JoinSplit", "{{ join \",\" (splitList \"/\" \"a/b/c\") }}", "a,b,c"},
      {"Base64", "{{ b64enc \"kube\" }} {{ b64dec \"a3ViZQ==\" }}", "a3ViZQ== kube"},
      {"TruncRepeatNospace", "{{ trunc 4 .Reason }} {{ repeat 2 \"ab\" }} {{ nospace \"a b c\" }}",
       "Back abab abc"},
      {"IndentNindent", "{{ indent 2 \"a\\nb\" }}|{{ nindent 1 \"c\" }}", "  a\n  b|\n c"},
      {"CatToString", "{{ cat \"a\" 1 .Count }} {{ toString .Count }}", "a 1 5 5"},
      {"Arithmetic",
       "{{ add 1 2 3 }} {{ sub 5 2 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ mod 7 2 }} {{ add1 .Count "
       "}}",
       "6 3 24 3 1 6"},
      {"Conversions", "{{ int \"42\" }} {{ atoi \"x\" }} {{ float64 \"1.5\" }}", "42 0 1.5"},
      {"DateOfUnixSeconds", "{{ date \"2006-01-02\" 0 }}", "1970-01-01"},
      {"UnixEpoch", "{{ unixEpoch (.LastTimestamp.UTC) }}", "1715681130"},
  };
}

class render_cases : public ::testing::TestWithParam<render_case> {};

// Verifies that each template renders exactly as Go's text/template with sprig would.
TEST_P(render_cases, RendersLikeGo) {
  const render_case& c = GetParam();
  EXPECT_EQ(render(c.tmpl, event_doc()), c.want) << c.tmpl;
}

INSTANTIATE_TEST_SUITE_P(go_template, render_cases, ::testing::ValuesIn(render_table()),
                         [](const ::testing::TestParamInfo<render_case>& info) {
                           return std::string(info.param.name);
                         });

// Verifies that toJson of the whole event is Go's json.Marshal of it (the record's line).
TEST(go_template, ToJsonOfDotIsTheRecordLine) {
  ordered_json doc = event_doc();
  EXPECT_EQ(render("{{ toJson . }}", doc), go_json(doc));
}

// Verifies that GetTimestampMs falls back to eventTime when firstTimestamp is null.
TEST(go_template, GetTimestampFallsBackToEventTime) {
  ordered_json doc = event_doc();
  doc["firstTimestamp"] = nullptr;
  doc["eventTime"] = "2024-05-14T10:00:00.123456Z";
  EXPECT_EQ(render("{{ .GetTimestampMs }} {{ .GetTimestampISO8601 }}", doc),
            "1715680800123 2024-05-14T10:00:00.123Z");
  EXPECT_EQ(render("{{ .EventTime }}", doc), "2024-05-14 10:00:00.123456 +0000 UTC");
}

// Verifies that GetTimestampMs of an event without times is Go's overflowed zero-time value.
TEST(go_template, GetTimestampOfZeroTimeOverflowsLikeGo) {
  ordered_json doc = event_doc();
  doc["firstTimestamp"] = nullptr;
  EXPECT_EQ(render("{{ .GetTimestampMs }}|{{ .GetTimestampISO8601 }}", doc),
            "-6795364578871|0001-01-01T00:00:00.000Z");
}

// Verifies that a non-nil series pointer is printed and its fields are reachable.
TEST(go_template, SeriesFields) {
  ordered_json doc = event_doc();
  doc["series"] = {{"count", 3}, {"lastObservedTime", "2024-05-14T10:00:01.500000Z"}};
  EXPECT_EQ(render("{{ .Series.Count }} {{ .Series.LastObservedTime }}", doc),
            "3 2024-05-14 10:00:01.5 +0000 UTC");
  EXPECT_EQ(render("{{ .Series }}", doc),
            "&EventSeries{Count:3,LastObservedTime:2024-05-14 10:00:01.5 +0000 UTC,}");
}

// Verifies that with the json model, .key reads JSON keys (and the capitalised Go style).
TEST(go_template, JsonModelReadsKeys) {
  ordered_json doc = ordered_json::parse(R"({"message":"m","check":{"id":"1.1.1","ok":true}})");
  auto model = go_template::data_model::json;
  EXPECT_EQ(render("{{ .message }} {{ .Message }} {{ .check.id }} {{ .check.ok }}", doc, model),
            "m m 1.1.1 true");
  EXPECT_EQ(render("{{ .nope }}", doc, model), "<no value>");
  EXPECT_EQ(render("{{ .check }}", doc, model), "map[id:1.1.1 ok:true]");
}

// Verifies that a template checked against the event type still runs on a json document.
TEST(go_template, EventCheckedTemplateRunsOnJson) {
  ordered_json doc = ordered_json::parse(R"({"reason":"r","involvedObject":{"kind":"K"}})");
  std::string error;
  auto t = go_template::parse("{{ .Reason }}/{{ .InvolvedObject.Kind }}", &error);
  ASSERT_NE(t, nullptr);
  std::string out;
  ASSERT_TRUE(t->execute(doc, go_template::data_model::json, out, &error)) << error;
  EXPECT_EQ(out, "r/K");
}

// Verifies that a record is executed with the model matching its source.
TEST(go_template, RecordSourceSelectsModel) {
  std::string error;
  auto t = go_template::parse("{{ .Reason }}", &error);
  ASSERT_NE(t, nullptr) << error;
  record r;
  r.doc = event_doc();
  std::string out;
  ASSERT_TRUE(t->execute(r, out, &error)) << error;
  EXPECT_EQ(out, "BackOff");
  record bench;
  bench.source = record_source::kube_bench;
  bench.doc = {{"reason", "from-json"}};
  out.clear();
  ASSERT_TRUE(t->execute(bench, out, &error)) << error;
  EXPECT_EQ(out, "from-json");
}

// Verifies that plain text is recognised as constant and copied as is.
TEST(go_template, ConstantText) {
  std::string error;
  auto t = go_template::parse("us-west-2", &error);
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->is_constant());
  std::string out;
  ASSERT_TRUE(t->execute(event_doc(), go_template::data_model::kube_event, out, &error));
  EXPECT_EQ(out, "us-west-2");
  EXPECT_FALSE(go_template::parse("{{ .Reason }}", &error)->is_constant());
}

struct error_case {
  const char* name;
  const char* tmpl;
  const char* want;  // substring of the error
};

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
      {"UnknownFunction", "{{ foo .Reason }}", "function \"foo\" not defined"},
      {"UnsupportedSprigFunction", "{{ regexFind \"a\" .Reason }}",
       "function \"regexFind\" not defined"},
      {"WrongArgCount", "{{ upper }}", "wrong number of args for upper: want 1 got 0"},
      {"WrongArgCountInPipeline", "{{ .Reason | replace \"a\" }}",
       "wrong number of args for replace: want 3 got 2"},
      {"MethodArgCount", "{{ .FirstTimestamp.Format }}", "wrong number of args for Format"},
      {"ArgumentsToField", "{{ .Message 1 }}", "has arguments but cannot be invoked"},
      {"UnexpectedEOF", "{{ if .Type }}x", "unexpected EOF"},
      {"UnexpectedEnd", "x{{ end }}", "unexpected {{end}}"},
      {"UnclosedAction", "{{ .Message", "unclosed action"},
      {"UnterminatedString", "{{ \"abc }}", "unterminated quoted string"},
      {"Define", "{{ define \"x\" }}y{{ end }}", "{{define}} is not supported"},
      {"Template", "{{ template \"x\" }}", "{{template}} is not supported"},
      {"UndefinedVariable", "{{ $x }}", "undefined variable \"$x\""},
      {"VariableOutOfScope", "{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}",
       "undefined variable \"$x\""},
      {"BreakOutsideRange", "{{ break }}", "{{break}} outside {{range}}"},
      {"PrintingTheWholeEvent", "{{ . }}", "printing a *kube.EnhancedEvent is not supported"},
      {"RangeOverString", "{{ range .Reason }}{{ end }}", "range can't iterate over"},
      {"NonExecutableStage", "{{ .Reason | \"x\" }}", "non executable command in pipeline stage 2"},
      {"ArgumentToNonFunction", "{{ \"x\" 1 }}", "can't give argument to non-function"},
      {"UnclosedComment", "{{/* x }}", "unclosed comment"},
      {"LineNumber", "a\nb\n{{ .nope }}", "line 3"},
  };
}

class parse_errors : public ::testing::TestWithParam<error_case> {};

// Verifies that invalid or unsupported templates are rejected at parse time with Go's message.
TEST_P(parse_errors, RejectedAtParse) {
  const error_case& c = GetParam();
  std::string error;
  EXPECT_EQ(go_template::parse(c.tmpl, &error), nullptr) << c.tmpl;
  EXPECT_NE(error.find(c.want), std::string::npos) << "error: " << error;
}

INSTANTIATE_TEST_SUITE_P(go_template, parse_errors, ::testing::ValuesIn(parse_error_table()),
                         [](const ::testing::TestParamInfo<error_case>& info) {
                           return std::string(info.param.name);
                         });

std::vector<error_case> exec_error_table() {
  return {
      {"NilPointerField", "{{ .Series.Count }}", "nil pointer evaluating *v1.EventSeries.Count"},
      {"WrongArgumentType", "{{ upper .Count }}", "wrong type for value; expected string; got int"},
      {"DivideByZero", "{{ div 1 0 }}", "integer divide by zero"},
      {"IndexOutOfRange", "{{ index .InvolvedObject.OwnerReferences 5 }}", "index out of range: 5"},
      {"IncompatibleComparison", "{{ eq .Count \"5\" }}", "incompatible types for comparison"},
      {"LineOfFailure", "ok\n{{ .Series.Count }}", "line 2"},
  };
}

class exec_errors : public ::testing::TestWithParam<error_case> {};

// Verifies that execution errors fail the render with Go's message instead of printing empty.
TEST_P(exec_errors, FailAtExecution) {
  const error_case& c = GetParam();
  EXPECT_EQ(render(c.tmpl, event_doc()).rfind("EXEC ERROR: ", 0), 0u) << c.tmpl;
  EXPECT_NE(render(c.tmpl, event_doc()).find(c.want), std::string::npos)
      << render(c.tmpl, event_doc());
}

INSTANTIATE_TEST_SUITE_P(go_template, exec_errors, ::testing::ValuesIn(exec_error_table()),
                         [](const ::testing::TestParamInfo<error_case>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace ke::tmpl
