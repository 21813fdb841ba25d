#include "kubebench/report.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace ke::kubebench {
namespace {

std::string read(const std::string& name) {
  std::ifstream in(std::string(KE_TEST_DATA) + "/kubebench/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string label(const record& r, const std::string& name) {
  for (const auto& [k, v] : r.stream_labels) {
    if (k == name) {
      return v;
    }
  }
  return "<absent>";
}

report_meta node1() { return {"wk1-k8s", "", ""}; }

// Verifies that the object form (with Totals) gives one record per check and the Totals.
TEST(KubeBenchReport, ParsesResultWithTotals) {
  const auto r = parse_json(read("result.json"), node1(), {});
  ASSERT_TRUE(r.ok()) << r.error.to_string();
  EXPECT_EQ(r.value->records.size(), 3u);
  EXPECT_EQ(r.value->totals, (totals{49, 12, 14, 0}));
  EXPECT_EQ(r.value->source, totals_source::totals);
  EXPECT_EQ(r.value->target, "master,etcd,controlplane");
  EXPECT_EQ(r.value->syntax, "kube-bench run --targets=master,etcd,controlplane");
}

// Verifies that a bare array (--nototals) sums the Controls' total_* fields, not the checks.
TEST(KubeBenchReport, ParsesBareArraySummingControlsTotals) {
  const auto r = parse_json(read("result_no_totals.json"), {"cp-k8s", "master", ""}, {});
  ASSERT_TRUE(r.ok()) << r.error.to_string();
  EXPECT_EQ(r.value->records.size(), 3u);
  EXPECT_EQ(r.value->totals, (totals{49, 12, 14, 0}));
  EXPECT_EQ(r.value->source, totals_source::controls);
  EXPECT_EQ(r.value->target, "master");
  EXPECT_EQ(r.value->syntax, "kube-bench run --targets=master");
}

// Verifies that every design key is in the line, with the fixture's values.
TEST(KubeBenchReport, LineCarriesDesignKeys) {
  const auto r = parse_json(read("result.json"), {"cp-k8s", "master", "kube-bench run"}, {});
  ASSERT_TRUE(r.ok());
  const auto& rec = *r.value->records[0];
  const auto line = nlohmann::json::parse(rec.line);
  for (const char* key : {"kube_bench_node_name",
                          "kube_bench_target",
                          "kube_bench_syntax",
                          "kube_bench_gb_cis_id",
                          "kube_bench_gb_cis_version",
                          "kube_bench_gb_cis_description",
                          "kube_bench_gb_tg_type",
                          "kube_bench_gb_tg_version",
                          "kube_bench_gb_tg_test_major_section",
                          "kube_bench_gb_tg_test_major_description",
                          "kube_bench_gb_tg_test_major_type",
                          "kube_bench_gb_tg_test_major_pass",
                          "kube_bench_gb_tg_test_major_fail",
                          "kube_bench_gb_tg_test_major_warn",
                          "kube_bench_gb_tg_test_major_info",
                          "kube_bench_gb_tg_test_minor_section",
                          "kube_bench_gb_tg_test_minor_description",
                          "kube_bench_gb_tg_test_minor_audit",
                          "kube_bench_gb_tg_test_minor_audit_env",
                          "kube_bench_gb_tg_test_minor_audit_conf",
                          "kube_bench_gb_tg_test_minor_type",
                          "kube_bench_gb_tg_test_minor_remediation",
                          "kube_bench_gb_tg_test_minor_test_info",
                          "kube_bench_gb_tg_test_minor_status",
                          "kube_bench_gb_tg_test_minor_actual_value",
                          "kube_bench_gb_tg_test_minor_scored",
                          "kube_bench_gb_tg_test_minor_is_multiple",
                          "kube_bench_gb_tg_test_minor_expected_result"}) {
    EXPECT_TRUE(line.contains(key)) << key;
  }
  EXPECT_EQ(line["kube_bench_gb_cis_id"], "1");
  EXPECT_EQ(line["kube_bench_gb_cis_version"], "1.5");
  EXPECT_EQ(line["kube_bench_gb_tg_type"], "master");
  EXPECT_EQ(line["kube_bench_gb_tg_test_major_section"], "1.1");
  EXPECT_EQ(line["kube_bench_gb_tg_test_major_pass"], 15);
  EXPECT_EQ(line["kube_bench_gb_tg_test_minor_section"], "1.1.1");
  EXPECT_EQ(line["kube_bench_gb_tg_test_minor_status"], "PASS");
  EXPECT_EQ(line["kube_bench_gb_tg_test_minor_actual_value"], "permissions=600\n");
  EXPECT_EQ(line["kube_bench_gb_tg_test_minor_scored"], true);
  EXPECT_EQ(line["kube_bench_gb_tg_test_minor_is_multiple"], false);
  EXPECT_EQ(line["kube_bench_node_name"], "cp-k8s");
  EXPECT_EQ(line["kube_bench_syntax"], "kube-bench run");
}

// Verifies the routing fields and stream labels of a bench record.
TEST(KubeBenchReport, RecordRoutingFieldsAndStreamLabels) {
  parse_options opt;
  opt.stream_labels = {{"job", "bench"}};
  opt.time_ns = 1000;
  opt.source_position_prefix = "ingest:7";
  const auto r = parse_json(read("result.json"), node1(), opt);
  ASSERT_TRUE(r.ok());
  const auto& warn = *r.value->records[2];
  EXPECT_EQ(warn.source, record_source::kube_bench);
  EXPECT_EQ(warn.kind, "KubeBench");
  EXPECT_EQ(warn.reason, "WARN");
  EXPECT_EQ(warn.type, "Warning");
  EXPECT_EQ(warn.name, "3.1.1");
  EXPECT_EQ(warn.host, "wk1-k8s");
  EXPECT_EQ(warn.message.substr(0, 6), "Client");
  EXPECT_EQ(warn.time_ns, 1002);
  EXPECT_EQ(warn.source_position, "ingest:7#2");
  EXPECT_EQ(label(warn, "job"), "bench");
  EXPECT_EQ(label(warn, "kube_bench_node_name"), "wk1-k8s");
  EXPECT_EQ(label(warn, "kube_bench_target"), "master,etcd,controlplane");
  EXPECT_EQ(label(warn, "status"), "WARN");
  EXPECT_EQ(r.value->records[0]->type, "Normal");
}

// Verifies that compact output with reordered keys, missing fields and newer fields parses.
TEST(KubeBenchReport, FieldsInAnyOrderAllOptional) {
  const std::string body =
      R"({"Totals":{"total_fail":1},"Controls":[{"tests":[{"results":[{"status":"FAIL",)"
      R"("IsMultiple":true,"AuditEnv":"x","test_info":["a","b"],"reason":"r"},{}]},{}]},)"
      R"({"node_type":"node","detected_version":"1.31"},7,null]})";
  const auto r = parse_json(body, {"n", "", ""}, {});
  ASSERT_TRUE(r.ok()) << r.error.to_string();
  ASSERT_EQ(r.value->records.size(), 2u);
  EXPECT_EQ(r.value->totals, (totals{0, 1, 0, 0}));
  EXPECT_EQ(r.value->target, "node");
  const auto line = nlohmann::json::parse(r.value->records[0]->line);
  EXPECT_EQ(line["kube_bench_gb_tg_test_minor_is_multiple"], true);
  EXPECT_EQ(line["kube_bench_gb_tg_test_minor_audit_env"], "x");
  EXPECT_EQ(line["kube_bench_gb_tg_test_minor_test_info"], "a\nb");
  EXPECT_EQ(line["kube_bench_gb_tg_test_minor_reason"], "r");
}

// Verifies that without any totals the checks are counted.
TEST(KubeBenchReport, CountsChecksWhenNoTotals) {
  const std::string body =
      R"([{"node_type":"node","tests":[{"results":[{"status":"PASS"},{"status":"FAIL"},)"
      R"({"status":"FAIL"},{"status":"INFO"}]}]}])";
  const auto r = parse_json(body, {"n", "", ""}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value->totals, (totals{1, 2, 0, 1}));
  EXPECT_EQ(r.value->source, totals_source::checks);
}

// Verifies that malformed JSON is reported with the byte offset of the problem.
TEST(KubeBenchReport, MalformedJsonHasOffset) {
  const auto r = parse_json(R"({"Controls":[{"id": x}]})", node1(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.offset, 20u);
  EXPECT_NE(r.error.reason.find("malformed JSON"), std::string::npos);
  EXPECT_EQ(r.error.to_string().rfind("at byte 20: ", 0), 0u);
}

// Verifies that a truncated body is malformed at its end.
TEST(KubeBenchReport, TruncatedJsonHasOffsetAtEnd) {
  const auto body = read("result.json").substr(0, 1000);
  const auto r = parse_json(body, node1(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.offset, 1000u);
}

// Verifies that deep nesting is rejected before parsing, with its offset.
TEST(KubeBenchReport, DeepNestingRejected) {
  const std::string body = std::string(100000, '[') + std::string(100000, ']');
  const auto r = parse_json(body, node1(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.offset, 32u);
  EXPECT_NE(r.error.reason.find("nested deeper"), std::string::npos);
  EXPECT_FALSE(json_too_deep(R"({"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"["})", 3));
}

// Verifies that JSON that is not a report gets a clear error.
TEST(KubeBenchReport, NotAReport) {
  for (const char* body : {"42", "\"x\"", "{}", R"({"Controls":5})"}) {
    const auto r = parse_json(body, node1(), {});
    EXPECT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error.offset, 0u);
  }
}

// Verifies that a report over max_checks is rejected.
TEST(KubeBenchReport, TooManyChecks) {
  parse_options opt;
  opt.max_checks = 2;
  const auto r = parse_json(read("result.json"), node1(), opt);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error.reason.find("more than 2 checks"), std::string::npos);
}

// Verifies that the plain-text output of a 4-target run parses: checks, targets, remediations,
// the total summary, and nothing left over.
TEST(KubeBenchReport, ParsesTextOutput) {
  const auto r = parse_text(read("Expected_output.data"), {"kind", "", ""}, {});
  ASSERT_TRUE(r.ok()) << r.error.to_string();
  EXPECT_EQ(r.value->records.size(), 123u);
  EXPECT_EQ(r.value->totals, (totals{67, 11, 45, 0}));
  EXPECT_EQ(r.value->source, totals_source::totals);
  EXPECT_EQ(r.value->target, "master,etcd,controlplane,node,policies");
  EXPECT_EQ(r.value->unparsed_count, 0u);
  const auto first = nlohmann::json::parse(r.value->records[0]->line);
  EXPECT_EQ(first["kube_bench_gb_cis_id"], "1");
  EXPECT_EQ(first["kube_bench_gb_cis_description"], "Master Node Security Configuration");
  EXPECT_EQ(first["kube_bench_gb_tg_type"], "master");
  EXPECT_EQ(first["kube_bench_gb_tg_test_major_section"], "1.1");
  EXPECT_EQ(first["kube_bench_gb_tg_test_minor_section"], "1.1.1");
  // 1.1.9 is a WARN with a two-paragraph-free remediation.
  bool found = false;
  for (const auto& rec : r.value->records) {
    if (rec->name == "1.1.9") {
      found = true;
      const auto line = nlohmann::json::parse(rec->line);
      EXPECT_EQ(line["kube_bench_gb_tg_test_minor_remediation"],
                "Run the below command (based on the file location on your system) on the "
                "master node.\nFor example,\nchmod 644 <path/to/cni/files>");
    }
  }
  EXPECT_TRUE(found);
}

// Verifies that text without checks is an error, and stray lines are reported, not guessed.
TEST(KubeBenchReport, TextBestEffort) {
  EXPECT_FALSE(parse_text("hello\nworld\n", node1(), {}).ok());
  const auto r = parse_text("\x1b[32m[PASS]\x1b[0m 4.1.1 ok\ngarbage here\n[FAIL] 4.1.2 bad\n",
                            {"n", "node", ""}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value->records.size(), 2u);
  EXPECT_EQ(r.value->totals, (totals{1, 1, 0, 0}));
  EXPECT_EQ(r.value->unparsed_count, 1u);
  ASSERT_EQ(r.value->unparsed_lines.size(), 1u);
  EXPECT_EQ(r.value->unparsed_lines[0], 2u);
}

// Verifies label value checks.
TEST(KubeBenchReport, LabelValueChecks) {
  EXPECT_FALSE(check_label_value("node", "wk1-k8s", 253));
  EXPECT_TRUE(check_label_value("node", std::string(254, 'a'), 253));
  EXPECT_TRUE(check_label_value("node", "a\nb", 253));
  EXPECT_TRUE(check_label_value("node", "\xff", 253));
}

}  // namespace
}  // namespace ke::kubebench

namespace ke::kubebench {
namespace {

// Verifies, as a deterministic stand-in for the libFuzzer target (test/fuzz), that every
// truncation of the samples and single-byte corruptions parse or fail cleanly with an offset
// within the body.
TEST(KubeBenchReport, TruncationsAndCorruptionsFailCleanly) {
  for (const char* name : {"result.json", "result_no_totals.json", "Expected_output.data"}) {
    const auto body = read(name);
    for (std::size_t n = 0; n < body.size(); n += 97) {
      for (const bool text : {false, true}) {
        const auto view = std::string_view(body).substr(0, n);
        const auto r = text ? parse_text(view, node1(), {}) : parse_json(view, node1(), {});
        if (!r.ok()) {
          EXPECT_LE(r.error.offset, n) << name << " cut at " << n;
        }
      }
      std::string bad = body;
      bad[n] = static_cast<char>(bad[n] ^ 0x5a);
      const auto r = parse_json(bad, node1(), {});
      if (!r.ok()) {
        EXPECT_LE(r.error.offset, bad.size());
      }
    }
  }
}

}  // namespace
}  // namespace ke::kubebench
