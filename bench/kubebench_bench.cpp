// Benchmarks the kube-bench ingest: parsing a 500-check report into records, and the whole
// POST /api/v1/kube-bench handler (auth none, records handed to a no-op pipeline, gauges).
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>
#include <string>

#include "kubebench/gauges.hpp"
#include "kubebench/ingest.hpp"
#include "kubebench/report.hpp"

namespace {

namespace net = ke::net;
namespace http = ke::http;

std::string report_json(int checks) {
  nlohmann::json results = nlohmann::json::array();
  const char* states[] = {"PASS", "FAIL", "WARN", "INFO"};
  for (int i = 0; i < checks; ++i) {
    results.push_back(
        {{"test_number", "4." + std::to_string(i / 10) + "." + std::to_string(i % 10)},
         {"test_desc",
          "Ensure that the kubelet service file permissions are set to "
          "600 or more restrictive (Automated)"},
         {"audit",
          "/bin/sh -c 'if test -e /etc/systemd/system/kubelet.service.d; "
          "then stat -c permissions=%a $kubeletsvc; fi'"},
         {"AuditEnv", ""},
         {"AuditConfig", ""},
         {"type", ""},
         {"remediation",
          "Run the below command (based on the file location on "
          "your system) on each worker node.\nchmod 600 x\n"},
         {"test_info", {"Run the below command on each worker node."}},
         {"status", states[i % 4]},
         {"actual_value", "permissions=644"},
         {"scored", true},
         {"IsMultiple", false},
         {"expected_result", "'644' is equal to '600'"}});
  }
  nlohmann::json doc = {
      {"Controls",
       {{{"id", "4"},
         {"version", "cis-1.10"},
         {"detected_version", "1.31"},
         {"text", "Worker Node Security Configuration"},
         {"node_type", "node"},
         {"tests",
          {{{"section", "4.1"},
            {"desc", "Worker Node Configuration Files"},
            {"pass", 1},
            {"fail", 1},
            {"warn", 1},
            {"info", 1},
            {"results", results}}}}}}},
      {"Totals",
       {{"total_pass", 125}, {"total_fail", 125}, {"total_warn", 125}, {"total_info", 125}}}};
  return doc.dump();
}

void BM_ParseReport500(benchmark::State& state) {
  const auto body = report_json(500);
  const ke::kubebench::report_meta meta{"wk1-k8s", "node", ""};
  for (auto _ : state) {
    auto r = ke::kubebench::parse_json(body, meta, {});
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["checks/s"] = benchmark::Counter(static_cast<double>(state.iterations() * 500),
                                                  benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ParseReport500)->Unit(benchmark::kMillisecond);

void BM_IngestHandler(benchmark::State& state) {
  const auto body = report_json(static_cast<int>(state.range(0)));
  net::io_context ioc;
  ke::metrics m("event_exporter_");
  ke::kubebench::gauges g(m.registry());
  ke::kubebench::ingest_options o;
  o.mode = ke::kubebench::auth_mode::none;
  ke::kubebench::ingest in(
      o, [](const std::vector<ke::record_ptr>&) { return ke::pipeline::admission::accepted; }, g,
      m);
  ke::server::request req{http::verb::post, "/api/v1/kube-bench?node=wk1-k8s&target=node", 11};
  req.set(http::field::content_type, "application/json");
  req.body() = body;
  for (auto _ : state) {
    auto fut = net::co_spawn(ioc, in.handle(req), net::use_future);
    ioc.restart();
    ioc.run();
    auto res = fut.get();
    if (res.result() != http::status::accepted) {
      state.SkipWithError("not accepted");
    }
  }
  state.counters["reports/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_IngestHandler)->Arg(3)->Arg(500)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
