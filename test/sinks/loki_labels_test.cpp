#include <gtest/gtest.h>

#include <algorithm>

#include "core/utf8.hpp"
#include "sinks/loki/labels.hpp"

namespace ke::sinks::loki {
namespace {

std::string go_quoted(std::string_view v) {
  std::string out;
  ke::go_quote(v, out);
  return out;
}

bool has_problem(const diagnostics& d, const std::string& path, diagnostic::level lvl,
                 const std::string& words = "") {
  return std::any_of(d.begin(), d.end(), [&](const diagnostic& x) {
    return x.path == path && x.severity == lvl &&
           (words.empty() || x.message.find(words) != std::string::npos);
  });
}

config::loki_sink base_config() {
  config::loki_sink c;
  c.url = "http://loki:3100/loki/api/v1/push";
  c.stream_labels = {{"job", "kubernetes-event"}};
  return c;
}

record sample() {
  record r;
  r.namespace_ = "default";
  r.name = "pod-1.17a";
  r.uid = "u-1";
  r.reason = "BackOff";
  r.type = "Warning";
  r.kind = "Pod";
  r.api_version = "v1";
  r.component = "kubelet";
  r.host = "node-1";
  r.message = "Back-off restarting";
  r.count = 3;
  r.doc = nlohmann::ordered_json::parse(
      R"({"clusterName":"prod","involvedObject":{"name":"pod-1","labels":{"app":"web"}},"n":7})");
  return r;
}

// Verifies that labels are rendered like Loki's client: sorted names, quoted values, ", ".
TEST(LokiLabels, FormatIsSortedAndQuoted) {
  EXPECT_EQ(format_labels({{"a", "x"}, {"job", "y"}}), R"({a="x", job="y"})");
  EXPECT_EQ(format_labels({}), "{}");
}

// Verifies Go strconv.Quote escapes for quotes, backslashes and control characters.
TEST(LokiLabels, GoQuoteEscapes) {
  EXPECT_EQ(go_quoted(R"(say "hi" \ there)"), R"("say \"hi\" \\ there")");
  EXPECT_EQ(go_quoted("a\nb\tc\rd"), R"("a\nb\tc\rd")");
  EXPECT_EQ(go_quoted("\a\b\f\v"), R"("\a\b\f\v")");
  EXPECT_EQ(go_quoted(std::string("\x01\x7f", 2)), R"("\x01\x7f")");
}

// Verifies that printable UTF-8 is kept while invalid bytes and non-printables are escaped.
TEST(LokiLabels, GoQuoteUtf8) {
  EXPECT_EQ(go_quoted("grüße 🚀"), "\"grüße 🚀\"");
  EXPECT_EQ(go_quoted("\xff"), R"("\xff")");
  EXPECT_EQ(go_quoted("a\xc3"), R"("a\xc3")");            // truncated sequence
  EXPECT_EQ(go_quoted("\xc0\xaf"), R"("\xc0\xaf")");      // overlong
  EXPECT_EQ(go_quoted("nb\u00a0sp"), R"("nb\u00a0sp")");  // no-break space
  EXPECT_EQ(go_quoted("\u2028"), R"("\u2028")");          // line separator
  EXPECT_EQ(go_quoted("\u0085"), R"("\u0085")");          // C1 control
  EXPECT_EQ(go_quoted("\U000F0000"), R"("\U000f0000")");  // private use plane
}

// Verifies the label name rule: [a-zA-Z_][a-zA-Z0-9_]* without the reserved "__" prefix.
TEST(LokiLabels, NameRule) {
  EXPECT_TRUE(valid_label_name("job"));
  EXPECT_TRUE(valid_label_name("_x9"));
  EXPECT_TRUE(valid_label_name("Namespace_2"));
  EXPECT_FALSE(valid_label_name(""));
  EXPECT_FALSE(valid_label_name("9job"));
  EXPECT_FALSE(valid_label_name("app.kubernetes.io/name"));
  EXPECT_FALSE(valid_label_name("__name__"));
  EXPECT_FALSE(valid_label_name("with-dash"));
}

// Verifies that known record fields and dotted document paths resolve to values.
TEST(LokiLabels, FieldValues) {
  const record r = sample();
  auto value = [&](std::string_view spec) { return field_ref::parse(spec, nullptr)->value(r); };
  EXPECT_EQ(value("namespace"), "default");
  EXPECT_EQ(value("reason"), "BackOff");
  EXPECT_EQ(value("apiVersion"), "v1");
  EXPECT_EQ(value("count"), "3");
  EXPECT_EQ(value("source"), "kube_event");
  EXPECT_EQ(value("clusterName"), "prod");
  EXPECT_EQ(value("involvedObject.name"), "pod-1");
  EXPECT_EQ(value("n.x"), "");
  EXPECT_EQ(value("involvedObject.missing"), "");
  EXPECT_EQ(field_ref::parse("involvedObject.labels.app", nullptr)->label,
            "involvedObject_labels_app");
  std::string error;
  EXPECT_FALSE(field_ref::parse("nope", &error));
  EXPECT_NE(error.find("unknown record field"), std::string::npos);
  EXPECT_FALSE(field_ref::parse("a..b", &error));
}

// Verifies that a record's labels combine streamLabels, label fields and the record's own
// stream labels, sorted, with empty values dropped.
TEST(LokiLabels, LabelsForCombinesSources) {
  auto c = base_config();
  c.labels = {"namespace", "reason", "host", "clusterName"};
  diagnostics d;
  const auto rules = label_rules::compile(c, "receivers[0].loki", d);
  ASSERT_TRUE(rules);
  record r = sample();
  r.host.clear();
  r.stream_labels = {{"node", "n1"}, {"job", "kube-bench"}};
  string_pairs out;
  EXPECT_EQ(rules->labels_for(r, out), 0u);
  EXPECT_EQ(
      format_labels(out),
      R"({clusterName="prod", job="kube-bench", namespace="default", node="n1", reason="BackOff"})");
}

// Verifies that invalid record label names are skipped, and that the 15-name limit keeps the
// receiver's own labels.
TEST(LokiLabels, LabelsForEnforcesLimits) {
  auto c = base_config();
  c.labels = {"namespace"};
  diagnostics d;
  const auto rules = label_rules::compile(c, "r", d);
  ASSERT_TRUE(rules);
  record r = sample();
  r.stream_labels = {{"bad-name", "x"}, {"__reserved", "y"}};
  for (int i = 0; i < 20; ++i) {
    r.stream_labels.emplace_back("a" + std::to_string(i), "v");
  }
  string_pairs out;
  EXPECT_EQ(rules->labels_for(r, out), 2u + 7u);
  ASSERT_EQ(out.size(), max_label_names);
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end()));
  const auto has = [&](const std::string& n) {
    return std::any_of(out.begin(), out.end(), [&](const auto& p) { return p.first == n; });
  };
  EXPECT_TRUE(has("job"));
  EXPECT_TRUE(has("namespace"));
  EXPECT_FALSE(has("bad-name"));
}

