// config_loader: resmoio-compatible config.yaml loading with loud, path-named diagnostics.
#include "config/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/yaml_walk.hpp"

namespace ke::config {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr const char* prefix_warning =
    "metricsNamePrefix: setting config.metricsNamePrefix='event_exporter_' is recommended";

load_result load(std::string_view yaml, std::map<std::string, std::string> env = {}) {
  return load_string(yaml, "config.yaml",
                     [env = std::move(env)](std::string_view name) -> std::optional<std::string> {
                       auto it = env.find(std::string(name));
                       if (it == env.end()) {
                         return std::nullopt;
                       }
                       return it->second;
                     });
}

std::vector<std::string> lines(const load_result& r, diagnostic::level level) {
  std::vector<std::string> out;
  for (const auto& d : r.problems) {
    if (d.severity == level) {
      out.push_back(d.to_string());
    }
  }
  return out;
}
std::vector<std::string> errors(const load_result& r) { return lines(r, diagnostic::level::error); }
// Warnings other than the metricsNamePrefix recommendation every prefix-less config gets.
std::vector<std::string> warnings(const load_result& r) {
  auto w = lines(r, diagnostic::level::warning);
  w.erase(std::remove(w.begin(), w.end(), prefix_warning), w.end());
  return w;
}

const sink& only_sink(const load_result& r) {
  EXPECT_EQ(r.cfg.receivers.size(), 1u);
  return r.cfg.receivers.at(0).sink;
}

// ---------------------------------------------------------------------------------------------
// Top-level keys and defaults

// Verifies that an empty document yields resmoio's defaults and no errors.
TEST(ConfigLoader, EmptyDocumentGivesDefaults) {
  auto r = load("");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.log_level, "info");
  EXPECT_EQ(r.cfg.log_format, "");
  EXPECT_EQ(r.cfg.max_event_age_seconds, 5);
  EXPECT_EQ(r.cfg.kube_qps, 5);
  EXPECT_EQ(r.cfg.kube_burst, 10);
  EXPECT_EQ(r.cfg.cache_size, 1024);
  EXPECT_FALSE(r.cfg.leader_election.enabled);
  EXPECT_EQ(r.cfg.leader_election.leader_election_id, "kubernetes-event-exporter");
  EXPECT_EQ(r.cfg.route.path, "route");
  EXPECT_TRUE(r.cfg.receivers.empty());
}

// Verifies that explicit zeros are replaced by the defaults like resmoio does (0 -> 5/10/1024).
TEST(ConfigLoader, ZeroValuesBecomeDefaults) {
  auto r = load("kubeQPS: 0\nkubeBurst: 0\ncacheSize: 0\nmaxEventAgeSeconds: 0\n");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.kube_qps, 5);
  EXPECT_EQ(r.cfg.kube_burst, 10);
  EXPECT_EQ(r.cfg.cache_size, 1024);
  EXPECT_EQ(r.cfg.max_event_age_seconds, 5);
}

// Verifies that every scalar top-level key is read into the config.
TEST(ConfigLoader, ReadsAllTopLevelKeys) {
  auto r = load(R"(logLevel: warn
logFormat: json
maxEventAgeSeconds: 60
clusterName: prod-eu
namespace: monitoring
leaderElection:
  enabled: true
  leaderElectionID: my-lease
kubeQPS: 2.5
kubeBurst: 500
metricsNamePrefix: event_exporter_
omitLookup: true
cacheSize: 4096
)");
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(errors(r));
  EXPECT_THAT(lines(r, diagnostic::level::warning), IsEmpty());
  EXPECT_EQ(r.cfg.log_level, "warn");
  EXPECT_EQ(r.cfg.log_format, "json");
  EXPECT_EQ(r.cfg.max_event_age_seconds, 60);
  EXPECT_EQ(r.cfg.cluster_name, "prod-eu");
  EXPECT_EQ(r.cfg.namespace_, "monitoring");
  EXPECT_TRUE(r.cfg.leader_election.enabled);
  EXPECT_EQ(r.cfg.leader_election.leader_election_id, "my-lease");
  EXPECT_DOUBLE_EQ(r.cfg.kube_qps, 2.5);
  EXPECT_EQ(r.cfg.kube_burst, 500);
  EXPECT_EQ(r.cfg.metrics_name_prefix, "event_exporter_");
  EXPECT_TRUE(r.cfg.omit_lookup);
  EXPECT_EQ(r.cfg.cache_size, 4096);
}

// Verifies the watch additions eventsAPIVersion and exportRepeatedEvents and their defaults.
TEST(ConfigLoader, ReadsWatchAdditions) {
  auto defaults = load("");
  EXPECT_EQ(defaults.cfg.events_api_version, "v1");
  EXPECT_TRUE(defaults.cfg.export_repeated_events);
  auto r = load("eventsAPIVersion: events.k8s.io/v1\nexportRepeatedEvents: false\n");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.events_api_version, "events.k8s.io/v1");
  EXPECT_FALSE(r.cfg.export_repeated_events);
  auto bad = load("eventsAPIVersion: v2\n");
  EXPECT_THAT(errors(bad), ElementsAre("eventsAPIVersion: invalid value \"v2\" (expected v1 "
                                       "(core/v1 Events) or events.k8s.io/v1)"));
}

// Verifies that the log level is matched case-insensitively (zerolog.ParseLevel) and normalized.
TEST(ConfigLoader, LogLevelIsCaseInsensitive) {
  auto r = load("logLevel: DEBUG\n");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.log_level, "debug");
  for (const char* level : {"trace", "info", "error", "fatal", "panic", "disabled"}) {
    auto x = load(std::string("logLevel: ") + level + "\n");
    EXPECT_TRUE(x.ok()) << level;
    EXPECT_EQ(x.cfg.log_level, level);
  }
}

// Verifies that throttlePeriod alone is the deprecated alias of maxEventAgeSeconds.
TEST(ConfigLoader, ThrottlePeriodIsDeprecatedAlias) {
  auto r = load("throttlePeriod: 30\n");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.max_event_age_seconds, 30);
  EXPECT_THAT(warnings(r), ElementsAre("throttlePeriod: deprecated, use maxEventAgeSeconds "
                                       "instead (maxEventAgeSeconds=30)"));
}

// Verifies that a valid metricsNamePrefix suppresses the recommendation and an empty one warns.
TEST(ConfigLoader, MetricsNamePrefixRecommendation) {
  EXPECT_THAT(lines(load("metricsNamePrefix: ke_:x_\n"), diagnostic::level::warning), IsEmpty());
  auto r = load("metricsNamePrefix: \"\"\n");
  EXPECT_TRUE(r.ok());
  EXPECT_THAT(lines(r, diagnostic::level::warning), ElementsAre(prefix_warning));
}

// Verifies that an empty leaderElectionID falls back to the default lease name.
TEST(ConfigLoader, EmptyLeaderElectionIdUsesDefault) {
  auto r = load("leaderElection: {enabled: true, leaderElectionID: \"\"}\n");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.cfg.leader_election.leader_election_id, "kubernetes-event-exporter");
}

// Verifies that negative numbers are rejected with the key's path.
TEST(ConfigLoader, NegativeNumbersAreErrors) {
  auto r = load("kubeQPS: -1\nkubeBurst: -2\nmaxEventAgeSeconds: -3\n");
  EXPECT_THAT(errors(r), ElementsAre("kubeQPS: must not be negative",
                                     "kubeBurst: value -2 out of range [0, 2147483647]",
                                     "maxEventAgeSeconds: value -3 out of range [0, "
                                     "9223372036854775807]"));
}

