// Tests for tmpl::layout and tmpl::de_dot (resmoio pkg/sinks/tmpl.go and kube.DeDot).
#include "template/layout.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/go_json.hpp"

namespace ke::tmpl {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

record event_record() {
  record r;
  r.doc = ordered_json::parse(R"({
    "metadata": {"name": "nginx.17c2", "namespace": "default", "uid": "e-uid",
                 "labels": {"a.b": "1", "a_a": "2"}},
    "reason": "BackOff",
    "message": "Back-off <restarting> & failed",
    "source": {"component": "kubelet", "host": "node-1"},
    "firstTimestamp": "2024-05-14T10:00:00Z",
    "lastTimestamp": "2024-05-14T10:05:30Z",
    "count": 5,
    "type": "Warning",
    "eventTime": null,
    "reportingComponent": "",
    "reportingInstance": "",
    "clusterName": "",
    "involvedObject": {"kind": "Pod", "namespace": "default", "name": "nginx",
                       "labels": {"app.kubernetes.io/name": "web", "tier": "front"},
                       "annotations": {"x.y/z": "v"},
                       "deleted": false}
  })");
  r.line = go_json(r.doc);
  r.namespace_ = "default";
  return r;
}

std::string render(const json& spec, const record& r) {
  diagnostics problems;
  auto l = layout::compile(spec, "receivers[0].webhook.layout", problems);
  if (!l) {
    return "COMPILE ERROR: " + (problems.empty() ? std::string() : problems[0].to_string());
  }
  std::string out;
  std::string error;
  if (!l->render(r, out, &error)) {
    return "RENDER ERROR: " + error;
  }
  return out;
}

// Verifies that the README "Customizing Payload" layout renders to Go's json.Marshal output.
TEST(TemplateLayout, ReadmeCustomizingPayload) {
  json spec = json::parse(R"({
    "region": "us-west-2",
    "eventType": "kubernetes-event",
    "createdAt": "{{ .GetTimestampMs }}",
    "details": {
      "message": "{{ .Message }}",
      "reason": "{{ .Reason }}",
      "type": "{{ .Type }}",
      "count": "{{ .Count }}",
      "kind": "{{ .InvolvedObject.Kind }}",
      "name": "{{ .InvolvedObject.Name }}",
      "namespace": "{{ .Namespace }}",
      "component": "{{ .Source.Component }}",
      "host": "{{ .Source.Host }}",
      "labels": "{{ toJson .InvolvedObject.Labels}}"
    }
  })");
  EXPECT_EQ(render(spec, event_record()),
            R"({"createdAt":"1715680800000","details":{"component":"kubelet","count":"5",)"
            R"("host":"node-1","kind":"Pod","labels":"{\"app.kubernetes.io/name\":\"web\",)"
            R"(\"tier\":\"front\"}","message":"Back-off \u003crestarting\u003e \u0026 failed",)"
            R"("name":"nginx","namespace":"default","reason":"BackOff","type":"Warning"},)"
            R"("eventType":"kubernetes-event","region":"us-west-2"})");
}

// Verifies that the README Kafka layout renders, including GetTimestampISO8601.
TEST(TemplateLayout, ReadmeKafkaLayout) {
  json spec = json::parse(R"({
    "kind": "{{ .InvolvedObject.Kind }}",
    "namespace": "{{ .InvolvedObject.Namespace }}",
    "name": "{{ .InvolvedObject.Name }}",
    "reason": "{{ .Reason }}",
    "message": "{{ .Message }}",
    "type": "{{ .Type }}",
    "createdAt": "{{ .GetTimestampISO8601 }}"
  })");
  EXPECT_EQ(render(spec, event_record()),
            R"({"createdAt":"2024-05-14T10:00:00.000Z","kind":"Pod",)"
            R"("message":"Back-off \u003crestarting\u003e \u0026 failed","name":"nginx",)"
            R"("namespace":"default","reason":"BackOff","type":"Warning"})");
}

// Verifies resmoio's TestLayoutConvert: nested maps, lists of templates, constants.
TEST(TemplateLayout, NestedMapsAndLists) {
  json spec = json::parse(R"({
    "details": {"message": "{{ .Message }}", "kind": "{{ .InvolvedObject.Kind }}",
                "tags": ["sre", "{{ .Type }}"]},
    "eventType": "kube-event"
  })");
  EXPECT_EQ(render(spec, event_record()),
            R"({"details":{"kind":"Pod","message":"Back-off \u003crestarting\u003e \u0026 failed",)"
            R"("tags":["sre","Warning"]},"eventType":"kube-event"})");
}

// Verifies that non-string scalars in a layout render as null (convertTemplate's default).
TEST(TemplateLayout, NonStringLeavesAreNull) {
  json spec = json::parse(R"({"count": 5, "flag": true, "nothing": null, "list": [1, "x"]})");
  EXPECT_EQ(render(spec, event_record()),
            R"({"count":null,"flag":null,"list":[null,"x"],"nothing":null})");
}

// Verifies that an empty layout renders {} and a null layout renders the full record.
TEST(TemplateLayout, EmptyAndNullLayouts) {
  record r = event_record();
  EXPECT_EQ(render(json::object(), r), "{}");
  EXPECT_EQ(render(json(nullptr), r), r.line);
}