// Verifies that label values longer than Loki's limit are cut on a UTF-8 boundary.
TEST(LokiLabels, LongValuesAreCut) {
  auto c = base_config();
  c.labels = {"reason"};
  diagnostics d;
  const auto rules = label_rules::compile(c, "r", d);
  record r = sample();
  r.reason = std::string(max_label_value_bytes - 1, 'x') + "ü";
  string_pairs out;
  rules->labels_for(r, out);
  const auto it =
      std::find_if(out.begin(), out.end(), [](const auto& p) { return p.first == "reason"; });
  ASSERT_NE(it, out.end());
  EXPECT_EQ(it->second.size(), max_label_value_bytes - 1);
}

// Verifies that structured metadata follows config order and drops empty values.
TEST(LokiLabels, MetadataFor) {
  auto c = base_config();
  c.structured_metadata = {"uid", "name", "component", "involvedObject.name"};
  diagnostics d;
  const auto rules = label_rules::compile(c, "r", d);
  ASSERT_TRUE(rules);
  record r = sample();
  r.component.clear();
  string_pairs out;
  rules->metadata_for(r, out);
  const string_pairs want = {
      {"uid", "u-1"}, {"name", "pod-1.17a"}, {"involvedObject_name", "pod-1"}};
  EXPECT_EQ(out, want);
}

