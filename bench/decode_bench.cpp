// Cost of turning one watched core/v1 Event into the line we ship: JSON parse, decode into
// resmoio's EnhancedEvent document, and Go-compatible serialization.
// Reports time per event (the benchmark's Time column), events/s, input bytes/s, and the
// input and output sizes of one event as counters.
#include <benchmark/benchmark.h>

#include <string>

#include "core/go_json.hpp"
#include "core/kube_event.hpp"

namespace {

// A kubelet BackOff warning as the API server sends it in a watch event's object, with
// managedFields (about 1.5 kB, typical for core/v1 events).
constexpr const char* backoff_event = R"json({
  "kind": "Event",
  "apiVersion": "v1",
  "metadata": {
    "name": "web-7d4b9c8f5d-x2k9p.17c0a1b2c3d4e5f6",
    "namespace": "shop",
    "uid": "0b6a3c55-8d2e-4f1a-9c7b-2e4d6f8a1b3c",
    "resourceVersion": "4811952",
    "creationTimestamp": "2024-03-14T09:21:07Z",
    "managedFields": [
      {
        "manager": "kubelet",
        "operation": "Update",
        "apiVersion": "v1",
        "time": "2024-03-14T09:26:41Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": {
          "f:count": {}, "f:firstTimestamp": {}, "f:involvedObject": {}, "f:lastTimestamp": {},
          "f:message": {}, "f:reason": {}, "f:reportingComponent": {}, "f:reportingInstance": {},
          "f:source": {"f:component": {}, "f:host": {}}, "f:type": {}
        }
      }
    ]
  },
  "involvedObject": {
    "kind": "Pod",
    "namespace": "shop",
    "name": "web-7d4b9c8f5d-x2k9p",
    "uid": "5f2c8e1a-3b4d-4c6e-8f9a-1b2c3d4e5f6a",
    "apiVersion": "v1",
    "resourceVersion": "4810077",
    "fieldPath": "spec.containers{web}"
  },
  "reason": "BackOff",
  "message": "Back-off restarting failed container web in pod web-7d4b9c8f5d-x2k9p_shop(5f2c8e1a-3b4d-4c6e-8f9a-1b2c3d4e5f6a)",
  "source": {"component": "kubelet", "host": "node-a1"},
  "firstTimestamp": "2024-03-14T09:21:07Z",
  "lastTimestamp": "2024-03-14T09:26:41Z",
  "count": 5,
  "type": "Warning",
  "eventTime": null,
  "reportingComponent": "kubelet",
  "reportingInstance": "node-a1"
})json";

ke::involved_object_meta pod_meta() {
  ke::involved_object_meta meta;
  meta.labels = {{"app.kubernetes.io/name", "web"},
                 {"app.kubernetes.io/part-of", "shop"},
                 {"pod-template-hash", "7d4b9c8f5d"}};
  meta.annotations = {{"kubectl.kubernetes.io/restartedAt", "2024-03-14T09:00:00Z"}};
  meta.owner_references = nlohmann::json::parse(
      R"([{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d4b9c8f5d",)"
      R"("uid":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","controller":true,"blockOwnerDeletion":true}])");
  return meta;
}

void report_sizes(benchmark::State& state, const std::string& input, const std::string& line) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
  state.counters["input_bytes"] = static_cast<double>(input.size());
  state.counters["line_bytes"] = static_cast<double>(line.size());
}

// JSON text -> nlohmann::json only: the share of the work the decoder cannot avoid.
void bm_parse_json(benchmark::State& state) {
  const std::string input = backoff_event;
  for (auto _ : state) {
    auto j = nlohmann::json::parse(input);
    benchmark::DoNotOptimize(j);
  }
  report_sizes(state, input, {});
}
BENCHMARK(bm_parse_json);

// Parsed event -> record (document + line), no lookup metadata.
void bm_decode(benchmark::State& state) {
  const std::string input = backoff_event;
  const auto event = nlohmann::json::parse(input);
  const ke::kube_event_options opt{.cluster_name = "prod-eu1"};
  std::string line;
  for (auto _ : state) {
    std::string error;
    auto rec = ke::decode_kube_event(event, opt, nullptr, &error);
    benchmark::DoNotOptimize(rec);
    line = rec->line;
  }
  report_sizes(state, input, line);
}
BENCHMARK(bm_decode);

// The whole path for one watched event: parse, decode with looked-up metadata, serialize.
void bm_parse_decode_serialize(benchmark::State& state) {
  const std::string input = backoff_event;
  const ke::kube_event_options opt{.cluster_name = "prod-eu1"};
  const auto meta = pod_meta();
  std::string line;
  for (auto _ : state) {
    std::string error;
    const auto event = nlohmann::json::parse(input);
    auto rec = ke::decode_kube_event(event, opt, &meta, &error);
    benchmark::DoNotOptimize(rec);
    line = rec->line;
  }
  report_sizes(state, input, line);
}
BENCHMARK(bm_parse_decode_serialize);

// Serialization of an already built document (what a layout-less sink re-does, if ever).
void bm_go_json(benchmark::State& state) {
  const std::string input = backoff_event;
  const auto meta = pod_meta();
  std::string error;
  const auto rec = ke::decode_kube_event(nlohmann::json::parse(input), {}, &meta, &error);
  std::string line;
  for (auto _ : state) {
    line = ke::go_json(rec->doc);
    benchmark::DoNotOptimize(line);
  }
  report_sizes(state, line, line);
}
BENCHMARK(bm_go_json);

}  // namespace

BENCHMARK_MAIN();
