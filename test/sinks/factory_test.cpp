#include "sinks/factory.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sinks/file_sink.hpp"
#include "sinks/null_sink.hpp"
#include "sinks/stdout_sink.hpp"
#include "support/fake_sink.hpp"

namespace ke::sinks {
namespace {

using test::temp_dir;

class FactoryTest : public ::testing::Test {
 protected:
  sink_ptr make(config::sink s) {
    config::receiver r;
    r.name = "x";
    r.path = "receivers[0]";
    r.sink = std::move(s);
    return make_sink(ioc.get_executor(), r, m, problems);
  }

  net::io_context ioc;
  ke::metrics m{""};
  diagnostics problems;
  temp_dir dir;
};

// Verifies that a stdout receiver yields a stdout sink.
TEST_F(FactoryTest, BuildsStdoutSink) {
  auto s = make(config::stdout_sink{});
  EXPECT_NE(dynamic_cast<stdout_sink*>(s.get()), nullptr);
  EXPECT_TRUE(problems.empty());
}

// Verifies that a file receiver yields a file sink, its directory created.
TEST_F(FactoryTest, BuildsFileSink) {
  config::file_sink f;
  f.path = (dir.path() / "logs" / "events.log").string();
  auto s = make(f);
  EXPECT_NE(dynamic_cast<file_sink*>(s.get()), nullptr);
  EXPECT_TRUE(problems.empty());
  EXPECT_TRUE(std::filesystem::exists(f.path));
}

// Verifies that an unopenable file path is an error naming the receiver's path key.
TEST_F(FactoryTest, FileOpenFailureIsDiagnosed) {
  std::ofstream(dir.path() / "plain") << "";
  config::file_sink f;
  f.path = (dir.path() / "plain" / "events.log").string();
  EXPECT_EQ(make(f), nullptr);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].severity, diagnostic::level::error);
  EXPECT_EQ(problems[0].path, "receivers[0].file.path");
}

// Verifies that a file receiver without a path is an error.
TEST_F(FactoryTest, FileWithoutPathIsDiagnosed) {
  EXPECT_EQ(make(config::file_sink{}), nullptr);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].to_string(), "receivers[0].file.path: required");
}

// Verifies that an invalid layout is an error and yields no sink.
TEST_F(FactoryTest, InvalidLayoutIsDiagnosed) {
  config::stdout_sink s;
  s.layout = nlohmann::json{{"m", "{{ .Message "}};
  EXPECT_EQ(make(s), nullptr);
  ASSERT_FALSE(problems.empty());
  EXPECT_TRUE(has_errors(problems));
}

// Verifies that a null layout means the record's own line (no layout compiled).
TEST_F(FactoryTest, NullLayoutIsNoLayout) {
  config::stdout_sink s;
  s.layout = nlohmann::json(nullptr);
  EXPECT_NE(make(s), nullptr);
  EXPECT_TRUE(problems.empty());
}

// Verifies that a loki receiver is built by the Loki sink, which reports a missing url under the
// receiver's loki key.
TEST_F(FactoryTest, LokiReceiverIsBuiltAndValidated) {
  config::loki_sink ok;
  ok.url = "http://127.0.0.1:3100/loki/api/v1/push";
  ok.stream_labels = {{"job", "kubernetes-event"}};
  EXPECT_NE(make(ok), nullptr);
  EXPECT_FALSE(has_errors(problems));
  problems.clear();
  EXPECT_EQ(make(config::loki_sink{}), nullptr);
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems[0].path.rfind("receivers[0].loki", 0), 0u) << problems[0].to_string();
}

// Verifies that webhook receivers are reported as not implemented yet.
TEST_F(FactoryTest, WebhookNotImplementedYet) {
  EXPECT_EQ(make(config::webhook_sink{}), nullptr);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].to_string(), "receivers[0].webhook: not implemented yet");
}

// Verifies that an unsupported kind yields a sink that drops everything as unsupported_sink.
TEST_F(FactoryTest, UnsupportedKindYieldsNullSink) {
  auto s = make(config::unsupported_sink{"kafka"});
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->drop_reason(), "unsupported_sink");
  EXPECT_EQ(test::send_now(ioc, *s, {test::make_record(1)}), send_result::drop);
  EXPECT_TRUE(problems.empty());
}

}  // namespace
}  // namespace ke::sinks