// Verifies that an invalid streamLabels name is an error naming the key.
TEST(LokiLabels, InvalidStreamLabelNameIsAnError) {
  auto c = base_config();
  c.stream_labels.emplace_back("app.kubernetes.io/name", "x");
  c.stream_labels.emplace_back("__name__", "y");
  diagnostics d;
  EXPECT_FALSE(label_rules::compile(c, "receivers[2].loki", d));
  EXPECT_TRUE(has_problem(d, "receivers[2].loki.streamLabels.app.kubernetes.io/name",
                          diagnostic::level::error, "invalid Loki label name"));
  EXPECT_TRUE(has_problem(d, "receivers[2].loki.streamLabels.__name__", diagnostic::level::error));
}

// Verifies that a config without any label is an error (resmoio silently lost everything).
TEST(LokiLabels, NoLabelsIsAnError) {
  auto c = base_config();
  c.stream_labels.clear();
  diagnostics d;
  EXPECT_FALSE(label_rules::compile(c, "receivers[0].loki", d));
  EXPECT_TRUE(
      has_problem(d, "receivers[0].loki.streamLabels", diagnostic::level::error, "no labels"));
  c.stream_labels = {{"job", ""}};
  d.clear();
  EXPECT_FALSE(label_rules::compile(c, "receivers[0].loki", d));
  EXPECT_TRUE(has_problem(d, "receivers[0].loki.streamLabels.job", diagnostic::level::warning));
}

// Verifies that more than 15 label names is an error.
TEST(LokiLabels, TooManyNamesIsAnError) {
  auto c = base_config();
  for (int i = 0; i < 15; ++i) {
    c.stream_labels.emplace_back("l" + std::to_string(i), "v");
  }
  diagnostics d;
  EXPECT_FALSE(label_rules::compile(c, "r", d));
  EXPECT_TRUE(has_problem(d, "r.labels", diagnostic::level::error, "at most 15"));
}

// Verifies that label fields are checked: unknown names, high-cardinality fields and duplicates.
TEST(LokiLabels, LabelFieldsAreChecked) {
  auto c = base_config();
  c.labels = {"namespace", "nope", "uid", "namespace", "job"};
  diagnostics d;
  EXPECT_FALSE(label_rules::compile(c, "r", d));
  EXPECT_TRUE(has_problem(d, "r.labels[1]", diagnostic::level::error, "unknown record field"));
  EXPECT_TRUE(has_problem(d, "r.labels[2]", diagnostic::level::error, "structuredMetadata"));
  EXPECT_TRUE(has_problem(d, "r.labels[3]", diagnostic::level::error, "already set"));
  EXPECT_FALSE(has_problem(d, "r.labels[0]", diagnostic::level::error));
  // "job" is not a record field.
  EXPECT_TRUE(has_problem(d, "r.labels[4]", diagnostic::level::error));
}

// Verifies that long static label values are an error.
TEST(LokiLabels, LongStaticValueIsAnError) {
  auto c = base_config();
  c.stream_labels.emplace_back("big", std::string(max_label_value_bytes + 1, 'v'));
  diagnostics d;
  EXPECT_FALSE(label_rules::compile(c, "r", d));
  EXPECT_TRUE(has_problem(d, "r.streamLabels.big", diagnostic::level::error));
}

}  // namespace
}  // namespace ke::sinks::loki
