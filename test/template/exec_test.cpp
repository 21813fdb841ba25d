// Tests for go_template execution (src/template/exec.cpp): fields and map keys, pipelines,
// variables, if/range/with, break/continue, and execution errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "template/template_test_util.hpp"

namespace ke::tmpl {
namespace {

std::vector<render_case> render_table() {
  return {
      // Maps.
      {"LabelByField", "{{ .InvolvedObject.Labels.app }}", "nginx"},
      {"MissingLabelIsNoValue", "{{ .InvolvedObject.Labels.owner }}", "<no value>"},
      {"MissingEventLabelsIsNoValue", "{{ .Labels.team }}", "<no value>"},
      {"AnnotationByField", "{{ .InvolvedObject.Annotations.owner }}", "team-a"},
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
      {"Variables", "{{ $n := .InvolvedObject.Name }}{{ $n = printf \"%s!\" $n }}{{ $n }}",
       "nginx!"},
      {"ParenthesizedChain", "{{ (index .InvolvedObject.OwnerReferences 0).Name }}", "nginx-rs"},
      // Pipelines.
      {"Pipeline", "{{ .Message | upper }}", "BACK-OFF RESTARTING FAILED CONTAINER"},
      {"PipelineFinalArg", "{{ .Reason | printf \"%s!\" }}", "BackOff!"},
  };
}

class TemplateExecRender : public ::testing::TestWithParam<render_case> {};

// Verifies that each template renders exactly as Go's text/template with sprig would.
TEST_P(TemplateExecRender, RendersLikeGo) { expect_renders(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, TemplateExecRender, ::testing::ValuesIn(render_table()),
                         case_name<render_case>);

std::vector<error_case> exec_error_table() {
  return {
      {"NilPointerField", "{{ .Series.Count }}", "nil pointer evaluating *v1.EventSeries.Count"},
      {"LineOfFailure", "ok\n{{ .Series.Count }}", "line 2"},
  };
}

class TemplateExecExecError : public ::testing::TestWithParam<error_case> {};

// Verifies that execution errors fail the render with Go's message instead of printing empty.
TEST_P(TemplateExecExecError, FailAtExecution) { expect_exec_error(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, TemplateExecExecError, ::testing::ValuesIn(exec_error_table()),
                         case_name<error_case>);

// Verifies that a declaration prints nothing and an assignment inside range changes the outer
// variable (Go 1.11+ semantics).
TEST(TemplateExec, AssignmentInRangeIsVisibleAfter) {
  EXPECT_EQ(render("{{ $x := 5 }}[{{ $x }}]", event_doc()), "[5]");
  EXPECT_EQ(render("{{ $n := 0 }}{{ range .InvolvedObject.Labels }}{{ $n = add1 $n }}{{ end }}"
                   "{{ $n }}",
                   event_doc()),
            "2");
}

// Verifies that with rebinds dot while $ stays the root.
TEST(TemplateExec, WithRebindsDot) {
  EXPECT_EQ(render("{{ with .Source }}{{ .Host }}/{{ $.Reason }}{{ end }}", event_doc()),
            "node-1/BackOff");
}

// Verifies range over a list built at run time (sprig splitList), with index and element.
TEST(TemplateExec, RangeOverDynamicList) {
  EXPECT_EQ(render("{{ range $i, $p := splitList \"/\" \"a/b\" }}{{ $i }}={{ $p }},{{ end }}",
                   event_doc()),
            "0=a,1=b,");
}

// Verifies that break leaves only the innermost range.
TEST(TemplateExec, BreakLeavesInnermostRange) {
  EXPECT_EQ(render("{{ range $k, $v := .InvolvedObject.Labels }}"
                   "{{ range $.InvolvedObject.OwnerReferences }}{{ break }}x{{ end }}"
                   "{{ $k }};{{ end }}",
                   event_doc()),
            "app;app.kubernetes.io/name;");
}

// Verifies that an execution error keeps the output written before it (as Go's Execute does)
// and appends to what `out` already holds.
TEST(TemplateExec, ErrorKeepsPartialOutput) {
  std::string error;
  auto t = go_template::parse("ok|{{ .Series.Count }}|after", &error);
  ASSERT_NE(t, nullptr) << error;
  std::string out = "pre:";
  EXPECT_FALSE(t->execute(event_doc(), go_template::data_model::kube_event, out, &error));
  EXPECT_EQ(out, "pre:ok|");
  EXPECT_NE(error.find("nil pointer evaluating *v1.EventSeries.Count"), std::string::npos) << error;
}

}  // namespace
}  // namespace ke::tmpl
