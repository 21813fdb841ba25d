// Memory of the per-event state the exporter keeps, measured at 100,000 live Events (the issue's
// bound "measured at 100k live events"): heap bytes (glibc mallinfo2 before/after) of
//   - the watch's dedup set (watch/event_filter: one entry per Event seen within the event TTL),
//   - the delivery checkpoint (watch/checkpoint_set; the exporter caps it at maxEntries, 40,000 by
//     default, but it is measured here at 100,000) and its encoded size,
//   - the enrichment cache (watch/lru_cache of involved-object metadata: cacheSize entries, 1024
//     by default, twice: found and gone objects), per entry for a typical Pod's labels,
//     annotations and ownerReferences.
// Reported as counters: bytes per entry and MiB in total. Run: build/bench/memory_bench.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <memory>
#include <string>

#include "core/clock.hpp"
#include "core/go_json.hpp"
#include "core/kube_event.hpp"
#include "watch/checkpoint.hpp"
#include "watch/event_filter.hpp"
#include "watch/lru_cache.hpp"

namespace {

constexpr int live_events = 100000;

std::size_t heap_in_use() { return mallinfo2().uordblks; }

std::string uid(int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-8d2e-4f1a-9c7b-%012x", i, i * 7919);
  return buf;
}

void report(benchmark::State& state, std::size_t bytes, std::size_t entries) {
  state.counters["bytes_per_entry"] = static_cast<double>(bytes) / static_cast<double>(entries);
  state.counters["MiB_total"] = static_cast<double>(bytes) / (1024.0 * 1024.0);
  state.counters["entries"] = static_cast<double>(entries);
}

void BM_DedupSet100k(benchmark::State& state) {
  ke::net::io_context ioc;
  ke::manual_clock clk{ioc.get_executor()};
  for (auto _ : state) {
    const std::size_t before = heap_in_use();
    auto f = std::make_unique<ke::watch::event_filter>(ke::watch::filter_options{}, clk, nullptr);
    nlohmann::json ev = {{"metadata", {{"uid", ""}, {"resourceVersion", "1"}}}, {"count", 1}};
    for (int i = 0; i < live_events; ++i) {
      ev["metadata"]["uid"] = uid(i);
      ev["metadata"]["resourceVersion"] = std::to_string(1000 + i);
      benchmark::DoNotOptimize(f->decide(ke::watch::item_kind::added, false, ev));
    }
    const std::size_t bytes = heap_in_use() - before;
    report(state, bytes, f->size());
  }
}
BENCHMARK(BM_DedupSet100k)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_CheckpointSet100k(benchmark::State& state) {
  for (auto _ : state) {
    const std::size_t before = heap_in_use();
    auto s = std::make_unique<ke::watch::checkpoint_set>();
    for (int i = 0; i < live_events; ++i) {
      s->record(ke::watch::uid_key(uid(i)), 1, 1700000000 + i);
    }
    const std::size_t bytes = heap_in_use() - before;
    report(state, bytes, s->size());
    state.counters["encoded_bytes_per_entry"] =
        static_cast<double>(s->encode().size()) / static_cast<double>(s->size());
  }
}
BENCHMARK(BM_CheckpointSet100k)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_EnrichmentCache(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    const std::size_t before = heap_in_use();
    auto cache = std::make_unique<ke::watch::lru_cache<ke::involved_object_meta>>(n);
    for (std::size_t i = 0; i < n; ++i) {
      ke::involved_object_meta m;
      m.labels = {{"app.kubernetes.io/name", "web"},
                  {"app.kubernetes.io/instance", "shop"},
                  {"pod-template-hash", "7d4b9c8f5d"}};
      m.annotations = {{"kubectl.kubernetes.io/restartedAt", "2024-03-14T09:21:07Z"}};
      m.owner_references = nlohmann::json::array({{{"apiVersion", "apps/v1"},
                                                   {"kind", "ReplicaSet"},
                                                   {"name", "web-7d4b9c8f5d"},
                                                   {"uid", uid(static_cast<int>(i))},
                                                   {"controller", true}}});
      cache->put("v1/pods/shop/web-7d4b9c8f5d-" + std::to_string(i), std::move(m));
    }
    const std::size_t bytes = heap_in_use() - before;
    report(state, bytes, n);
  }
}
BENCHMARK(BM_EnrichmentCache)->Arg(1024)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
