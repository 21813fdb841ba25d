// Benchmarks routing events through a realistic rule tree (~20 rules) and rendering a layout.
#include <benchmark/benchmark.h>

// Config values are built with designated initializers that leave the other fields at their
// defaults, which is the point; -Wextra would flag every omitted field.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "core/go_json.hpp"
#include "route/rule_tree.hpp"
#include "template/layout.hpp"

namespace {

using ke::config::route;
using ke::config::rule;

const std::vector<std::string> receivers = {"loki",  "critical", "slack-owners", "pagerduty",
                                            "prod",  "payments", "images",       "noisy",
                                            "nodes", "audit"};

// A tree like the ones seen in resmoio deployments: a global drop list, a catch-all dump,
// a Warning-only branch with alerting sub-routes, per-namespace and per-team routing.
route make_tree() {
  return route{.drop = {rule{.namespace_ = "^kube-(public|node-lease)$"},
                        rule{.reason = "^(Scheduled|Pulling|Pulled|Created|Started)$",
                             .type = "Normal"}},
               .routes =
                   {
                       route{.match = {rule{.receiver = "loki"}}},
                       route{.drop = {rule{.type = "Normal"}},
                             .match = {rule{.receiver = "critical"}},
                             .routes =
                                 {
                                     route{.match = {rule{.kind = "Pod",
                                                          .labels = {{"owner", ""}},
                                                          .receiver = "slack-owners"}}},
                                     route{.match = {rule{
                                               .reason = "OOMKill|BackOff|FailedMount|Evicted",
                                               .receiver = "pagerduty"}}},
                                     route{.match = {rule{
                                               .message = "ImagePullBackOff|ErrImagePull|not found",
                                               .receiver = "images"}}},
                                     route{.match = {rule{.min_count = 10, .receiver = "noisy"}}},
                                     route{.match = {rule{.reason = "FailedScheduling|Unhealthy",
                                                          .receiver = "pagerduty"},
                                                     rule{.kind = "StatefulSet|DaemonSet",
                                                          .receiver = "critical"}}},
                                 }},
                       route{.match = {rule{.namespace_ = "^prod-"}},
                             .routes =
                                 {
                                     route{.match = {rule{.receiver = "prod"}}},
                                     route{.match = {rule{.labels = {{"app.kubernetes.io/part-of",
                                                                      "payments"}},
                                                          .receiver = "payments"}}},
                                     route{.drop = {rule{.kind = "Job|CronJob"}},
                                           .match = {rule{.api_version = "apps/v1",
                                                          .receiver = "audit"}}},
                                 }},
                       route{.match = {rule{.kind = "^Node$",
                                            .component = "kubelet|node-controller",
                                            .host = "node-[0-9]+",
                                            .receiver = "nodes"}}},
                       route{.match = {rule{.annotations = {{"audit.example.com/enabled", "true"}},
                                            .receiver = "audit"}}},
                       route{.drop = {rule{.namespace_ = "-test$"}, rule{.namespace_ = "^dev-"}},
                             .match = {rule{.kind = "HorizontalPodAutoscaler",
                                            .reason = "FailedGetResourceMetric",
                                            .receiver = "audit"}}},
                   }};
}

std::size_t count_rules(const route& r) {
  std::size_t n = r.drop.size() + r.match.size();
  for (const auto& c : r.routes) {
    n += count_rules(c);
  }
  return n;
}

ke::record make_record(std::string ns, std::string kind, std::string api, std::string reason,
                       std::string type, std::string message, std::string component,
                       std::string host, ke::string_pairs labels, std::int32_t count) {
  ke::record r;
  r.namespace_ = std::move(ns);
  r.kind = std::move(kind);
  r.api_version = std::move(api);
  r.reason = std::move(reason);
  r.type = std::move(type);
  r.message = std::move(message);
  r.component = std::move(component);
  r.host = std::move(host);
  std::sort(labels.begin(), labels.end());
  r.labels = std::move(labels);
  r.count = count;
  return r;
}

std::vector<ke::record> make_records() {
  return {
      make_record("prod-payments", "Pod", "v1", "BackOff", "Warning",
                  "Back-off restarting failed container api in pod api-7d9c6b5f4-x2x9z", "kubelet",
                  "node-12",
                  {{"app", "api"}, {"app.kubernetes.io/part-of", "payments"}, {"owner", "team-a"}},
                  14),
      make_record("default", "Pod", "v1", "Scheduled", "Normal",
                  "Successfully assigned default/web-1 to node-3", "default-scheduler", "",
                  {{"app", "web"}}, 1),
      make_record("prod-web", "Deployment", "apps/v1", "ScalingReplicaSet", "Normal",
                  "Scaled up replica set web-5f7c to 3", "deployment-controller", "",
                  {{"app", "web"}}, 1),
      make_record("staging", "Pod", "v1", "Failed", "Warning",
                  "Failed to pull image \"registry/app:1.2\": rpc error: not found", "kubelet",
                  "node-7", {{"app", "worker"}}, 3),
      make_record("", "Node", "v1", "NodeNotReady", "Warning",
                  "Node node-4 status is now: NodeNotReady", "node-controller", "node-4", {}, 1),
      make_record("kube-system", "Pod", "v1", "Killing", "Normal", "Stopping container coredns",
                  "kubelet", "node-1", {{"k8s-app", "kube-dns"}}, 1),
  };
}

void BM_route_event(benchmark::State& state) {
  ke::diagnostics problems;
  route tree_config = make_tree();
  auto tree = ke::route::rule_tree::compile(tree_config, receivers, problems);
  if (!tree) {
    state.SkipWithError("tree did not compile");
    return;
  }
  std::vector<ke::record> records = make_records();
  std::vector<std::uint32_t> out;
  out.reserve(32);
  std::size_t i = 0;
  std::size_t sends = 0;
  for (auto _ : state) {
    out.clear();
    tree->route(records[i], out);
    sends += out.size();
    benchmark::DoNotOptimize(out.data());
    i = i + 1 == records.size() ? 0 : i + 1;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["rules"] = static_cast<double>(count_rules(tree_config));
  state.counters["sends/event"] =
      benchmark::Counter(static_cast<double>(sends) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_route_event);

void BM_layout_render(benchmark::State& state) {
  ke::record r;
  r.doc = nlohmann::ordered_json::parse(R"({
    "metadata": {"name": "api-7d9c6b5f4-x2x9z.17c2", "namespace": "prod-payments",
                 "uid": "3f1c", "resourceVersion": "123", "creationTimestamp": "2024-05-14T10:00:00Z"},
    "reason": "BackOff", "message": "Back-off restarting failed container",
    "source": {"component": "kubelet", "host": "node-12"},
    "firstTimestamp": "2024-05-14T10:00:00Z", "lastTimestamp": "2024-05-14T10:05:30Z",
    "count": 14, "type": "Warning", "eventTime": null,
    "reportingComponent": "kubelet", "reportingInstance": "node-12", "clusterName": "prod",
    "involvedObject": {"kind": "Pod", "namespace": "prod-payments", "name": "api-7d9c6b5f4-x2x9z",
                       "uid": "9a8b", "apiVersion": "v1", "resourceVersion": "99",
                       "labels": {"app": "api", "owner": "team-a"}, "deleted": false}
  })");
  r.line = ke::go_json(r.doc);
  nlohmann::json spec = nlohmann::json::parse(R"({
    "region": "us-west-2", "eventType": "kubernetes-event", "createdAt": "{{ .GetTimestampMs }}",
    "details": {"message": "{{ .Message }}", "reason": "{{ .Reason }}", "type": "{{ .Type }}",
                "count": "{{ .Count }}", "kind": "{{ .InvolvedObject.Kind }}",
                "name": "{{ .InvolvedObject.Name }}", "namespace": "{{ .Namespace }}",
                "component": "{{ .Source.Component }}", "host": "{{ .Source.Host }}",
                "labels": "{{ toJson .InvolvedObject.Labels }}"}
  })");
  ke::diagnostics problems;
  auto l = ke::tmpl::layout::compile(spec, "layout", problems);
  if (!l) {
    state.SkipWithError("layout did not compile");
    return;
  }
  std::string out;
  std::string error;
  for (auto _ : state) {
    out.clear();
    if (!l->render(r, out, &error)) {
      state.SkipWithError(error.c_str());
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_layout_render);

}  // namespace

BENCHMARK_MAIN();
