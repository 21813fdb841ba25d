// Limits of the kube-bench report parsers (issue 11): over-limit reports are refused after the
// checks are counted and before any record is built; out-of-range numbers are clean errors at
// their byte offset, never an exception or a float->int conversion out of range.
#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "kubebench/report.hpp"

namespace ke::kubebench {
namespace {

const report_meta meta{"node-1", "", ""};
// Every record also repeats the node name, target (here none: no node_type) and syntax.
const report_meta small_meta{"n", "", "s"};
const std::size_t repeated = 1 + 1;

// {"Controls":[{"tests":[{"desc":<desc>,"results":[{},{},...]}]}]}: `checks` empty checks.
std::string empty_checks(std::size_t checks, const std::string& desc = "") {
  std::string body = R"({"Controls":[{"tests":[{"desc":")" + desc + R"(","results":[)";
  for (std::size_t i = 0; i < checks; ++i) {
    body += i == 0 ? "{}" : ",{}";
  }
  return body + "]}]}]}";
}

// `checks` lines "[PASS] 1.<i> x" after a Controls and a group line carrying `desc`.
std::string text_checks(std::size_t checks, const std::string& desc = "d") {
  std::string body = "[INFO] 1 " + desc + "\n[INFO] 1.1 " + desc + "\n";
  for (std::size_t i = 0; i < checks; ++i) {
    body += "[PASS] 1.1." + std::to_string(i) + " x\n";
  }
  return body;
}

// Verifies that a ~300 KB report with 100,000 empty checks is refused at maxChecks 99,999
// (well formed, so too_large) without building a single record.
TEST(KubeBenchReportLimits, TooManyChecksRefusedBeforeAnyRecordIsBuilt) {
  const std::size_t checks = 100000;
  const std::string body = empty_checks(checks);
  ASSERT_GT(body.size(), 3 * checks);
  parse_options opt;
  opt.max_checks = checks - 1;
  std::size_t built = 0;
  opt.records_built = &built;
  const auto r = parse_json(body, meta, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error.too_large);
  EXPECT_NE(r.error.reason.find("more than 99999 checks"), std::string::npos) << r.error.reason;
  // The check past the limit is the last one: index checks - 1.
  EXPECT_NE(r.error.reason.find("results[99999]"), std::string::npos) << r.error.reason;
  EXPECT_EQ(built, 0u);
}

// Verifies that at the limit every check becomes exactly one record (the counter counts).
TEST(KubeBenchReportLimits, ChecksAtTheLimitAreAllBuilt) {
  const std::size_t checks = 2000;
  parse_options opt;
  opt.max_checks = checks;
  std::size_t built = 0;
  opt.records_built = &built;
  const auto r = parse_json(empty_checks(checks), meta, opt);
  ASSERT_TRUE(r.ok()) << r.error.to_string();
  EXPECT_EQ(r.value->records.size(), checks);
  EXPECT_EQ(built, checks);
}

// Verifies that a group description repeated by every check counts against max_record_bytes:
// checks * desc bytes one over the limit is refused with no record built, at the limit accepted.
TEST(KubeBenchReportLimits, RepeatedGroupTextCountsAgainstRecordBytes) {
  const std::size_t checks = 50;
  const std::string desc(1000, 'x');
  const std::string body = empty_checks(checks, desc);
  parse_options opt;
  std::size_t built = 0;
  opt.records_built = &built;
  opt.max_record_bytes = checks * desc.size() - 1;
  auto r = parse_json(body, small_meta, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error.too_large);
  EXPECT_NE(r.error.reason.find("more than " + std::to_string(opt.max_record_bytes) + " bytes"),
            std::string::npos)
      << r.error.reason;
  EXPECT_EQ(built, 0u);

  opt.max_record_bytes = checks * (desc.size() + repeated) - 1;
  r = parse_json(body, small_meta, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error.reason.find("node name, target and syntax"), std::string::npos);
  EXPECT_EQ(built, 0u);
  opt.max_record_bytes = checks * (desc.size() + repeated);
  r = parse_json(body, small_meta, opt);
  ASSERT_TRUE(r.ok()) << r.error.to_string();
  EXPECT_EQ(built, checks);
}

// Verifies the same two limits for the text format, with the offset of the line over the limit.
TEST(KubeBenchReportLimits, TextLimitsRefusedBeforeAnyRecordIsBuilt) {
  const std::size_t checks = 30;
  const std::string body = text_checks(checks);
  parse_options opt;
  std::size_t built = 0;
  opt.records_built = &built;
  opt.max_checks = checks - 1;
  auto r = parse_text(body, meta, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error.too_large);
  EXPECT_EQ(r.error.offset, body.find("[PASS] 1.1." + std::to_string(checks - 1)));
  EXPECT_EQ(built, 0u);

  // Each check carries its Controls' and group's text ("1" + desc, "1.1" + desc), its number
  // ("1.1.<i>"), its text ("x") and status ("PASS").
  const std::string desc(500, 'd');
  const std::string big = text_checks(checks, desc);
  std::size_t text = 0;
  for (std::size_t i = 0; i < checks; ++i) {
    text += (1 + desc.size()) + (3 + desc.size()) + ("1.1." + std::to_string(i)).size() + 1 + 4;
  }
  opt.max_checks = checks;
  opt.max_record_bytes = text - 1;
  r = parse_text(big, small_meta, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error.too_large);
  EXPECT_EQ(r.error.offset, big.find("[PASS] 1.1." + std::to_string(checks - 1)));
  EXPECT_EQ(built, 0u);
  opt.max_record_bytes = text + checks * repeated;
  r = parse_text(big, small_meta, opt);
  ASSERT_TRUE(r.ok()) << r.error.to_string();
  EXPECT_EQ(built, checks);
}

// Verifies that many distinct node types (the target every record repeats) count too.
TEST(KubeBenchReportLimits, LongTargetCountsAgainstRecordBytes) {
  std::string body = "[";
  const std::size_t controls = 20;
  for (std::size_t i = 0; i < controls; ++i) {
    body += (i == 0 ? "" : ",") + std::string(R"({"node_type":")") + std::string(100, 'a') +
            std::to_string(i) + R"(","tests":[{"results":[{}]}]})";
  }
  body += "]";
  parse_options opt;
  std::size_t built = 0;
  opt.records_built = &built;
  opt.max_record_bytes = 20000;  // node types: ~2 KB; target ~2 KB repeated 3x by 20 records
  const auto r = parse_json(body, meta, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error.too_large);
  EXPECT_EQ(built, 0u);
}

