// Encode + compress throughput of Loki push bodies: ~1.2 KB Kubernetes event lines in 1 MiB
// batches (the default batchSize), as protobuf + snappy (the default) and JSON (+ gzip).
// Reports entries/s and MB/s of line bytes (counters "entries" and "bytes" as rates).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "sinks/loki/batcher.hpp"
#include "sinks/loki/encoder.hpp"
#include "sinks/loki/labels.hpp"

namespace {

using namespace ke::sinks::loki;

// A resmoio-style enhanced event of about 1.2 KB, varied like real events (names, uids, times).
std::string event_line(int i, std::mt19937& rng) {
  static const char* reasons[] = {"BackOff", "Pulled",    "Created",          "Started",
                                  "Killing", "Unhealthy", "FailedScheduling", "SuccessfulCreate"};
  static const char* namespaces[] = {"default", "kube-system", "payments", "web", "monitoring"};
  char uid[48];
  std::snprintf(uid, sizeof uid, "%08x-%04x-%04x-%04x-%08x%04x", static_cast<unsigned>(rng()),
                static_cast<unsigned>(rng() & 0xffff), static_cast<unsigned>(rng() & 0xffff),
                static_cast<unsigned>(rng() & 0xffff), static_cast<unsigned>(rng()),
                static_cast<unsigned>(rng() & 0xffff));
  const std::string ns = namespaces[rng() % 5];
  const std::string reason = reasons[rng() % 8];
  const std::string pod = "web-" + std::to_string(rng() % 100000) + "-" + std::to_string(i % 97);
  nlohmann::ordered_json doc = {
      {"metadata",
       {{"name", pod + "." + std::to_string(rng())},
        {"namespace", ns},
        {"uid", uid},
        {"resourceVersion", std::to_string(1000000 + i)},
        {"creationTimestamp", "2024-05-01T12:00:00Z"}}},
      {"reason", reason},
      {"message",
       "Back-off restarting failed container app in pod " + pod + "_" + ns + "(" + uid + ")"},
      {"source", {{"component", "kubelet"}, {"host", "node-" + std::to_string(rng() % 50)}}},
      {"firstTimestamp", "2024-05-01T12:00:00Z"},
      {"lastTimestamp", "2024-05-01T12:03:00Z"},
      {"count", rng() % 50},
      {"type", "Warning"},
      {"eventTime", nullptr},
      {"reportingComponent", "kubelet"},
      {"reportingInstance", "node-7"},
      {"clusterName", "prod-eu-1"},
      {"involvedObject",
       {{"kind", "Pod"},
        {"namespace", ns},
        {"name", pod},
        {"uid", uid},
        {"apiVersion", "v1"},
        {"resourceVersion", std::to_string(2000000 + i)},
        {"fieldPath", "spec.containers{app}"},
        {"labels", {{"app", "web"}, {"pod-template-hash", "7d9f8c6b5"}, {"team", "checkout"}}},
        {"annotations",
         {{"kubectl.kubernetes.io/restartedAt", "2024-04-30T08:00:00Z"},
          {"deployment.kubernetes.io/revision", std::to_string(rng() % 20)}}},
        {"ownerReferences",
         {{{"apiVersion", "apps/v1"},
           {"kind", "ReplicaSet"},
           {"name", "web-7d9f8c6b5"},
           {"uid", uid},
           {"controller", true}}}},
        {"deleted", false}}}};
  return doc.dump();
}

struct fixture_data {
  std::vector<std::pair<ke::string_pairs, entry>> entries;
  std::size_t line_bytes = 0;
};

// One 1 MiB batch worth of entries, spread over namespace/reason streams like real events.
const fixture_data& data() {
  static const fixture_data d = [] {
    fixture_data out;
    std::mt19937 rng(42);
    for (int i = 0; out.line_bytes < (1u << 20); ++i) {
      entry e;
      e.time_ns = 1'714'564'800'000'000'000 + static_cast<std::int64_t>(i) * 1'000'000;
      e.line = event_line(i, rng);
      out.line_bytes += e.line.size();
      ke::string_pairs labels = {{"job", "kubernetes-event"},
                                 {"namespace", std::to_string(rng() % 5)},
                                 {"type", (rng() % 4) ? "Normal" : "Warning"}};
      out.entries.emplace_back(std::move(labels), std::move(e));
    }
    return out;
  }();
  return d;
}

// Builds the batch the sink would (batcher) and encodes it, per iteration.
template <class Encode>
void run(benchmark::State& state, Encode encode) {
  const auto& d = data();
  std::size_t body = 0;
  for (auto _ : state) {
    batcher b(1u << 21, std::chrono::milliseconds(1000));
    for (const auto& [labels, e] : d.entries) {
      b.add(labels, e, {}, batcher::clock::time_point{});
    }
    batch out = b.flush();
    payload p = encode(out);
    body = p.body.size();
    benchmark::DoNotOptimize(p.body.data());
  }
  state.counters["entries"] = benchmark::Counter(static_cast<double>(d.entries.size()),
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes"] = benchmark::Counter(static_cast<double>(d.line_bytes),
                                               benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::OneK::kIs1000);
  state.counters["batch_entries"] = static_cast<double>(d.entries.size());
  state.counters["ratio"] = static_cast<double>(d.line_bytes) / static_cast<double>(body);
}

void protobuf_snappy(benchmark::State& state) {
  run(state, [](batch& b) { return encode_protobuf(b); });
}
void json_plain(benchmark::State& state) {
  run(state, [](batch& b) { return encode_json(b, false); });
}
void json_gzip(benchmark::State& state) {
  run(state, [](batch& b) { return encode_json(b, true); });
}

// Label formatting alone (per entry on the hot path).
void labels_format(benchmark::State& state) {
  const ke::string_pairs labels = {{"job", "kubernetes-event"},
                                   {"namespace", "payments"},
                                   {"reason", "BackOff"},
                                   {"type", "Warning"}};
  for (auto _ : state) {
    auto s = format_labels(labels);
    benchmark::DoNotOptimize(s.data());
  }
}

BENCHMARK(protobuf_snappy)->Unit(benchmark::kMillisecond);
BENCHMARK(json_plain)->Unit(benchmark::kMillisecond);
BENCHMARK(json_gzip)->Unit(benchmark::kMillisecond);
BENCHMARK(labels_format);

}  // namespace

BENCHMARK_MAIN();
