// kube-bench reports -> records (one per check) and totals (for the kube_bench_info gauges).
//
// Pure: no I/O, no Beast. The line of each record is a JSON object carrying the keys of the
// monitoring design (../shared/reference/monitoring-design.md, "Logs: one entry per check"):
//   kube_bench_node_name, kube_bench_target, kube_bench_syntax,
//   kube_bench_gb_cis_id|cis_version|cis_description|tg_type|tg_version            (Controls)
//   kube_bench_gb_tg_test_major_section|description|type|pass|fail|warn|info      (group)
//   kube_bench_gb_tg_test_minor_section|description|audit|audit_env|audit_conf|type|
//     remediation|test_info|status|actual_value|scored|is_multiple|expected_result (check)
// The design spells the check's "scored" key "scroed"; we write kube_bench_gb_tg_test_minor_scored.
// test_info (a list in kube-bench) is joined with "\n" so that Loki's `| json` extracts it.
//
// Routing fields of a bench record (for route rules): kind "KubeBench", reason = the check's
// status (PASS|FAIL|WARN|INFO), type "Warning" for FAIL/WARN else "Normal", message = the check
// text (test_desc), name = the check number (test_number), host = the node name, component
// "kube-bench", api_version "kube-bench/v1", namespace "". Stream labels: the configured
// kubeBench.streamLabels (default job=kube-bench) plus kube_bench_node_name, kube_bench_target
// and status.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/record.hpp"

namespace ke::kubebench {

struct totals {
  std::int64_t pass = 0;
  std::int64_t fail = 0;
  std::int64_t warn = 0;
  std::int64_t info = 0;
  bool operator==(const totals&) const = default;
};

// Where the report's totals came from.
enum class totals_source {
  totals,    // the report's "Totals" object (or the text "== Summary total ==")
  controls,  // the sum of each Controls' total_* (bare array) / of the text summaries per target
  checks,    // counted from the checks (no totals anywhere in the report)
};

// What the caller knows about the report (query parameters / headers of the request).
struct report_meta {
  std::string node_name;  // kube_bench_node_name
  std::string target;     // "" = from the report's node_type(s)
  std::string syntax;     // "" = "kube-bench run --targets=<target>"
};

// Work and memory: the parsers count the checks and the text their records would carry while
// reading the report, and build records only once the whole report is within both limits
// below; a report over a limit is refused (parse_error::too_large) before any record exists.
// So one parse holds at most: the JSON DOM of the body (or the text's lines, one at a time),
// plus, per check, its pending parts (<= max_record_bytes of text in all) and then its record:
// about 2.5 KiB of keys and fields plus its text twice (document and line, JSON escaping at
// most 6x), i.e. roughly max_checks * 2.5 KiB + 14 * max_record_bytes at the very worst.
struct parse_options {
  string_pairs stream_labels = {{"job", "kube-bench"}};  // kubeBench.streamLabels
  std::size_t max_depth = 32;       // deeper JSON nesting is rejected (kube-bench uses 5)
  std::size_t max_checks = 100000;  // more checks than this are rejected (ingest.maxChecks)
  // The text copied into the records (each check's strings plus those of its Controls and
  // group, which every check of the group repeats), summed over the report. A 1 MiB group
  // description over 10,000 checks would be 10 GiB of records; real reports carry ~1 MiB.
  std::size_t max_record_bytes = 64u << 20;
  std::int64_t time_ns = 0;            // record time (receive time); check i gets time_ns + i
  std::string source_position_prefix;  // record::source_position = prefix + "#" + check index
  // When set, incremented once per record built (observability for tests and callers).
  std::size_t* records_built = nullptr;
};

struct parse_error {
  std::size_t offset = 0;  // byte offset in the body where the problem was found
  std::string reason;
  // The report is well formed but over max_checks or max_record_bytes (no record was built): a
  // caller may answer 413 rather than 400.
  bool too_large = false;
  std::string to_string() const;  // "at byte 17: <reason>"
};

struct report {
  std::vector<record_ptr> records;  // one per check, in report order
  ke::kubebench::totals totals;
  totals_source source = totals_source::checks;
  std::string node_name;
  std::string target;  // resolved (meta.target, else the distinct node_types joined by ",")
  std::string syntax;  // resolved
  // Text format only: lines that were neither a check, a header, a remediation nor a summary
  // (1-based line numbers, at most 20 kept) and how many there were.
  std::vector<std::size_t> unparsed_lines;
  std::size_t unparsed_count = 0;
};

struct parse_result {
  std::optional<report> value;
  parse_error error;  // when !value
  bool ok() const { return value.has_value(); }
};

// `kube-bench run --json` output: {"Controls":[..],"Totals":{..}} or a bare array of Controls,
// any field order, every field optional (wrong types are treated as absent). Every number in
// the body must lie in the 64-bit integer range [-2^63, 2^63) (kube-bench writes integer
// counts): 1e400, 1e-400 (out of double range) or 123456789012345678901234567890 are errors at
// the number's byte offset, as is a sum of Controls' total_* that leaves that range.
[[nodiscard]] parse_result parse_json(std::string_view body, const report_meta& meta,
                                      const parse_options& opt);

// The plain-text output ("[FAIL] 4.1.1 ...", "== Remediations node ==", "== Summary node ==",
// "N checks PASS"), best effort; ANSI colour codes are ignored. Fails only when no check at all
// could be read; unreadable lines are reported in report::unparsed_lines.
[[nodiscard]] parse_result parse_text(std::string_view body, const report_meta& meta,
                                      const parse_options& opt);

// The byte offset of the first place JSON text nests deeper than max_depth, if any (strings
// are skipped correctly). Cheap pre-check so that hostile nesting never reaches the parser.
std::optional<std::size_t> json_too_deep(std::string_view body, std::size_t max_depth);

// The first number token (outside strings) that is out of range: an integer outside int64, a
// number with a fraction or exponent that overflows or underflows a double, or whose value is
// outside [-2^63, 2^63). Malformed tokens are left to the JSON parser. Cheap pre-check, so that
// no out-of-range number reaches nlohmann (which throws out_of_range for 1e400) nor a
// float->int conversion.
std::optional<parse_error> json_bad_number(std::string_view body);

// Label values: printable UTF-8, at most `max` bytes. Returns a reason when invalid.
std::optional<std::string> check_label_value(std::string_view what, std::string_view value,
                                             std::size_t max);

}  // namespace ke::kubebench