// Verifies that output keys are sorted bytewise, as Go marshals maps.
TEST(TemplateLayout, KeysSortedLikeGo) {
  json spec = json::parse(R"({"b": "1", "a": "2", "C": "3", "a.b": "4"})");
  EXPECT_EQ(render(spec, event_record()), R"({"C":"3","a":"2","a.b":"4","b":"1"})");
}

// Verifies that a template error is a compile error naming the layout path and key.
TEST(TemplateLayout, InvalidTemplateNamesPathAndKey) {
  json spec = json::parse(R"({"details": {"msg": "{{ .message }}"}})");
  diagnostics problems;
  EXPECT_EQ(layout::compile(spec, "receivers[2].loki.layout", problems), nullptr);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "receivers[2].loki.layout.details.msg");
  EXPECT_EQ(problems[0].severity, diagnostic::level::error);
  EXPECT_NE(problems[0].message.find("can't evaluate field message"), std::string::npos);
}

// Verifies that an unsupported function is reported, not rendered as an empty string.
TEST(TemplateLayout, UnsupportedFunctionIsCompileError) {
  json spec = json::parse(R"({"a": "{{ .Reason }}", "list": ["ok", "{{ sha256sum .Message }}"]})");
  diagnostics problems;
  EXPECT_EQ(layout::compile(spec, "receivers[0].file.layout", problems), nullptr);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "receivers[0].file.layout.list[1]");
  EXPECT_NE(problems[0].message.find("sha256sum"), std::string::npos);
}

// Verifies that a layout that is not a map is rejected.
TEST(TemplateLayout, NonMapLayoutIsError) {
  diagnostics problems;
  EXPECT_EQ(layout::compile(json("{{ .Message }}"), "receivers[0].stdout.layout", problems),
            nullptr);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].path, "receivers[0].stdout.layout");
}

// Verifies that an execution error fails the render and names the key.
TEST(TemplateLayout, ExecutionErrorFailsRender) {
  json spec = json::parse(R"({"series": "{{ .Series.Count }}"})");
  std::string out = render(spec, event_record());
  EXPECT_EQ(out.rfind("RENDER ERROR: ", 0), 0u) << out;
  EXPECT_NE(out.find("receivers[0].webhook.layout.series"), std::string::npos) << out;
  EXPECT_NE(out.find("nil pointer"), std::string::npos) << out;
}

// Verifies that missing map keys render as "<no value>" inside the JSON, as in resmoio.
TEST(TemplateLayout, MissingKeyRendersNoValue) {
  json spec = json::parse(R"({"owner": "{{ .InvolvedObject.Labels.owner }}"})");
  EXPECT_EQ(render(spec, event_record()), R"({"owner":"\u003cno value\u003e"})");
}

// Verifies that de_dot replaces dots in the four label/annotation maps only, keeping Go order.
TEST(TemplateLayout, DeDotRewritesLabelAndAnnotationKeys) {
  record r = event_record();
  ordered_json d = de_dot(r.doc);
  EXPECT_EQ(go_json(d["metadata"]["labels"]), R"({"a_a":"2","a_b":"1"})");
  EXPECT_EQ(go_json(d["involvedObject"]["labels"]),
            R"({"app_kubernetes_io/name":"web","tier":"front"})");
  EXPECT_EQ(go_json(d["involvedObject"]["annotations"]), R"({"x_y/z":"v"})");
  EXPECT_EQ(d["metadata"]["name"], "nginx.17c2");  // other keys and values untouched
  EXPECT_EQ(d["involvedObject"]["name"], "nginx");
  EXPECT_EQ(r.doc["involvedObject"]["labels"].count("app.kubernetes.io/name"), 1u);  // a copy
}

// Verifies that de_dot leaves documents without labels unchanged.
TEST(TemplateLayout, DeDotWithoutLabels) {
  ordered_json doc = {{"metadata", {{"name", "a.b"}}}, {"involvedObject", {{"kind", "Pod"}}}};
  EXPECT_EQ(de_dot(doc), doc);
}

// Verifies that templates see the de-dotted document when rendering one (deDot before layout).
TEST(TemplateLayout, RenderDeDottedDocument) {
  record r = event_record();
  json spec = json::parse(R"({"labels": "{{ toJson .InvolvedObject.Labels }}"})");
  diagnostics problems;
  auto l = layout::compile(spec, "layout", problems);
  ASSERT_NE(l, nullptr);
  std::string out;
  std::string error;
  ASSERT_TRUE(l->render(de_dot(r.doc), r.source, out, &error)) << error;
  EXPECT_EQ(out, R"({"labels":"{\"app_kubernetes_io/name\":\"web\",\"tier\":\"front\"}"})");
}

// Verifies that a null layout rendering a document gives the document's Go JSON.
TEST(TemplateLayout, NullLayoutRendersDocument) {
  record r = event_record();
  diagnostics problems;
  auto l = layout::compile(json(nullptr), "layout", problems);
  ASSERT_NE(l, nullptr);
  std::string out;
  ASSERT_TRUE(l->render(r.doc, r.source, out, nullptr));
  EXPECT_EQ(out, r.line);
}

}  // namespace
}  // namespace ke::tmpl
