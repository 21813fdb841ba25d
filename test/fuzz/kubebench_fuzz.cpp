// libFuzzer target for the kube-bench report parsers (JSON and text); scripts/fuzz builds and
// runs it (build-fuzz/test/kubebench_fuzz).
// Invariants checked: no crash, no exception, errors carry an offset within the body and a
// reason and come before any record is built, accepted reports have one record per check with a
// JSON line. The seed corpus: test/data/kubebench and test/data/fuzz/kubebench.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "kubebench/report.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const ke::kubebench::report_meta meta{"fuzz", "", ""};
  ke::kubebench::parse_options opt;
  opt.max_checks = 10000;
  opt.max_record_bytes = 1u << 20;  // reachable: a long group text repeated by many checks
  std::size_t built = 0;
  opt.records_built = &built;
  for (const bool text : {false, true}) {
    const auto r = text ? ke::kubebench::parse_text(body, meta, opt)
                        : ke::kubebench::parse_json(body, meta, opt);
    if (!r.ok()) {
      if (r.error.offset > size || r.error.reason.empty() || built != 0) {
        std::abort();  // an error carries an offset and a reason, and no record was built
      }
      continue;
    }
    if (built != r.value->records.size()) {
      std::abort();
    }
    built = 0;
    for (const auto& rec : r.value->records) {
      if (rec->line.empty() || rec->line.front() != '{') {
        std::abort();
      }
    }
  }
  return 0;
}