// Verifies that a document that is not a map is one error, and nothing throws.
TEST(ConfigLoader, TopLevelListIsAnError) {
  auto r = load("- a\n- b\n");
  EXPECT_THAT(errors(r), ElementsAre("config.yaml: expected a map at the top level, got a list"));
}

// ---------------------------------------------------------------------------------------------
// Environment expansion and YAML syntax

// Verifies that ${VAR} is expanded over the whole text before the YAML is parsed.
TEST(ConfigLoader, ExpandsEnvironmentBeforeParsing) {
  auto r = load(R"(receivers:
  - name: loki
    loki:
      url: ${LOKI_URL}
      streamLabels: {job: kubernetes-event}
      basicAuth: {username: $LOKI_USER, password: "${LOKI_PASSWORD}"}
$EXTRA_KEY: 1
)",
                {{"LOKI_URL", "https://loki.example/loki/api/v1/push"},
                 {"LOKI_USER", "u"},
                 {"LOKI_PASSWORD", "p#1"},
                 {"EXTRA_KEY", "clusterName"}});
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors(r));
  const auto& l = std::get<loki_sink>(only_sink(r));
  EXPECT_EQ(l.url, "https://loki.example/loki/api/v1/push");
  EXPECT_EQ(l.basic_auth.username, "u");
  EXPECT_EQ(l.basic_auth.password, "p#1");
  EXPECT_EQ(r.cfg.cluster_name, "1");
}

// Verifies that a YAML syntax error is one error with file:line:column and the quoting hint
// when the offending line contains "{{".
TEST(ConfigLoader, YamlSyntaxErrorWithTemplateHasHint) {
  auto r = load("route:\n  match:\n    - message: {{ .Message }} here\n");
  EXPECT_THAT(errors(r),
              ElementsAre("config.yaml:3:31: invalid YAML: end of map not found in line \"    - "
                          "message: {{ .Message }} here\". Need to wrap values with special "
                          "characters in quotes"));
  EXPECT_EQ(r.problems.size(), 1u);
}

// Verifies that a YAML syntax error without "{{" has no quoting hint.
TEST(ConfigLoader, YamlSyntaxErrorWithoutTemplateHasNoHint) {
  auto r = load("a: [1, 2\n");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].severity, diagnostic::level::error);
  EXPECT_THAT(r.problems[0].path, ::testing::StartsWith("config.yaml:"));
  EXPECT_THAT(r.problems[0].message, HasSubstr("invalid YAML: "));
  EXPECT_THAT(r.problems[0].message, ::testing::Not(HasSubstr("Need to wrap")));
}

// Verifies that an unquoted template that still parses (as a nested flow map) is a type error
// carrying the quoting hint.
TEST(ConfigLoader, UnquotedTemplateValueIsTypeErrorWithHint) {
  auto r = load("route:\n  match:\n    - message: {{ .Message }}\n");
  EXPECT_THAT(errors(r), ElementsAre("route.match[0].message: expected a string, got a map (Need "
                                     "to wrap values with special characters in quotes)"));
}

// Verifies that a key given twice in one map is an error naming the first line.
TEST(ConfigLoader, DuplicateKeyIsAnError) {
  auto r = load("logLevel: info\nlogLevel: debug\n");
  EXPECT_THAT(errors(r), ElementsAre("logLevel: duplicate key (first defined on line 1)"));
  EXPECT_EQ(r.cfg.log_level, "info");
}

// Verifies that load_file reports an unreadable file as an error instead of throwing.
TEST(ConfigLoader, UnreadableFileIsAnError) {
  const std::string missing = std::string(KE_TEST_DATA) + "/config-bad/does-not-exist.yaml";
  auto r = load_file(missing);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(errors(r), ElementsAre(missing + ": cannot read config file: No such file or "
                                               "directory"));
}

// Verifies that hostile inputs produce diagnostics but never exceptions.
TEST(ConfigLoader, NeverThrowsOnGarbage) {
  const std::vector<std::string> inputs = {
      std::string("\0\1\2\3", 4),
      "\t\t: [",
      "receivers: [[[[[]]]]]",
      "route: {routes: [1, \"x\", [2]]}",
      "receivers:\n  - name: [a]\n    loki: [1]\n",
      "? [complex]\n: key\n",
      "receivers:\n  - loki:\n      layout: {a: {? [x] : y}}\n",
      "&a [*a]",
      "route: &r {routes: [*r, *r]}\n",
      "receivers:\n  - name: a\n    stdout: {layout: &l {x: [*l, *l]}}\n",
      std::string(5000, '['),
  };
  for (const auto& in : inputs) {
    load_result r;
    EXPECT_NO_THROW(r = load(in)) << in;
    EXPECT_FALSE(r.problems.empty()) << in;
  }
}

// Verifies that diagnostics come out in document order, not in check order.
TEST(ConfigLoader, DiagnosticsAreInDocumentOrder) {
  auto r = load(R"(receivers:
  - name: a
    stdout: {deDot: maybe}
route:
  match:
    - receiver: nowhere
logLevel: noisy
)");
  EXPECT_THAT(errors(r),
              ElementsAre("receivers[0].stdout.deDot: expected a boolean (true or false), got "
                          "\"maybe\"",
                          "route.match[0].receiver: undefined receiver \"nowhere\" (defined: "
                          "\"a\")",
                          "logLevel: invalid log level \"noisy\" (expected one of trace, debug, "
                          "info, warn, error, fatal, panic, disabled)"));
}

// ---------------------------------------------------------------------------------------------
// Routes and rules

constexpr const char* route_yaml = R"(route:
  drop:
    - namespace: kube-system
  match:
    - type: Warning
  routes:
    - match:
        - receiver: dump
        - kind: "Pod|Deployment"
          apiVersion: "apps/v1"
          namespace: "^prod-"
          reason: BackOff
          type: Warning
          message: "failed"
          component: kubelet
          host: "node-[0-9]+"
          labels: {app: "web.*", team: ""}
          annotations: {owner: "x"}
          minCount: 3
          receiver: dump
      routes:
        - drop:
            - reason: Pulled
receivers:
  - name: dump
    stdout: {}
)";

// Verifies that the route tree is read recursively with every rule field and YAML paths.
TEST(ConfigLoader, ReadsRouteTreeWithPaths) {
  auto r = load(route_yaml);
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors(r));
  EXPECT_THAT(warnings(r), IsEmpty());
  const route& root = r.cfg.route;
  EXPECT_EQ(root.path, "route");
  ASSERT_EQ(root.drop.size(), 1u);
  EXPECT_EQ(root.drop[0].path, "route.drop[0]");
  EXPECT_EQ(root.drop[0].namespace_, "kube-system");
  ASSERT_EQ(root.match.size(), 1u);
  EXPECT_EQ(root.match[0].type, "Warning");
  ASSERT_EQ(root.routes.size(), 1u);
  const route& child = root.routes[0];
  EXPECT_EQ(child.path, "route.routes[0]");
  ASSERT_EQ(child.match.size(), 2u);
  EXPECT_EQ(child.match[0].receiver, "dump");
  const rule& full = child.match[1];
  EXPECT_EQ(full.path, "route.routes[0].match[1]");
  EXPECT_EQ(full.kind, "Pod|Deployment");
  EXPECT_EQ(full.api_version, "apps/v1");
  EXPECT_EQ(full.namespace_, "^prod-");
  EXPECT_EQ(full.reason, "BackOff");
  EXPECT_EQ(full.type, "Warning");
  EXPECT_EQ(full.message, "failed");
  EXPECT_EQ(full.component, "kubelet");
  EXPECT_EQ(full.host, "node-[0-9]+");
  EXPECT_EQ(full.labels, (string_pairs{{"app", "web.*"}, {"team", ""}}));
  EXPECT_EQ(full.annotations, (string_pairs{{"owner", "x"}}));
  EXPECT_EQ(full.min_count, 3);
  EXPECT_EQ(full.receiver, "dump");
  ASSERT_EQ(child.routes.size(), 1u);
  EXPECT_EQ(child.routes[0].path, "route.routes[0].routes[0]");
  ASSERT_EQ(child.routes[0].drop.size(), 1u);
  EXPECT_EQ(child.routes[0].drop[0].path, "route.routes[0].routes[0].drop[0]");
  EXPECT_EQ(child.routes[0].drop[0].reason, "Pulled");
}

