// libFuzzer target for the kube-bench report parsers (JSON and text). Built only with clang
// (-DKE_FUZZ=ON): cmake -DCMAKE_CXX_COMPILER=clang++ -DKE_FUZZ=ON; run
//   build/test/kubebench_fuzz test/data/kubebench
// Invariants checked: no crash, errors carry an offset within the body, accepted reports have
// one record per check with a JSON line.
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
  for (const bool text : {false, true}) {
    const auto r = text ? ke::kubebench::parse_text(body, meta, opt)
                        : ke::kubebench::parse_json(body, meta, opt);
    if (!r.ok()) {
      if (r.error.offset > size || r.error.reason.empty()) {
        std::abort();
      }
      continue;
    }
    for (const auto& rec : r.value->records) {
      if (rec->line.empty() || rec->line.front() != '{') {
        std::abort();
      }
    }
  }
  return 0;
}
