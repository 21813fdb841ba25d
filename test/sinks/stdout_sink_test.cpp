#include "sinks/stdout_sink.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/log.hpp"
#include "support/fake_sink.hpp"
#include "template/layout.hpp"

namespace ke::sinks {
namespace {

using test::make_record;
using test::read_file;
using test::send_now;
using test::split_lines;
using test::stdout_capture;
using test::temp_dir;

class StdoutSinkTest : public ::testing::Test {
 protected:
  // spdlog's initial default logger writes to stdout; the exporter's logs go to stderr.
  void SetUp() override { setup_logging("info", ""); }

  // Sends batch through a stdout sink while fd 1 points at a temp file; returns the lines.
  std::vector<std::string> capture(stdout_sink& s, std::vector<record_ptr> batch,
                                   send_result* result = nullptr) {
    const auto file = dir.path() / "stdout";
    send_result r;
    {
      stdout_capture cap(file);
      r = send_now(ioc, s, std::move(batch));
    }
    if (result != nullptr) {
      *result = r;
    }
    return split_lines(read_file(file));
  }

  static std::unique_ptr<const tmpl::layout> compile(const nlohmann::json& spec) {
    diagnostics problems;
    auto l = tmpl::layout::compile(spec, "layout", problems);
    EXPECT_NE(l, nullptr) << (problems.empty() ? "" : problems[0].to_string());
    return l;
  }

  net::io_context ioc;
  temp_dir dir;
};

// Verifies that each record is written to fd 1 as its JSON line.
TEST_F(StdoutSinkTest, WritesRecordLinesToFd1) {
  stdout_sink s(line_format(nullptr, false));
  auto a = make_record(1);
  auto b = make_record(2);
  send_result r;
  EXPECT_EQ(capture(s, {a, b}, &r), (std::vector<std::string>{a->line, b->line}));
  EXPECT_EQ(r, send_result::ok);
  EXPECT_EQ(s.take_errors(), 0u);
}

// Verifies that a layout is rendered per record.
TEST_F(StdoutSinkTest, RendersLayout) {
  stdout_sink s(line_format(compile({{"text", "{{ .Reason }}: {{ .Message }}"}}), false));
  EXPECT_EQ(capture(s, {make_record(7)}),
            std::vector<std::string>{R"({"text":"Started: message 7"})"});
}

// Verifies that deDot rewrites dotted label keys before the layout sees them.
TEST_F(StdoutSinkTest, DeDotAppliesBeforeLayout) {
  auto r = std::make_shared<record>(*make_record(1));
  r->doc["involvedObject"] = {{"kind", "Pod"}, {"labels", {{"app.kubernetes.io/name", "web"}}}};
  r->line = go_json(r->doc);
  stdout_sink s(line_format(compile({{"labels", "{{ toJson .InvolvedObject.Labels }}"}}), true));
  const auto lines = capture(s, {r});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], ::testing::HasSubstr("app_kubernetes_io/name"));
  EXPECT_THAT(lines[0], ::testing::Not(::testing::HasSubstr("app.kubernetes.io")));
}

// Verifies that deDot without a layout re-serializes the rewritten document.
TEST_F(StdoutSinkTest, DeDotWithoutLayout) {
  auto r = std::make_shared<record>(*make_record(1));
  r->doc["involvedObject"] = {{"kind", "Pod"}, {"labels", {{"a.b", "c"}}}};
  r->line = go_json(r->doc);
  stdout_sink s(line_format(nullptr, true));
  const auto lines = capture(s, {r});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], ::testing::HasSubstr(R"("labels":{"a_b":"c"})"));
}

// Verifies that a record whose template fails is skipped and counted, the others written.
TEST_F(StdoutSinkTest, TemplateErrorSkipsRecordAndCounts) {
  // Dividing by the record's own count fails for records with count 0 (Go: integer divide by
  // zero), and succeeds for the others.
  stdout_sink s(line_format(compile({{"q", "{{ div 10 .Count }}"}}), false));
  auto good = std::make_shared<record>(*make_record(1));
  good->count = 2;
  good->doc["count"] = 2;
  auto bad = make_record(2);  // count 0
  send_result r;
  const auto lines = capture(s, {good, bad, good}, &r);
  EXPECT_EQ(r, send_result::ok);
  EXPECT_EQ(lines, (std::vector<std::string>{R"({"q":"5"})", R"({"q":"5"})"}));
  EXPECT_EQ(s.take_errors(), 1u);
  EXPECT_EQ(s.take_errors(), 0u);
}

}  // namespace
}  // namespace ke::sinks