// Verifies that rule values may be any YAML scalar and are kept as their text.
TEST(ConfigLoader, RuleValuesAcceptAnyScalar) {
  auto r = load(
      "route:\n  match:\n    - reason: 404\n      type: true\n      message: 1.50\n"
      "      labels: {code: 200}\n");
  ASSERT_TRUE(r.ok());
  const rule& x = r.cfg.route.match.at(0);
  EXPECT_EQ(x.reason, "404");
  EXPECT_EQ(x.type, "true");
  EXPECT_EQ(x.message, "1.50");
  EXPECT_EQ(x.labels, (string_pairs{{"code", "200"}}));
}

// Verifies that an invalid RE2 pattern is an error naming the path and Go/RE2's reason.
TEST(ConfigLoader, InvalidRegexIsAnError) {
  auto r = load(
      "route:\n  routes:\n    - drop:\n        - namespace: \"*test*\"\n"
      "          annotations: {a: \"x{2,1}\"}\n");
  EXPECT_THAT(errors(r),
              ElementsAre("route.routes[0].drop[0].namespace: invalid regular expression "
                          "\"*test*\": missing argument to repetition operator: *",
                          "route.routes[0].drop[0].annotations.a: invalid regular expression "
                          "\"x{2,1}\": invalid repeat count: {2,1}"));
}

// Verifies that a rule naming an undefined receiver is an error with a did-you-mean.
TEST(ConfigLoader, UndefinedReceiverIsAnError) {
  auto r = load(
      "route:\n  match:\n    - receiver: lokii\nreceivers:\n  - name: loki\n"
      "    stdout: {}\n");
  EXPECT_THAT(errors(r), ElementsAre("route.match[0].receiver: undefined receiver \"lokii\", did "
                                     "you mean \"loki\"?"));
}

// Verifies the special warning for "drop" nested inside a match rule (resmoio #232).
TEST(ConfigLoader, DropInsideMatchRuleIsWarned) {
  auto r = load(
      "route:\n  routes:\n    - match:\n        - receiver: dump\n          drop:\n"
      "            - namespace: kube-system\nreceivers:\n  - name: dump\n"
      "    stdout: {}\n");
  EXPECT_TRUE(r.ok());
  EXPECT_THAT(warnings(r),
              ElementsAre("route.routes[0].match[0].drop: \"drop\" inside a match rule is "
                          "ignored, so this rule matches as if it were absent (resmoio #232); put "
                          "drop: next to match:, at the route level"));
}

// Verifies that a drop rule without conditions is warned about (it drops everything).
TEST(ConfigLoader, EmptyDropRuleIsWarned) {
  auto r = load("route:\n  drop:\n    - receiver: dump\n");
  EXPECT_TRUE(r.ok());
  EXPECT_THAT(warnings(r),
              ElementsAre("route.drop[0]: drop rule without conditions drops every event "
                          "reaching this route",
                          "route.drop[0].receiver: has no effect in a drop rule"));
}

// Verifies the hints for keys placed at the wrong level of the route tree.
TEST(ConfigLoader, MisplacedRouteKeysAreWarned) {
  auto r = load("route:\n  receiver: dump\n  receivers: []\n  routes:\n    - mach: []\n");
  EXPECT_TRUE(r.ok());
  EXPECT_THAT(warnings(r),
              ElementsAre("route.receiver: \"receiver\" is a rule key, not a route key: rules go "
                          "in a match or drop list, e.g. match: [{receiver: ...}]; ignored",
                          "route.receivers: receivers must be a top-level key, not inside a route "
                          "(check the indentation); ignored",
                          "route.routes[0].mach: unknown key, did you mean match?"));
}

// ---------------------------------------------------------------------------------------------
// Receivers and sinks

// Verifies that `stdout:` with a null value is accepted as stdout {} (resmoio fails on it).
TEST(ConfigLoader, NullStdoutIsAccepted) {
  auto r = load("receivers:\n  - name: dump\n    stdout:\n");
  ASSERT_TRUE(r.ok());
  const auto& s = std::get<stdout_sink>(only_sink(r));
  EXPECT_FALSE(s.de_dot);
  EXPECT_FALSE(s.layout.has_value());
  EXPECT_EQ(r.cfg.receivers[0].name, "dump");
  EXPECT_EQ(r.cfg.receivers[0].path, "receivers[0]");
}

// Verifies that the file sink's keys are read and a null file sink is an error about path.
TEST(ConfigLoader, FileSinkKeysAndRequiredPath) {
  auto r = load(
      "receivers:\n  - name: f\n    file:\n      path: /dev/stdout\n      deDot: true\n"
      "      maxsize: 0\n      maxage: 7\n      maxbackups: 3\n");
  ASSERT_TRUE(r.ok());
  const auto& f = std::get<file_sink>(only_sink(r));
  EXPECT_EQ(f.path, "/dev/stdout");
  EXPECT_TRUE(f.de_dot);
  EXPECT_EQ(f.max_size_mb, 0);
  EXPECT_EQ(f.max_age_days, 7);
  EXPECT_EQ(f.max_backups, 3);
  auto bad = load("receivers:\n  - name: f\n    file:\n");
  EXPECT_THAT(errors(bad), ElementsAre("receivers[0].file.path: required (the file to write, e.g. "
                                       "/dev/stdout)"));
}

// Verifies that a layout keeps its JSON shape: strings stay strings, other scalars get types.
TEST(ConfigLoader, LayoutIsConvertedToJson) {
  auto r = load(R"(receivers:
  - name: w
    webhook:
      endpoint: http://h/x
      layout:
        message: "{{ .Message }}"
        count: 5
        ratio: 0.5
        flag: true
        nothing: null
        quoted: "5"
        list: [a, 1, {k: v}]
        nested: {deep: "{{ .Reason }}"}
)");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors(r));
  const auto& w = std::get<webhook_sink>(only_sink(r));
  ASSERT_TRUE(w.layout.has_value());
  const auto expected = nlohmann::json::parse(R"({
    "message": "{{ .Message }}", "count": 5, "ratio": 0.5, "flag": true, "nothing": null,
    "quoted": "5", "list": ["a", 1, {"k": "v"}], "nested": {"deep": "{{ .Reason }}"}})");
  EXPECT_EQ(*w.layout, expected);
  EXPECT_TRUE((*w.layout)["quoted"].is_string());
}

