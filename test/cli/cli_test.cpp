// Runs the built kube-event-exporter binary: flags in Go's forms, check-config, route-test.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "config/flags.hpp"

namespace {

struct result {
  int status;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Temp file names of this process: ctest runs the tests of this file as parallel processes, which
// must not share (and so overwrite) each other's files.
std::string temp_path(const std::string& name) {
  return testing::TempDir() + "/ke-cli-" + std::to_string(::getpid()) + "-" + name;
}

result run(const std::string& args) {
  const auto out = temp_path("out"), err = temp_path("err");
  auto cmd = std::string(KE_BINARY) + " " + args + " >" + out + " 2>" + err;
  int rc = std::system(cmd.c_str());
  result r{WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(out), slurp(err)};
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

std::string data(const std::string& name) { return std::string(KE_TEST_DATA) + "/cli/" + name; }

std::string write_temp(const std::string& name, const std::string& text) {
  auto path = temp_path(name);
  std::ofstream(path) << text;
  return path;
}

// Verifies that the Go flag forms -x v, -x=v and --x=v all set the flag.
TEST(Flags, GoForms) {
  for (auto args : {std::vector<std::string>{"-conf", "a.yaml"},
                    {"-conf=a.yaml"},
                    {"--conf=a.yaml"},
                    {"--conf", "a.yaml"}}) {
    auto r = ke::parse_flags(args);
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.f.conf, "a.yaml");
  }
}

// Verifies that a subcommand may come before or after the flags.
TEST(Flags, SubcommandPosition) {
  auto a = ke::parse_flags({"check-config", "-conf=x.yaml"});
  auto b = ke::parse_flags({"-conf=x.yaml", "check-config"});
  EXPECT_EQ(a.f.cmd, ke::command::check_config);
  EXPECT_EQ(b.f.cmd, ke::command::check_config);
  EXPECT_EQ(b.f.conf, "x.yaml");
}

// Verifies that unknown flags and missing values are errors worded like Go's flag package.
TEST(Flags, Errors) {
  EXPECT_EQ(ke::parse_flags({"-nope"}).error, "flag provided but not defined: -nope");
  EXPECT_EQ(ke::parse_flags({"-conf"}).error, "flag needs an argument: -conf");
  EXPECT_EQ(ke::parse_flags({"extra"}).error, "unexpected argument: extra");
}

// Verifies that defaults match resmoio's.
TEST(Flags, Defaults) {
  auto r = ke::parse_flags({});
  EXPECT_EQ(r.f.conf, "config.yaml");
  EXPECT_EQ(r.f.metrics_address, ":2112");
  EXPECT_EQ(r.f.cmd, ke::command::run);
}

// Verifies that --help and --version print and exit 0, and an unknown flag exits 2.
TEST(Cli, HelpVersionUnknown) {
  auto h = run("--help");
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("-metrics-address"), std::string::npos);
  auto v = run("--version");
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.out.rfind("kube-event-exporter ", 0), 0u) << v.out;
  auto u = run("-bogus");
  EXPECT_EQ(u.status, 2);
  EXPECT_NE(u.err.find("flag provided but not defined: -bogus"), std::string::npos);
}

// Verifies that check-config accepts a valid config in the Bitnami flag form.
TEST(Cli, CheckConfigOk) {
  auto r = run("check-config -conf=" + data("routes.yaml"));
  EXPECT_EQ(r.status, 0) << r.err;
}

// Verifies that check-config reports every problem with its path and exits 1.
TEST(Cli, CheckConfigReportsAllProblems) {
  auto path = write_temp("bad.yaml", R"(route:
  routes:
    - match:
        - receiver: missing
      drop:
        - namespace: "*test*"
receivers:
  - name: a
    stdout: {}
  - name: a
    stdout: {}
)");
  auto r = run("check-config -conf " + path);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("route.routes[0].match[0].receiver"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("route.routes[0].drop[0].namespace"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("receivers[1]"), std::string::npos) << r.err;
}

// Verifies that route-test prints one line per event with the receivers in order reached, and
// reports bad lines with their line number without stopping.
TEST(Cli, RouteTest) {
  auto r = run("route-test -conf " + data("routes.yaml") + " -events " + data("events.jsonl"));
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<nlohmann::json> lines;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) lines.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0]["reason"], "BackOff");
  EXPECT_EQ(lines[0]["receivers"], nlohmann::json::parse(R"(["all","warnings","pods"])"));
  EXPECT_EQ(lines[1]["receivers"], nlohmann::json::parse(R"(["all"])"));
  EXPECT_EQ(lines[2]["receivers"], nlohmann::json::array());  // kube-system dropped
  EXPECT_EQ(lines[3]["receivers"], nlohmann::json::array());  // DELETED is not exported
  EXPECT_EQ(lines[3]["uid"], "u4");
  EXPECT_NE(r.err.find(":3: invalid JSON"), std::string::npos) << r.err;
}

}  // namespace