struct number_case {
  const char* field;  // where the token goes
  std::string body;   // with @ for the token
};

std::vector<number_case> number_fields() {
  return {
      {"Totals.total_pass", R"({"Controls":[],"Totals":{"total_pass":@,"total_fail":0}})"},
      {"Totals.total_info", R"({"Controls":[],"Totals":{"total_warn":1,"total_info":@}})"},
      {"Controls.total_fail", R"([{"total_fail":@,"tests":[]}])"},
      {"group pass", R"({"Controls":[{"tests":[{"pass":@,"results":[{}]}]}]})"},
      {"test_number", R"({"Controls":[{"tests":[{"results":[{"test_number":@}]}]}]})"},
      {"scored", R"({"Controls":[{"tests":[{"results":[{"scored":@,"status":"PASS"}]}]}]})"},
      {"unknown key", R"({"Controls":[],"Totals":{},"extra":[1,2,@]})"},
  };
}

// Verifies that numbers out of range in any field are a clean error at the number's offset.
TEST(KubeBenchReportLimits, OutOfRangeNumbersAreErrorsAtTheirOffset) {
  for (const std::string token : {"1e400", "-1e400", "1e-400", "123456789012345678901234567890",
                                  "-123456789012345678901234567890", "9223372036854775808",
                                  "18446744073709551616", "9.3e18", "-1e19", "1E+999"}) {
    for (const auto& c : number_fields()) {
      std::string body = c.body;
      const std::size_t at = body.find('@');
      body.replace(at, 1, token);
      const auto r = parse_json(body, meta, {});
      ASSERT_FALSE(r.ok()) << c.field << " = " << token;
      EXPECT_EQ(r.error.offset, at) << c.field << " = " << token << ": " << r.error.reason;
      EXPECT_NE(r.error.reason.find(token.substr(0, 10)), std::string::npos) << r.error.reason;
      EXPECT_FALSE(r.error.too_large);
    }
  }
}