// Verifies that layout: null means "no layout" while layout: {} is an empty (non-null) layout.
TEST(ConfigLoader, LayoutNullVersusEmpty) {
  auto r = load(
      "receivers:\n  - name: a\n    stdout: {layout: null}\n  - name: b\n"
      "    stdout: {layout: {}}\n");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(std::get<stdout_sink>(r.cfg.receivers[0].sink).layout.has_value());
  const auto& b = std::get<stdout_sink>(r.cfg.receivers[1].sink).layout;
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, nlohmann::json::object());
}

// Verifies that every Loki key, resmoio's and ours, is read with its units.
TEST(ConfigLoader, ReadsAllLokiKeys) {
  auto r = load(R"(receivers:
  - name: loki
    loki:
      url: https://loki:3100/loki/api/v1/push
      streamLabels: {job: kubernetes-event, cluster: c1}
      headers: {X-Custom: v}
      layout: {msg: "{{ .Message }}"}
      tls: {insecureSkipVerify: true, serverName: loki.local, caFile: /ca, certFile: /c, keyFile: /k}
      tenant: team-a
      basicAuth: {username: u, passwordFile: /secrets/p}
      encoding: json
      gzip: true
      batchWait: 250ms
      batchSize: 512KB
      timeout: 1m30s
      minBackoff: 0.5
      maxBackoff: 2m
      maxRetries: 3
      maxRetryDuration: 90s
      labels: [namespace, reason]
      structuredMetadata: [kind, name]
      maxLineSize: 64KiB
      maxLineSizePolicy: drop
      maxQueuedBytes: 16MiB
      spool: {dir: /var/spool/ke, maxBytes: 2GiB, deadLetterMaxBytes: 10MiB}
    queue: {maxRecords: 500, onFull: drop}
)");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors(r));
  EXPECT_THAT(warnings(r), IsEmpty());
  const auto& l = std::get<loki_sink>(only_sink(r));
  EXPECT_EQ(l.url, "https://loki:3100/loki/api/v1/push");
  EXPECT_EQ(l.stream_labels, (string_pairs{{"job", "kubernetes-event"}, {"cluster", "c1"}}));
  EXPECT_EQ(l.headers, (string_pairs{{"X-Custom", "v"}}));
  ASSERT_TRUE(l.layout.has_value());
  EXPECT_EQ((*l.layout)["msg"], "{{ .Message }}");
  EXPECT_TRUE(l.tls.insecure_skip_verify);
  EXPECT_EQ(l.tls.server_name, "loki.local");
  EXPECT_EQ(l.tls.ca_file, "/ca");
  EXPECT_EQ(l.tls.cert_file, "/c");
  EXPECT_EQ(l.tls.key_file, "/k");
  EXPECT_EQ(l.tenant, "team-a");
  EXPECT_EQ(l.basic_auth.username, "u");
  EXPECT_EQ(l.basic_auth.password_file, "/secrets/p");
  EXPECT_EQ(l.encoding, loki_encoding::json);
  EXPECT_TRUE(l.gzip);
  EXPECT_EQ(l.batch_wait, milliseconds(250));
  EXPECT_EQ(l.batch_size, 512000u);
  EXPECT_EQ(l.timeout, milliseconds(90000));
  EXPECT_EQ(l.min_backoff, milliseconds(500));
  EXPECT_EQ(l.max_backoff, milliseconds(120000));
  EXPECT_EQ(l.max_retries, 3);
  EXPECT_EQ(l.max_retry_duration, milliseconds(90000));
  EXPECT_EQ(l.labels, (std::vector<std::string>{"namespace", "reason"}));
  EXPECT_EQ(l.structured_metadata, (std::vector<std::string>{"kind", "name"}));
  EXPECT_EQ(l.max_line_size, 65536u);
  EXPECT_EQ(l.on_line_too_long, line_too_long::drop);
  EXPECT_EQ(l.max_queued_bytes, 16u << 20);
  EXPECT_EQ(l.spool.dir, "/var/spool/ke");
  EXPECT_EQ(l.spool.max_bytes, 2ull << 30);
  EXPECT_EQ(l.spool.dead_letter_max_bytes, 10u << 20);
  EXPECT_EQ(r.cfg.receivers[0].queue.max_records, 500u);
  EXPECT_EQ(r.cfg.receivers[0].queue.on_full, overflow_policy::drop);
}

// Verifies the Loki defaults from config.hpp survive a minimal receiver.
TEST(ConfigLoader, LokiDefaults) {
  auto r = load("receivers:\n  - name: l\n    loki: {url: http://l/p, streamLabels: {a: b}}\n");
  ASSERT_TRUE(r.ok());
  const auto& l = std::get<loki_sink>(only_sink(r));
  const loki_sink defaults;
  EXPECT_EQ(l.encoding, defaults.encoding);
  EXPECT_EQ(l.batch_wait, defaults.batch_wait);
  EXPECT_EQ(l.batch_size, defaults.batch_size);
  EXPECT_EQ(l.max_retries, defaults.max_retries);
  EXPECT_EQ(l.max_retry_duration, milliseconds(300000));  // 5m, docs/loki-delivery.md
  EXPECT_EQ(l.spool.dead_letter_max_bytes, 100u << 20);   // 100MiB
  EXPECT_EQ(r.cfg.receivers[0].queue.max_records, 10000u);
  EXPECT_EQ(r.cfg.receivers[0].queue.on_full, overflow_policy::block);
}

// Verifies the Loki receiver's value checks, all reported together.
TEST(ConfigLoader, LokiValueErrors) {
  auto r = load(R"(receivers:
  - name: l
    loki:
      url: loki:3100/push
      streamLabels: {bad-name: x}
      encoding: xml
      batchSize: 1 lightyear
      timeout: 0
      minBackoff: 10m
      maxBackoff: 1m
      maxLineSizePolicy: wrap
      basicAuth: {password: p, passwordFile: /f}
      bearerToken: t
      bearerTokenFile: /t
    queue: {maxRecords: 0, onFull: later}
)");
  EXPECT_THAT(
      errors(r),
      ElementsAre(
          "receivers[0].loki.url: invalid URL \"loki:3100/push\" (expected http:// or https://)",
          "receivers[0].loki.streamLabels.bad-name: invalid Loki label name \"bad-name\" (must "
          "match [a-zA-Z_][a-zA-Z0-9_]*)",
          "receivers[0].loki.encoding: invalid encoding \"xml\" (expected protobuf or json)",
          "receivers[0].loki.batchSize: invalid size \"1 lightyear\": unknown unit "
          "\"lightyear\" (use B, KB, MB, GB, KiB, MiB or GiB)",
          "receivers[0].loki.timeout: must be larger than 0",
          "receivers[0].loki.minBackoff: must not be larger than maxBackoff",
          "receivers[0].loki.maxLineSizePolicy: invalid value \"wrap\" (expected truncate or "
          "drop)",
          "receivers[0].loki.basicAuth: set password or passwordFile, not both",
          "receivers[0].loki.basicAuth.username: required when a password is set",
          "receivers[0].loki.bearerToken: set bearerToken or bearerTokenFile, not both",
          "receivers[0].queue.maxRecords: value 0 out of range [1, 9223372036854775807]",
          "receivers[0].queue.onFull: invalid value \"later\" (expected block or drop)"));
}

// One minimal Loki receiver with these delivery-policy values.
load_result load_loki_policy(std::string_view max_retry_duration,
                             std::string_view dead_letter_max_bytes) {
  return load(
      "receivers:\n  - name: l\n    loki:\n      url: http://l/p\n"
      "      streamLabels: {a: b}\n      maxRetryDuration: " +
      std::string(max_retry_duration) +
      "\n      spool: {dir: /s, deadLetterMaxBytes: " + std::string(dead_letter_max_bytes) + "}\n");
}

