// app::validate is the one validation of check-config, route-test and run: these tests pin
// that check-config rejects what run would reject.
#include "app/app.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ke::app {
namespace {

namespace fs = std::filesystem;

class AppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("ke-app-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
           "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  // Writes the config and runs check-config on it; returns its exit code (stderr in err).
  int check(const std::string& yaml, const std::string& ingest_address = "") {
    const auto file = dir / "config.yaml";
    std::ofstream(file) << yaml;
    flags f;
    f.conf = file.string();
    f.metrics_address = "127.0.0.1:0";
    f.ingest_address = ingest_address;
    err.str("");
    return check_config(f, err);
  }

  fs::path dir;
  std::ostringstream err;
};

const char* routes_to_r = "route:\n  routes:\n    - match:\n        - receiver: r\n";

// Verifies that a valid config passes and the message names the file.
TEST_F(AppTest, ValidConfigIsOk) {
  EXPECT_EQ(check(std::string(routes_to_r) + "receivers:\n  - name: r\n    stdout: {}\n"), 0)
      << err.str();
  EXPECT_NE(err.str().find("config.yaml: OK"), std::string::npos) << err.str();
}

// Verifies the observation of issue 10: a webhook receiver passed check-config and then run
// exited 1 ("not implemented yet"). Now check-config says so.
TEST_F(AppTest, WebhookReceiverFailsCheckConfigAsRunDoes) {
  EXPECT_EQ(check(std::string(routes_to_r) +
                  "receivers:\n  - name: r\n    webhook:\n      endpoint: http://x/\n"),
            1);
  EXPECT_NE(err.str().find("receivers[0].webhook: not implemented yet"), std::string::npos)
      << err.str();
}

// Verifies that receiver settings only the sink factory checked (file path, TLS files of an
// https Loki) are check-config errors naming the key.
TEST_F(AppTest, SinkSettingsAreChecked) {
  EXPECT_EQ(check(std::string(routes_to_r) + "receivers:\n  - name: r\n    file: {}\n"), 1);
  EXPECT_NE(err.str().find("receivers[0].file.path: required"), std::string::npos) << err.str();

  EXPECT_EQ(check(std::string(routes_to_r) +
                  "receivers:\n  - name: r\n    loki:\n      url: https://loki:3100\n"
                  "      streamLabels: {job: kubernetes-event}\n"
                  "      tls:\n        caFile: /nonexistent/ca.pem\n"),
            1);
  EXPECT_NE(err.str().find("receivers[0].loki.tls"), std::string::npos) << err.str();
}

// Verifies that the ingest settings are checked when the ingest is on (config or flag), and
// not when it is off.
TEST_F(AppTest, IngestSettingsAreCheckedWhenEnabled) {
  const std::string base = std::string(routes_to_r) + "receivers:\n  - name: r\n    stdout: {}\n";
  const std::string ingest =
      "ingest:\n  auth:\n    mode: staticToken\n    tokenFile: /nonexistent/token\n";
  EXPECT_EQ(check(base + ingest), 1);
  EXPECT_NE(err.str().find("ingest.auth.tokenFile"), std::string::npos) << err.str();
  EXPECT_EQ(check(base), 0) << err.str();
  EXPECT_EQ(check(base, "not-an-address"), 1);
  EXPECT_NE(err.str().find("-ingest-address"), std::string::npos) << err.str();
}

// Verifies that the metrics listener's -metrics-tls-config is part of the validation.
TEST_F(AppTest, MetricsWebConfigIsChecked) {
  const auto file = dir / "config.yaml";
  std::ofstream(file) << routes_to_r << "receivers:\n  - name: r\n    stdout: {}\n";
  flags f;
  f.conf = file.string();
  f.metrics_tls_config = (dir / "missing-web.yaml").string();
  EXPECT_EQ(check_config(f, err), 1);
  EXPECT_NE(err.str().find("missing-web.yaml"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace ke::app