// Verifies that numbers at the edges of the range are accepted and read as such.
TEST(KubeBenchReportLimits, NumbersAtTheRangeEdgesAreAccepted) {
  const auto r =
      parse_json(R"({"Controls":[],"Totals":{"total_pass":9223372036854775807,)"
                 R"("total_fail":-9223372036854775808,"total_warn":-9.2e18,"total_info":2.9}})",
                 meta, {});
  ASSERT_TRUE(r.ok()) << r.error.to_string();
  EXPECT_EQ(r.value->totals.pass, INT64_MAX);
  EXPECT_EQ(r.value->totals.fail, INT64_MIN);
  EXPECT_EQ(r.value->totals.warn, -9200000000000000000);
  EXPECT_EQ(r.value->totals.info, 2);  // truncated toward zero, as before
}

// Verifies that numbers inside strings are text, whatever they look like.
TEST(KubeBenchReportLimits, NumbersInStringsAreText) {
  const auto r = parse_json(
      R"({"Controls":[{"tests":[{"results":[{"test_number":"1e400","actual_value":"\"1e-400"}]}]}]})",
      meta, {});
  ASSERT_TRUE(r.ok()) << r.error.to_string();
  ASSERT_EQ(r.value->records.size(), 1u);
  EXPECT_EQ(r.value->records[0]->name, "1e400");
}

// Verifies that Controls totals whose sum leaves int64 are an error naming the key.
TEST(KubeBenchReportLimits, ControlsTotalsSumOverflowNamesTheKey) {
  const auto r = parse_json(
      R"([{"total_pass":9223372036854775807,"tests":[]},{"total_pass":1,"tests":[]}])", meta, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error.reason.find("Controls[1].total_pass"), std::string::npos) << r.error.reason;
  const auto low = parse_json(
      R"([{"total_warn":-9223372036854775808,"tests":[]},{"total_warn":-1,"tests":[]}])", meta, {});
  ASSERT_FALSE(low.ok());
  EXPECT_NE(low.error.reason.find("Controls[1].total_warn"), std::string::npos);
}

// Verifies that text summary counts out of range, or whose sum is, are errors at their line.
TEST(KubeBenchReportLimits, TextSummaryCountsOutOfRange) {
  const std::string huge =
      "[PASS] 1.1.1 ok\n== Summary total ==\n123456789012345678901234567890 checks PASS\n";
  auto r = parse_text(huge, meta, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.offset, huge.find("1234567890"));
  EXPECT_NE(r.error.reason.find("line 3"), std::string::npos) << r.error.reason;

  const std::string sum =
      "[PASS] 1.1.1 ok\n== Summary total ==\n9223372036854775807 checks FAIL\n1 checks FAIL\n";
  r = parse_text(sum, meta, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.offset, sum.find("1 checks FAIL"));
  EXPECT_NE(r.error.reason.find("FAIL total"), std::string::npos) << r.error.reason;

  const std::string edge =
      "[PASS] 1.1.1 ok\n== Summary total ==\n9223372036854775807 checks WARN\n";
  r = parse_text(edge, meta, {});
  ASSERT_TRUE(r.ok()) << r.error.to_string();
  EXPECT_EQ(r.value->totals.warn, INT64_MAX);
}

}  // namespace
}  // namespace ke::kubebench