// Verifies that maxRetryDuration: 0 and spool.deadLetterMaxBytes: 0 (the documented "off") load.
TEST(ConfigLoader, LokiPolicyKeysAcceptZero) {
  auto r = load_loki_policy("0", "0");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors(r));
  const auto& l = std::get<loki_sink>(only_sink(r));
  EXPECT_EQ(l.max_retry_duration, milliseconds(0));
  EXPECT_EQ(l.spool.dead_letter_max_bytes, 0u);
}

// Verifies that bad maxRetryDuration and spool.deadLetterMaxBytes values name their path.
TEST(ConfigLoader, LokiPolicyValueErrors) {
  auto r = load_loki_policy("soon", "1 lightyear");
  EXPECT_THAT(errors(r),
              ElementsAre("receivers[0].loki.maxRetryDuration: invalid duration \"soon\": "
                          "expected a number before the unit (examples: 500ms, 10s, 5m, or a "
                          "number of seconds)",
                          "receivers[0].loki.spool.deadLetterMaxBytes: invalid size "
                          "\"1 lightyear\": unknown unit \"lightyear\" (use B, KB, MB, GB, "
                          "KiB, MiB or GiB)"));
}

// Verifies that a Loki receiver needs a url and warns when no label would be sent.
TEST(ConfigLoader, LokiRequiresUrlAndLabels) {
  auto r = load("receivers:\n  - name: l\n    loki:\n      headers: {X-Scope-OrgID: t}\n");
  EXPECT_THAT(errors(r), ElementsAre("receivers[0].loki.url: required (e.g. "
                                     "http://loki:3100/loki/api/v1/push)"));
  EXPECT_THAT(warnings(r),
              ElementsAre("receivers[0].loki: no streamLabels or labels: Loki rejects streams "
                          "without labels; add e.g. streamLabels: {job: kubernetes-event}"));
}

// Verifies that the webhook sink reads endpoint, headers, layout and tls, and checks tls pairs.
TEST(ConfigLoader, WebhookSinkAndTlsPairs) {
  auto r = load(R"(receivers:
  - name: hook
    webhook:
      endpoint: https://example.com/hook
      headers: {Authorization: "Bearer x", User-Agent: ke}
      tls: {caFile: /ca.pem, certFile: /client.pem}
)");
  EXPECT_THAT(errors(r),
              ElementsAre("receivers[0].webhook.tls: certFile and keyFile must be set together"));
  const auto& w = std::get<webhook_sink>(only_sink(r));
  EXPECT_EQ(w.endpoint, "https://example.com/hook");
  EXPECT_EQ(w.headers, (string_pairs{{"Authorization", "Bearer x"}, {"User-Agent", "ke"}}));
  EXPECT_EQ(w.tls.ca_file, "/ca.pem");
}

// Verifies that resmoio sinks we do not implement are accepted with a warning, unchecked inside.
TEST(ConfigLoader, UnsupportedSinkIsAWarning) {
  auto r = load(
      "receivers:\n  - name: es\n    elasticsearch:\n      hosts: [http://es:9200]\n"
      "      whatever: {nested: true}\n  - name: k\n    kafka:\n");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(warnings(r),
              ElementsAre("receivers[0].elasticsearch: sink not implemented by "
                          "kube-event-exporter; records routed to \"es\" are dropped and counted",
                          "receivers[1].kafka: sink not implemented by kube-event-exporter; "
                          "records routed to \"k\" are dropped and counted"));
  EXPECT_EQ(std::get<unsupported_sink>(r.cfg.receivers[0].sink).kind, "elasticsearch");
  EXPECT_EQ(std::get<unsupported_sink>(r.cfg.receivers[1].sink).kind, "kafka");
}

