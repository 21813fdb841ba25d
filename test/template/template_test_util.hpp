// Shared by the go_template tests (test/template/*_test.cpp): the sample enhanced event, the
// render helper, and the case tables' types with their checks.
#pragma once
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "template/go_template.hpp"

namespace ke::tmpl {

// An enhanced event as the decoder writes it (Go encoding/json order).
inline nlohmann::ordered_json event_doc() {
  return nlohmann::ordered_json::parse(R"({
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

// Parses and executes `text` on `doc`: the output, or "PARSE ERROR: <error>" / "EXEC ERROR:
// <error>".
inline std::string render(const std::string& text, const nlohmann::ordered_json& doc,
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

// A template and its output on event_doc().
struct render_case {
  const char* name;
  const char* tmpl;
  const char* want;
};

// A template and a substring of its error.
struct error_case {
  const char* name;
  const char* tmpl;
  const char* want;
};

// Names a parameterised case after its `name` field.
template <typename Case>
std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return std::string(info.param.name);
}

// Expects the template to render exactly as Go's text/template with sprig would.
inline void expect_renders(const render_case& c) {
  EXPECT_EQ(render(c.tmpl, event_doc()), c.want) << c.tmpl;
}

// Expects the template to be rejected by parse() with an error containing c.want.
inline void expect_parse_error(const error_case& c) {
  std::string error;
  EXPECT_EQ(go_template::parse(c.tmpl, &error), nullptr) << c.tmpl;
  EXPECT_NE(error.find(c.want), std::string::npos) << "error: " << error;
}

// Expects the template to parse but fail execution on event_doc() with an error containing
// c.want (instead of printing empty).
inline void expect_exec_error(const error_case& c) {
  EXPECT_EQ(render(c.tmpl, event_doc()).rfind("EXEC ERROR: ", 0), 0u) << c.tmpl;
  EXPECT_NE(render(c.tmpl, event_doc()).find(c.want), std::string::npos)
      << render(c.tmpl, event_doc());
}

}  // namespace ke::tmpl