// Verifies receiver-level structure errors: missing name, empty name, no sink, two sinks.
TEST(ConfigLoader, ReceiverStructureErrors) {
  auto r = load(R"(receivers:
  - stdout: {}
  - name: ""
    file: {path: /x}
  - name: nothing
  - name: both
    stdout: {}
    webhook: {endpoint: http://h}
    loki: {url: http://l, streamLabels: {a: b}}
  - just-a-string
)");
  EXPECT_THAT(errors(r),
              ElementsAre("receivers[0].name: required", "receivers[1].name: must not be empty",
                          "receivers[2]: no sink configured (expected one of stdout, file, loki, "
                          "webhook; other resmoio sinks are accepted but not implemented)",
                          "receivers[3]: more than one sink configured: stdout, webhook and loki "
                          "(a receiver has exactly one)",
                          "receivers[4]: expected a receiver (a map with a name and one sink), "
                          "got \"just-a-string\""));
}

// ---------------------------------------------------------------------------------------------
// Unknown keys and type errors

// Verifies unknown-key warnings everywhere, with the closest known key when it is close.
TEST(ConfigLoader, UnknownKeysAreWarnedWithSuggestions) {
  auto r = load(R"(loglevel: info
colour: blue
leaderElection: {enable: true}
route:
  match:
    - recevier: dump
      mincount: 2
receivers:
  - name: dump
    stdOut: {}
    stdout: {dedot: true, layot: {}}
    queue: {onfull: drop}
  - name: l
    loki:
      url: http://l
      streamLabel: {job: x}
      streamLabels: {job: x}
      tls: {insecureSkipVerfy: true}
      basicAuth: {usernme: a}
      spool: {directory: /x}
)");
  EXPECT_THAT(warnings(r),
              ElementsAre("loglevel: unknown key, did you mean logLevel?", "colour: unknown key",
                          "leaderElection.enable: unknown key, did you mean enabled?",
                          "route.match[0].recevier: unknown key, did you mean receiver?",
                          "route.match[0].mincount: unknown key, did you mean minCount?",
                          "receivers[0].stdOut: unknown key, did you mean stdout?",
                          "receivers[0].stdout.dedot: unknown key, did you mean deDot?",
                          "receivers[0].stdout.layot: unknown key, did you mean layout?",
                          "receivers[0].queue.onfull: unknown key, did you mean onFull?",
                          "receivers[1].loki.streamLabel: unknown key, did you mean streamLabels?",
                          "receivers[1].loki.tls.insecureSkipVerfy: unknown key, did you mean "
                          "insecureSkipVerify?",
                          "receivers[1].loki.basicAuth.usernme: unknown key, did you mean "
                          "username?",
                          "receivers[1].loki.spool.directory: unknown key"));
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(errors(r));
}

// Verifies that values of the wrong type are errors naming the path.
TEST(ConfigLoader, TypeErrorsNameThePath) {
  auto r = load(R"(cacheSize: lots
omitLookup: [true]
clusterName: {a: b}
leaderElection: [enabled]
route:
  routes: {match: []}
receivers:
  - name: l
    loki:
      url: http://l
      streamLabels: [job]
      labels: {a: b}
      maxRetries: 2.5
      batchWait: "-1s"
)");
  EXPECT_THAT(errors(r),
              ElementsAre("cacheSize: expected an integer, got \"lots\"",
                          "omitLookup: expected a boolean (true or false), got a list",
                          "clusterName: expected a string, got a map",
                          "leaderElection: expected a map, got a list",
                          "route.routes: expected a list of routes, got a map",
                          "receivers[0].loki.streamLabels: expected a map of strings, got a list",
                          "receivers[0].loki.labels: expected a list of strings, got a map",
                          "receivers[0].loki.maxRetries: expected an integer, got \"2.5\"",
                          "receivers[0].loki.batchWait: invalid duration \"-1s\": must not be "
                          "negative (examples: 500ms, 10s, 5m, or a number of seconds)"));
}

// ---------------------------------------------------------------------------------------------
// Private helpers: durations, sizes, suggestions

// Verifies Go-style durations and bare seconds.
TEST(ConfigLoaderHelpers, ParseDuration) {
  std::string why;
  using detail::parse_duration;
  EXPECT_EQ(parse_duration("500ms", &why), milliseconds(500));
  EXPECT_EQ(parse_duration("1s", &why), milliseconds(1000));
  EXPECT_EQ(parse_duration("5m", &why), milliseconds(300000));
  EXPECT_EQ(parse_duration("1h2m3s", &why), milliseconds(3723000));
  EXPECT_EQ(parse_duration("1.5s", &why), milliseconds(1500));
  EXPECT_EQ(parse_duration("2", &why), milliseconds(2000));
  EXPECT_EQ(parse_duration("0.25", &why), milliseconds(250));
  EXPECT_EQ(parse_duration("0", &why), milliseconds(0));
  EXPECT_EQ(parse_duration("100us", &why), milliseconds(1));  // rounded up, never to 0
  EXPECT_FALSE(parse_duration("5 minutes", &why));
  EXPECT_FALSE(parse_duration("ms", &why));
  EXPECT_FALSE(parse_duration("", &why));
  EXPECT_FALSE(parse_duration("-5s", &why));
  EXPECT_EQ(why, "must not be negative");
}

// Verifies byte sizes with SI and IEC units.
TEST(ConfigLoaderHelpers, ParseByteSize) {
  std::string why;
  using detail::parse_byte_size;
  EXPECT_EQ(parse_byte_size("1048576", &why), 1048576u);
  EXPECT_EQ(parse_byte_size("1MiB", &why), 1048576u);
  EXPECT_EQ(parse_byte_size("512KB", &why), 512000u);
  EXPECT_EQ(parse_byte_size("512 KiB", &why), 524288u);
  EXPECT_EQ(parse_byte_size("1.5Mi", &why), 1572864u);
  EXPECT_EQ(parse_byte_size("2G", &why), 2000000000u);
  EXPECT_EQ(parse_byte_size("10B", &why), 10u);
  EXPECT_FALSE(parse_byte_size("MiB", &why));
  EXPECT_FALSE(parse_byte_size("1XB", &why));
  EXPECT_FALSE(parse_byte_size("-1", &why));
}

// Verifies the did-you-mean choice: case-insensitive match first, then small edit distance.
TEST(ConfigLoaderHelpers, ClosestKey) {
  const std::vector<std::string_view> known = {"streamLabels", "headers", "url", "layout"};
  EXPECT_EQ(detail::closest_key("STREAMLABELS", known), "streamLabels");
  EXPECT_EQ(detail::closest_key("streamLabel", known), "streamLabels");
  EXPECT_EQ(detail::closest_key("header", known), "headers");
  EXPECT_EQ(detail::closest_key("uri", known), "url");
  EXPECT_EQ(detail::closest_key("x", known), std::nullopt);
  EXPECT_EQ(detail::closest_key("completely-different", known), std::nullopt);
  EXPECT_EQ(detail::edit_distance("kitten", "sitting"), 3u);
}

// ---------------------------------------------------------------------------------------------
// redacted_json

constexpr const char* secret_yaml = R"(clusterName: c
receivers:
  - name: l
    loki:
      url: https://user:hunter2-url@loki.example/loki/api/v1/push
      streamLabels: {job: kubernetes-event}
      headers: {X-Api-Key: hunter2-header}
      basicAuth: {username: admin, password: hunter2-password}
      layout: {apiToken: hunter2-layout, message: "{{ .Message }}"}
  - name: w
    webhook:
      endpoint: https://example.com/hook
      headers: {Authorization: "Bearer hunter2-bearer"}
  - name: b
    loki:
      url: http://l
      streamLabels: {job: x}
      bearerToken: hunter2-token
  - name: f
    loki:
      url: http://l
      streamLabels: {job: x}
      bearerTokenFile: /var/run/token
)";

// Verifies that no secret value appears anywhere in redacted_json.
TEST(ConfigLoader, RedactedJsonHidesSecrets) {
  auto r = load(secret_yaml);
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors(r));
  const std::string out = redacted_json(r.cfg);
  EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
  EXPECT_THAT(out, HasSubstr("<redacted>"));
  const auto doc = nlohmann::json::parse(out);
  const auto& loki = doc["receivers"][0]["loki"];
  EXPECT_EQ(loki["url"], "https://<redacted>@loki.example/loki/api/v1/push");
  EXPECT_EQ(loki["headers"]["X-Api-Key"], "<redacted>");
  EXPECT_EQ(loki["basicAuth"]["password"], "<redacted>");
  EXPECT_EQ(loki["basicAuth"]["username"], "admin");
  EXPECT_EQ(loki["layout"]["apiToken"], "<redacted>");
  EXPECT_EQ(loki["layout"]["message"], "{{ .Message }}");
  EXPECT_EQ(doc["receivers"][1]["webhook"]["headers"]["Authorization"], "<redacted>");
  EXPECT_EQ(doc["receivers"][2]["loki"]["bearerToken"], "<redacted>");
  EXPECT_EQ(doc["receivers"][3]["loki"]["bearerTokenFile"], "/var/run/token");  // a path
  EXPECT_EQ(doc["receivers"][3]["loki"]["bearerToken"], "");  // empty: nothing to hide
}

// Verifies that redacted_json uses resmoio's key names and shows defaults and routes.
TEST(ConfigLoader, RedactedJsonUsesResmoioNames) {
  auto r = load(route_yaml);
  ASSERT_TRUE(r.ok());
  const auto doc = nlohmann::json::parse(redacted_json(r.cfg));
  EXPECT_EQ(doc["logLevel"], "info");
  EXPECT_EQ(doc["maxEventAgeSeconds"], 5);
  EXPECT_EQ(doc["kubeQPS"], 5);
  EXPECT_EQ(doc["kubeBurst"], 10);
  EXPECT_EQ(doc["cacheSize"], 1024);
  EXPECT_EQ(doc["leaderElection"]["leaderElectionID"], "kubernetes-event-exporter");
  EXPECT_EQ(doc["route"]["routes"][0]["match"][1]["apiVersion"], "apps/v1");
  EXPECT_EQ(doc["route"]["routes"][0]["match"][1]["minCount"], 3);
  EXPECT_EQ(doc["route"]["routes"][0]["match"][1]["labels"]["app"], "web.*");
  EXPECT_EQ(doc["receivers"][0]["name"], "dump");
  EXPECT_TRUE(doc["receivers"][0]["stdout"].is_object());
  EXPECT_EQ(doc["receivers"][0]["queue"]["onFull"], "block");
  EXPECT_EQ(doc["eventsAPIVersion"], "v1");
  EXPECT_EQ(doc["exportRepeatedEvents"], true);
}

// Verifies that redacted_json shows the Loki delivery-policy keys, defaults and set values.
TEST(ConfigLoader, RedactedJsonShowsLokiPolicyKeys) {
  auto r = load(R"(receivers:
  - name: d
    loki: {url: http://l/p, streamLabels: {a: b}}
  - name: s
    loki:
      url: http://l/p
      streamLabels: {a: b}
      maxRetryDuration: 90s
      spool: {dir: /s, maxBytes: 1GiB, deadLetterMaxBytes: 10MiB}
)");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors(r));
  const auto doc = nlohmann::json::parse(redacted_json(r.cfg));
  const auto& d = doc["receivers"][0]["loki"];
  EXPECT_EQ(d["maxRetryDuration"], "300s");
  EXPECT_EQ(d["spool"]["deadLetterMaxBytes"], 100u << 20);
  const auto& s = doc["receivers"][1]["loki"];
  EXPECT_EQ(s["maxRetryDuration"], "90s");
  EXPECT_EQ(s["spool"]["dir"], "/s");
  EXPECT_EQ(s["spool"]["maxBytes"], 1u << 30);
  EXPECT_EQ(s["spool"]["deadLetterMaxBytes"], 10u << 20);
}

// ---------------------------------------------------------------------------------------------
// Shipped example configs and broken test configs

std::vector<fs::path> yaml_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".yaml") {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Verifies that every config/*.yaml loads without errors; the only warnings allowed are the
// unsupported-sink notice and the metricsNamePrefix recommendation.
TEST(ConfigLoader, EveryExampleConfigLoads) {
  // config/demo.yaml takes its Loki URL from scripts/demo.
  ::setenv("DEMO_LOKI_URL", "http://127.0.0.1:9428/insert/loki/api/v1/push", 1);
  const auto files = yaml_files(fs::path(KE_SOURCE_DIR) / "config");
  ASSERT_GE(files.size(), 20u);
  for (const auto& f : files) {
    auto r = load_file(f.string());
    EXPECT_TRUE(r.ok()) << f << ": " << ::testing::PrintToString(errors(r));
    for (const auto& w : warnings(r)) {
      EXPECT_THAT(w, HasSubstr("sink not implemented by kube-event-exporter")) << f;
    }
  }
}

// Verifies the recommended Loki example and the Bitnami default load to what they promise.
TEST(ConfigLoader, LokiAndBitnamiExamplesContent) {
  auto loki = load_file(std::string(KE_SOURCE_DIR) + "/config/loki.yaml");
  ASSERT_TRUE(loki.ok());
  EXPECT_THAT(lines(loki, diagnostic::level::warning), IsEmpty());
  const auto& l = std::get<loki_sink>(only_sink(loki));
  EXPECT_EQ(l.stream_labels, (string_pairs{{"job", "kubernetes-event"}}));
  EXPECT_EQ(loki.cfg.route.routes.at(0).match.at(0).receiver, "loki");

  auto bitnami = load_file(std::string(KE_SOURCE_DIR) + "/config/bitnami-default.yaml");
  ASSERT_TRUE(bitnami.ok());
  EXPECT_EQ(bitnami.cfg.log_level, "debug");
  EXPECT_EQ(bitnami.cfg.log_format, "pretty");
  const auto& f = std::get<file_sink>(only_sink(bitnami));
  EXPECT_EQ(f.path, "/dev/stdout");
  EXPECT_FALSE(f.layout.has_value());
  EXPECT_FALSE(bitnami.cfg.leader_election.enabled);
}

struct bad_config {
  const char* file;
  std::vector<std::string> errors;  // exact, in order; "@" is replaced by the file's full path
};

std::string bad_dir() { return std::string(KE_TEST_DATA) + "/config-bad/"; }

const std::vector<bad_config>& bad_configs() {
  static const std::vector<bad_config> all = {
      {"invalid-regex.yaml",
       {"route.routes[0].drop[0].namespace: invalid regular expression \"*test*\": missing "
        "argument to repetition operator: *",
        "route.routes[0].match[0].labels.app: invalid regular expression \"(web\": missing "
        "closing ): (web"}},
      {"undefined-receiver.yaml",
       {"route.routes[0].match[0].receiver: undefined receiver \"dumb\", did you mean \"dump\"?",
        "route.routes[1].match[0].receiver: undefined receiver \"slack\" (defined: \"dump\")"}},
      {"duplicate-receiver.yaml",
       {"receivers[2].name: duplicate receiver name \"dump\" (also defined at receivers[0])"}},
      {"no-sink.yaml",
       {"receivers[0]: no sink configured (expected one of stdout, file, loki, webhook; other "
        "resmoio sinks are accepted but not implemented)"}},
      {"two-sinks.yaml",
       {"receivers[0]: more than one sink configured: stdout and loki (a receiver has exactly "
        "one)"}},
      {"bad-metrics-prefix.yaml",
       {"metricsNamePrefix: invalid value \"event-exporter\": must match "
        "^[a-zA-Z][a-zA-Z0-9_:]*_$ (e.g. event_exporter_)"}},
      {"throttle-and-max-age.yaml",
       {"throttlePeriod: cannot set both throttlePeriod (deprecated) and maxEventAgeSeconds"}},
      {"bad-log-level.yaml",
       {"logLevel: invalid log level \"verbose\" (expected one of trace, debug, info, warn, "
        "error, fatal, panic, disabled)",
        "logFormat: invalid log format \"text\" (expected json or pretty)"}},
      {"type-error.yaml",
       {"kubeBurst: expected an integer, got \"abc\"",
        "leaderElection.enabled: expected a boolean (true or false), got \"sometimes\"",
        "route.match: expected a list of rules, got a map",
        "receivers[0].stdout.deDot: expected a boolean (true or false), got a list"}},
      {"yaml-syntax.yaml",
       {"@:6:33: invalid YAML: end of map not found in line \"        message: {{ .Message }} "
        "on {{ .InvolvedObject.Name }}\". Need to wrap values with special characters in "
        "quotes"}},
      {"many-problems.yaml",
       {"logLevel: invalid log level \"loud\" (expected one of trace, debug, info, warn, error, "
        "fatal, panic, disabled)",
        "throttlePeriod: cannot set both throttlePeriod (deprecated) and maxEventAgeSeconds",
        "kubeQPS: expected a number, got \"fast\"",
        "metricsNamePrefix: invalid value \"9lives_\": must match ^[a-zA-Z][a-zA-Z0-9_:]*_$ "
        "(e.g. event_exporter_)",
        "route.drop[0].namespace: invalid regular expression \"[kube-system\": missing closing "
        "]: [kube-system",
        "route.routes[0].match[0].receiver: undefined receiver \"alerts\" (defined: \"es\", "
        "\"loki\")",
        "receivers[0].loki.url: invalid URL \"loki:3100\" (expected http:// or https://)",
        "receivers[0].loki.batchWait: invalid duration \"soon\": expected a number before the "
        "unit (examples: 500ms, 10s, 5m, or a number of seconds)",
        "receivers[1].name: duplicate receiver name \"loki\" (also defined at receivers[0])",
        "receivers[3].name: required",
        "receivers[3]: more than one sink configured: stdout and file (a receiver has exactly "
        "one)"}},
      // resmoio's own documented examples that do not load as written.
      {"resmoio-readme-route.yaml",
       {"route.routes[0].match[0].receiver: undefined receiver \"dump\" (no receivers are "
        "defined)",
        "route.routes[1].drop[0].namespace: invalid regular expression \"*test*\": missing "
        "argument to repetition operator: *",
        "route.routes[1].match[0].receiver: undefined receiver \"critical-events-queue\" (no "
        "receivers are defined)",
        "route.routes[2].match[0].receiver: undefined receiver \"slack\" (no receivers are "
        "defined)"}},
      {"resmoio-readme-stdout.yaml",
       {"receivers[0].stdout.deDot: expected a boolean (true or false), got \"true|false\""}},
      {"resmoio-readme-opscenter.yaml",
       {"@:5:28: invalid YAML: end of map not found in line \"    title: \"{{ .Message }}\",\". "
        "Need to wrap values with special characters in quotes"}},
      {"resmoio-config-example.yaml",
       {"@:34:7: invalid YAML: end of map not found in line \"      opensearch:\""}},
  };
  return all;
}

// Verifies that each broken config yields exactly its expected error lines, in order.
TEST(ConfigLoader, BadConfigsReportExactErrors) {
  for (const auto& c : bad_configs()) {
    const std::string path = bad_dir() + c.file;
    auto r = load_file(path);
    std::vector<std::string> expected;
    for (auto e : c.errors) {
      if (e.rfind("@", 0) == 0) {
        e = path + e.substr(1);
      }
      expected.push_back(e);
    }
    EXPECT_EQ(errors(r), expected) << c.file;
    EXPECT_FALSE(r.ok()) << c.file;
  }
}

// Verifies that the many-problems config also reports every warning (nothing stops early).
TEST(ConfigLoader, ManyProblemsReportsAllWarnings) {
  auto r = load_file(bad_dir() + "many-problems.yaml");
  EXPECT_THAT(warnings(r),
              ElementsAre("route.routes[0].match[0].drop: \"drop\" inside a match rule is "
                          "ignored, so this rule matches as if it were absent (resmoio #232); put "
                          "drop: next to match:, at the route level",
                          "receivers[0].loki: no streamLabels or labels: Loki rejects streams "
                          "without labels; add e.g. streamLabels: {job: kubernetes-event}",
                          "receivers[0].loki.streamLabel: unknown key, did you mean streamLabels?",
                          "receivers[2].elasticsearch: sink not implemented by "
                          "kube-event-exporter; records routed to \"es\" are dropped and counted"));
  // The invalid prefix is an error, so the "is recommended" warning is not added on top.
  EXPECT_THAT(lines(r, diagnostic::level::warning),
              ::testing::Not(::testing::Contains(std::string(prefix_warning))));
}

// Verifies that every file in test/data/config-bad has expectations (none is silently skipped).
TEST(ConfigLoader, EveryBadConfigIsCovered) {
  std::set<std::string> covered;
  for (const auto& c : bad_configs()) {
    covered.insert(c.file);
  }
  for (const auto& f : yaml_files(bad_dir())) {
    EXPECT_EQ(covered.count(f.filename().string()), 1u) << f << " has no expected errors";
  }
}

// Verifies the ingest: and kubeBench: keys with their defaults and values.
TEST(ConfigLoader, IngestAndKubeBench) {
  auto none = load("metricsNamePrefix: x_\n");
  EXPECT_FALSE(none.cfg.ingest.enabled);
  EXPECT_EQ(none.cfg.kube_bench.stream_labels, (string_pairs{{"job", "kube-bench"}}));

  auto r = load(R"(
ingest:
  address: "127.0.0.1:9000"
  maxBodyBytes: 1MiB
  readTimeout: 5s
  auth:
    mode: tokenReview
    allowedServiceAccounts: ["kube-bench:kube-bench", "sec:runner"]
  tls: {certFile: /c.pem, keyFile: /k.pem}
kubeBench:
  streamLabels: {job: bench, cluster: c1}
  pushgateway: {url: "http://pgw:9091", job: kb}
)");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(errors(r));
  EXPECT_THAT(warnings(r), IsEmpty());
  const auto& in = r.cfg.ingest;
  EXPECT_TRUE(in.enabled);
  EXPECT_EQ(in.address, "127.0.0.1:9000");
  EXPECT_EQ(in.max_body_bytes, 1u << 20);
  EXPECT_EQ(in.read_timeout, std::chrono::seconds(5));
  EXPECT_EQ(in.auth_mode, ingest_auth_mode::token_review);
  EXPECT_THAT(in.allowed_service_accounts, ElementsAre("kube-bench:kube-bench", "sec:runner"));
  EXPECT_EQ(in.tls_cert_file, "/c.pem");
  EXPECT_EQ(in.tls_key_file, "/k.pem");
  EXPECT_EQ(r.cfg.kube_bench.stream_labels, (string_pairs{{"job", "bench"}, {"cluster", "c1"}}));
  EXPECT_EQ(r.cfg.kube_bench.pushgateway.url, "http://pgw:9091");
  EXPECT_EQ(r.cfg.kube_bench.pushgateway.job, "kb");
}

// Verifies the ingest auth modes: staticToken needs tokenFile, none warns, tokenReview needs
// ServiceAccounts as namespace:name.
TEST(ConfigLoader, IngestAuthValidation) {
  auto st = load("ingest:\n  auth: {mode: staticToken, tokenFile: /t}\n");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st.cfg.ingest.auth_mode, ingest_auth_mode::static_token);
  EXPECT_EQ(st.cfg.ingest.token_file, "/t");

  auto none = load("ingest:\n  auth: {mode: none}\n");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none.cfg.ingest.auth_mode, ingest_auth_mode::none);
  EXPECT_THAT(warnings(none), ElementsAre(HasSubstr("ingest.auth.mode: none: anyone")));

  EXPECT_THAT(errors(load("ingest:\n  auth: {mode: staticToken}\n")),
              ElementsAre("ingest.auth.tokenFile: staticToken needs tokenFile"));
  EXPECT_THAT(errors(load("ingest:\n  address: \":1\"\n")),
              ElementsAre(HasSubstr("ingest.auth.allowedServiceAccounts: tokenReview")));
  EXPECT_THAT(errors(load("ingest:\n  auth: {allowedServiceAccounts: [kube-bench]}\n")),
              ElementsAre(HasSubstr("ingest.auth.allowedServiceAccounts[0]: \"kube-bench\" is "
                                    "not a ServiceAccount as namespace:name")));
  EXPECT_THAT(errors(load("ingest:\n  auth: {mode: oidc}\n")),
              ElementsAre(HasSubstr("ingest.auth.mode: invalid value \"oidc\"")));
  EXPECT_THAT(errors(load("ingest:\n  maxBodyBytes: 0\n  auth: {mode: none}\n")),
              ElementsAre(HasSubstr("ingest.maxBodyBytes: must be between 1 and 1GiB")));
  EXPECT_THAT(errors(load("ingest:\n  tls: {certFile: /c}\n  auth: {mode: none}\n")),
              ElementsAre(HasSubstr("ingest.tls: certFile and keyFile must be given together")));
  EXPECT_THAT(warnings(load("ingest:\n  adress: x\n  auth: {mode: none}\n")),
              ::testing::Contains(HasSubstr("ingest.adress: unknown key, did you mean address?")));
}

// Verifies kubeBench.streamLabels validation.
TEST(ConfigLoader, KubeBenchStreamLabelsValidation) {
  EXPECT_THAT(errors(load("kubeBench:\n  streamLabels: {status: x}\n")),
              ElementsAre(HasSubstr("kubeBench.streamLabels.status: reserved")));
  EXPECT_THAT(errors(load("kubeBench:\n  streamLabels: {\"a-b\": x}\n")),
              ElementsAre(HasSubstr("kubeBench.streamLabels.a-b: invalid label name")));
  EXPECT_THAT(errors(load("kubeBench:\n  pushgateway: {url: \"ftp//x\"}\n")),
              ElementsAre(HasSubstr("kubeBench.pushgateway.url: invalid URL")));
}

}  // namespace
}  // namespace ke::config
