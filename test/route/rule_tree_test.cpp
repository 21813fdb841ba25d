// Tests for route::rule_tree: resmoio's Route/Rule semantics (route_test.go, rule_test.go, the
// README examples) and the corner cases of the contract.
#include "route/rule_tree.hpp"

// Config values are built with designated initializers that leave the other fields at their
// defaults, which is the point; -Wextra would flag every omitted field.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

// Counts heap allocations while enabled, to check that route() allocates nothing.
namespace {
std::atomic<bool> g_count_allocs{false};
std::atomic<long> g_allocs{0};
}  // namespace

void* operator new(std::size_t n) {
  if (g_count_allocs.load(std::memory_order_relaxed)) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) {
    return p;
  }
  throw std::bad_alloc();
}
// The other forms, so every allocation pairs with a matching deallocation (std::stable_sort
// uses the nothrow form; sanitizers check the pairing).
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (g_count_allocs.load(std::memory_order_relaxed)) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
  }
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace ke::route {
namespace {

using config::route;
using config::rule;

const std::vector<std::string> receivers = {
    "dump", "osman", "any", "elastic", "critical-events-queue", "slack", "alerts",
    "a",    "b",     "c",   "d"};

string_pairs sorted(string_pairs p) {
  std::sort(p.begin(), p.end());
  return p;
}

// An event with the routing fields resmoio's rules read.
struct ev {
  std::string namespace_, kind, api_version, reason, type, message, component, host;
  string_pairs labels, annotations;
  std::int32_t count = 0;

  record to_record() const {
    record r;
    r.namespace_ = namespace_;
    r.kind = kind;
    r.api_version = api_version;
    r.reason = reason;
    r.type = type;
    r.message = message;
    r.component = component;
    r.host = host;
    r.labels = sorted(labels);
    r.annotations = sorted(annotations);
    r.count = count;
    return r;
  }
};

std::vector<std::string> route_names(const rule_tree& tree, const record& r) {
  std::vector<std::uint32_t> out;
  tree.route(r, out);
  std::vector<std::string> names;
  for (auto i : out) {
    names.push_back(receivers.at(i));
  }
  return names;
}

struct route_case {
  const char* name;
  route root;
  ev event;
  std::vector<std::string> want;  // receivers in send order
};

// A route with a single match rule sending to "dump": the rule matches iff want == {dump}.
route one_rule(rule r) {
  r.receiver = "dump";
  return route{.match = {r}};
}

const std::vector<std::string> dump = {"dump"};
const std::vector<std::string> none = {};

// README "Configuration" tree with the invalid "*test*" pattern replaced by "test".
route readme_tree() {
  return route{.routes = {
                   route{.match = {rule{.receiver = "dump"}}},
                   route{.drop = {rule{.namespace_ = "test"}, rule{.type = "Normal"}},
                         .match = {rule{.receiver = "critical-events-queue"}}},
                   route{.match = {rule{.kind = "Pod|Deployment|ReplicaSet",
                                        .labels = {{"version", "dev"}},
                                        .receiver = "slack"}}},
               }};
}

std::vector<route_case> cases() {
  return {
      // resmoio pkg/exporter/route_test.go
      {"EmptyRoute", route{}, ev{}, none},
      {"BasicRoute",
       route{.match = {rule{.namespace_ = "kube-system", .receiver = "osman"}}},
       ev{.namespace_ = "kube-system"},
       {"osman"}},
      {"DropRule",
       route{.drop = {rule{.namespace_ = "kube-system"}}, .match = {rule{.receiver = "osman"}}},
       ev{.namespace_ = "kube-system"}, none},
      {"SingleLevelMultipleMatch",
       route{.match = {rule{.namespace_ = "kube-system", .receiver = "osman"},
                       rule{.receiver = "any"}}},
       ev{.namespace_ = "kube-system"},
       {"osman", "any"}},
      {"SubRoute",
       route{.match = {rule{.namespace_ = "kube-system"}},
             .routes = {route{.match = {rule{.receiver = "osman"}}}}},
       ev{.namespace_ = "kube-system"},
       {"osman"}},
      {"SubSubRoute",
       route{.match = {rule{.namespace_ = "kube-*"}},
             .routes = {route{.match = {rule{.receiver = "osman"}},
                              .routes = {route{.match = {rule{.receiver = "any"}}}}}}},
       ev{.namespace_ = "kube-system"},
       {"osman", "any"}},
      {"SubSubRouteWithDrop",
       route{.match = {rule{.namespace_ = "kube-*"}},
             .routes = {route{.match = {rule{.receiver = "osman"}},
                              .routes = {route{.drop = {rule{.namespace_ = "kube-system"}},
                                               .match = {rule{.receiver = "any"}}}}}}},
       ev{.namespace_ = "kube-system"},
       {"osman"}},
      {"GHIssue51Matches",
       route{.drop = {rule{.type = "Normal"}},
             .match = {rule{.reason = "FailedCreatePodContainer", .receiver = "elastic"}}},
       ev{.reason = "FailedCreatePodContainer", .type = "Warning"},
       {"elastic"}},
      {"GHIssue51PrefixDoesNotMatch",
       route{.drop = {rule{.type = "Normal"}},
             .match = {rule{.reason = "FailedCreatePodContainer", .receiver = "elastic"}}},
       ev{.reason = "FailedCreate", .type = "Warning"}, none},
      // resmoio pkg/exporter/rule_test.go
      {"EmptyRule", one_rule(rule{}), ev{}, dump},
      {"BasicRule", one_rule(rule{.namespace_ = "kube-system"}), ev{.namespace_ = "kube-system"},
       dump},
      {"BasicNoMatchRule", one_rule(rule{.namespace_ = "kube-system"}), ev{.namespace_ = "default"},
       none},
      {"BasicRegexRuleSystem", one_rule(rule{.namespace_ = "kube-*"}),
       ev{.namespace_ = "kube-system"}, dump},
      {"BasicRegexRulePublic", one_rule(rule{.namespace_ = "kube-*"}),
       ev{.namespace_ = "kube-public"}, dump},
      {"BasicRegexRuleDefault", one_rule(rule{.namespace_ = "kube-*"}), ev{.namespace_ = "default"},
       none},
      {"LabelRegexRule", one_rule(rule{.labels = {{"version", "alpha"}}}),
       ev{.labels = {{"version", "alpha-123"}}}, dump},
      {"OneLabelMatchesRule", one_rule(rule{.labels = {{"env", "prod"}}}),
       ev{.labels = {{"env", "prod"}}}, dump},
      {"OneLabelDoesNotMatchRule", one_rule(rule{.labels = {{"env", "prod"}}}),
       ev{.labels = {{"env", "lab"}}}, none},
      {"TwoLabelMatchesRule", one_rule(rule{.labels = {{"env", "prod"}, {"version", "beta"}}}),
       ev{.labels = {{"env", "prod"}, {"version", "beta"}}}, dump},
      {"TwoLabelRequiredRule", one_rule(rule{.labels = {{"env", "prod"}, {"version", "beta"}}}),
       ev{.labels = {{"env", "prod"}, {"version", "alpha"}}}, none},
      {"TwoLabelRequiredOneMissingRule",
       one_rule(rule{.labels = {{"env", "prod"}, {"version", "beta"}}}),
       ev{.labels = {{"age", "very-old"}, {"version", "beta"}}}, none},
      {"OneAnnotationMatchesRule", one_rule(rule{.annotations = {{"name", "sou*"}}}),
       ev{.annotations = {{"name", "source"}, {"service", "event-exporter"}}}, dump},
      {"OneAnnotationDoesNotMatchRule", one_rule(rule{.annotations = {{"name", "test*"}}}),
       ev{.annotations = {{"name", "source"}}}, none},
      {"TwoAnnotationsMatchesRule",
       one_rule(rule{.annotations = {{"name", "sou.*"}, {"service", "event*"}}}),
       ev{.annotations = {{"name", "source"}, {"service", "event-exporter"}}}, dump},
      {"TwoAnnotationsRequiredOneMissingRule",
       one_rule(rule{.annotations = {{"name", "sou*"}, {"service", "event*"}}}),
       ev{.annotations = {{"service", "event-exporter"}}}, none},
      {"ComplexRuleNoMatch",
       one_rule(rule{.namespace_ = "kube-system",
                     .type = "Warning",
                     .labels = {{"env", "prod"}, {"version", "alpha"}}}),
       ev{.labels = {{"env", "prod"}, {"version", "alpha"}}}, none},
      {"ComplexRuleMatches",
       one_rule(rule{.kind = "Pod",
                     .namespace_ = "kube-system",
                     .labels = {{"env", "prod"}, {"version", "alpha"}},
                     .annotations = {{"service", "event*"}}}),
       ev{.namespace_ = "kube-system",
          .kind = "Pod",
          .labels = {{"env", "prod"}, {"version", "alpha"}},
          .annotations = {{"service", "event-exporter"}}},
       dump},
      {"ComplexRuleAnnotationsNoMatch",
       one_rule(rule{.kind = "Pod",
                     .namespace_ = "kube-system",
                     .labels = {{"env", "prod"}, {"version", "alpha"}},
                     .annotations = {{"name", "test*"}}}),
       ev{.namespace_ = "kube-system",
          .kind = "Pod",
          .labels = {{"env", "prod"}, {"version", "alpha"}},
          .annotations = {{"service", "event*"}}},
       none},
      {"ComplexRuleMatchesRegexp",
       one_rule(rule{.kind = "Po*",
                     .namespace_ = "kube*",
                     .labels = {{"env", "prod"}, {"version", "alpha|beta"}}}),
       ev{.namespace_ = "kube-system",
          .kind = "Pod",
          .labels = {{"env", "prod"}, {"version", "alpha"}}},
       dump},
      {"ComplexRuleNoMatchRegexp",
       one_rule(rule{.namespace_ = "kube*",
                     .type = "Deployment|ReplicaSet",
                     .labels = {{"env", "prod"}, {"version", "alpha|beta"}}}),
       ev{.namespace_ = "kube-system",
          .type = "Pod",
          .labels = {{"env", "prod"}, {"version", "alpha"}}},
       none},
      {"MessageRegexp", one_rule(rule{.message = "pulled.*nginx.*", .type = "Pod"}),
       ev{.namespace_ = "default",
          .type = "Pod",
          .message = "Successfully pulled image \"nginx:latest\""},
       dump},
      {"CountBelowMinCount",
       one_rule(rule{.message = "pulled.*nginx.*", .type = "Pod", .min_count = 30}),
       ev{.type = "Pod", .message = "Successfully pulled image \"nginx:latest\"", .count = 5},
       none},
      // README examples.
      {"ReadmeTreeNormalEventOnlyDumped", readme_tree(),
       ev{.namespace_ = "default", .kind = "Pod", .type = "Normal"}, dump},
      {"ReadmeTreeWarningGoesToCritical",
       readme_tree(),
       ev{.namespace_ = "default", .kind = "Node", .type = "Warning"},
       {"dump", "critical-events-queue"}},
      {"ReadmeTreeTestNamespaceDroppedFromCriticalOnly", readme_tree(),
       ev{.namespace_ = "my-test-ns", .kind = "Node", .type = "Warning"}, dump},
      {"ReadmeTreeDevPodReachesSlack",
       readme_tree(),
       ev{.namespace_ = "default",
          .kind = "Pod",
          .type = "Warning",
          .labels = {{"version", "dev"}}},
       {"dump", "critical-events-queue", "slack"}},
      {"ReadmeTreeNormalDevDeploymentSkipsCritical",
       readme_tree(),
       ev{.namespace_ = "default",
          .kind = "Deployment",
          .type = "Normal",
          .labels = {{"version", "dev"}}},
       {"dump", "slack"}},
      {"ReadmeStdoutRouteDumpsEverything",
       route{.routes = {route{.match = {rule{.receiver = "dump"}}}}},
       ev{.namespace_ = "kube-system", .type = "Normal"}, dump},
      // Contract corner cases.
      {"KindPodMatchesPodDisruptionBudget", one_rule(rule{.kind = "Pod"}),
       ev{.kind = "PodDisruptionBudget"}, dump},
      {"AnchoredKindDoesNotMatchPodDisruptionBudget", one_rule(rule{.kind = "^Pod$"}),
       ev{.kind = "PodDisruptionBudget"}, none},
      {"PatternsAreCaseSensitive", one_rule(rule{.kind = "pod"}), ev{.kind = "Pod"}, none},
      {"CaseInsensitiveFlagWorks", one_rule(rule{.kind = "(?i)pod"}), ev{.kind = "Pod"}, dump},
      {"DropInSubtreeLeavesParentAndSiblings",
       route{.match = {rule{.receiver = "a"}},
             .routes = {route{.drop = {rule{.type = "Normal"}}, .match = {rule{.receiver = "b"}}},
                        route{.match = {rule{.receiver = "c"}}}}},
       ev{.type = "Normal"},
       {"a", "c"}},
      {"DropAtRootEndsEverything",
       route{.drop = {rule{.type = "Normal"}},
             .match = {rule{.receiver = "a"}},
             .routes = {route{.match = {rule{.receiver = "b"}}}}},
       ev{.type = "Normal"}, none},
      {"AnyDropRuleDrops",
       route{.drop = {rule{.namespace_ = "nope"}, rule{.reason = "BackOff"}},
             .match = {rule{.receiver = "a"}}},
       ev{.reason = "BackOff"}, none},
      {"MatchWithoutReceiverGatesChildrenClosed",
       route{.match = {rule{.kind = "Pod"}},
             .routes = {route{.match = {rule{.receiver = "dump"}}}}},
       ev{.kind = "Node"}, none},
      {"MatchWithoutReceiverGatesChildrenOpen",
       route{.match = {rule{.kind = "Pod"}},
             .routes = {route{.match = {rule{.receiver = "dump"}}}}},
       ev{.kind = "Pod"}, dump},
      {"FailedMatchStillLetsOtherRulesSendButBlocksChildren",
       route{.match = {rule{.reason = "Killing", .receiver = "a"}, rule{.receiver = "b"}},
             .routes = {route{.match = {rule{.receiver = "c"}}}}},
       ev{.reason = "BackOff"},
       {"b"}},
      {"SameReceiverTwiceInOneRoute",
       route{.match = {rule{.receiver = "dump"}, rule{.kind = "Pod", .receiver = "dump"}}},
       ev{.kind = "Pod"},
       {"dump", "dump"}},
      {"SameReceiverFromTwoRoutes",
       route{.routes = {route{.match = {rule{.receiver = "dump"}}},
                        route{.match = {rule{.receiver = "dump"}}}}},
       ev{},
       {"dump", "dump"}},
      {"EmptyMatchListWalksChildren",
       route{.drop = {rule{.type = "Normal"}}, .routes = {route{.match = {rule{.receiver = "a"}}}}},
       ev{.type = "Warning"},
       {"a"}},
      {"DepthFirstSendOrder",
       route{.match = {rule{.receiver = "a"}},
             .routes = {route{.match = {rule{.receiver = "b"}},
                              .routes = {route{.match = {rule{.receiver = "c"}}}}},
                        route{.match = {rule{.receiver = "d"}}}}},
       ev{},
       {"a", "b", "c", "d"}},
      {"MinCountEqualPasses", one_rule(rule{.min_count = 5}), ev{.count = 5}, dump},
      {"MinCountAboveFails", one_rule(rule{.min_count = 5}), ev{.count = 4}, none},
      {"MinCountZeroPassesZeroCount", one_rule(rule{.min_count = 0}), ev{.count = 0}, dump},
      {"LabelKeyMissingFails", one_rule(rule{.labels = {{"team", ".*"}}}),
       ev{.labels = {{"app", "web"}}}, none},
      {"EmptyLabelPatternRequiresKey", one_rule(rule{.labels = {{"app", ""}}}),
       ev{.labels = {{"app", "anything"}}}, dump},
      {"EmptyLabelPatternKeyAbsentFails", one_rule(rule{.labels = {{"app", ""}}}),
       ev{.labels = {{"team", "x"}}}, none},
      {"EmptyLabelPatternMatchesEmptyValue", one_rule(rule{.labels = {{"app", ""}}}),
       ev{.labels = {{"app", ""}}}, dump},
      {"AnnotationKeyMissingFails", one_rule(rule{.annotations = {{"owner", ""}}}),
       ev{.labels = {{"owner", "x"}}}, none},
      {"NamespaceIsTheEventsOwn", one_rule(rule{.namespace_ = "kube-system"}),
       ev{.namespace_ = "default", .kind = "Node"}, none},
      {"ApiVersionIsUnanchored", one_rule(rule{.api_version = "v1"}), ev{.api_version = "apps/v1"},
       dump},
      {"ApiVersionLiteralMismatch", one_rule(rule{.api_version = "batch/v1"}),
       ev{.api_version = "apps/v1"}, none},
      {"ComponentAndHostRules", one_rule(rule{.component = "^kubelet$", .host = "node-[0-9]+"}),
       ev{.component = "kubelet", .host = "node-12"}, dump},
      {"HostMismatch", one_rule(rule{.component = "kubelet", .host = "node-[0-9]+"}),
       ev{.component = "kubelet", .host = "master"}, none},
      {"FieldsAreAnded", one_rule(rule{.reason = "BackOff", .type = "Warning"}),
       ev{.reason = "Failed", .type = "Warning"}, none},
      {"EmptyFieldIsAny", one_rule(rule{.reason = "", .type = "Warning"}),
       ev{.reason = "Anything", .type = "Warning"}, dump},
  };
}

class RouteCases : public ::testing::TestWithParam<route_case> {};

// Verifies that each routing case sends the event to exactly the expected receivers, in order.
TEST_P(RouteCases, SendsToExpectedReceivers) {
  const route_case& c = GetParam();
  diagnostics problems;
  auto tree = rule_tree::compile(c.root, receivers, problems);
  ASSERT_NE(tree, nullptr);
  EXPECT_FALSE(has_errors(problems));
  EXPECT_EQ(route_names(*tree, c.event.to_record()), c.want);
}

INSTANTIATE_TEST_SUITE_P(Resmoio, RouteCases, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<route_case>& info) {
                           return std::string(info.param.name);
                         });

// Verifies that the table above keeps at least the 40 cases the contract asks for.
TEST(RuleTree, CaseTableIsLarge) { EXPECT_GE(cases().size(), 40u); }

const diagnostic* find_problem(const diagnostics& d, const std::string& path) {
  for (const auto& p : d) {
    if (p.path == path) {
      return &p;
    }
  }
  return nullptr;
}

// Verifies that the README's "*test*" pattern (invalid RE2) is a compile error naming its path.
TEST(RuleTree, ReadmeInvalidPatternIsCompileError) {
  route r = readme_tree();
  r.routes[1].drop[0].namespace_ = "*test*";
  diagnostics problems;
  EXPECT_EQ(rule_tree::compile(r, receivers, problems), nullptr);
  const diagnostic* p = find_problem(problems, "route.routes[1].drop[0].namespace");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->severity, diagnostic::level::error);
  EXPECT_NE(p->message.find("*test*"), std::string::npos);
}

// Verifies that an invalid label pattern is reported with the label key in the path.
TEST(RuleTree, InvalidLabelPatternNamesKey) {
  route r{.routes = {route{.match = {rule{.labels = {{"app", "(unclosed"}}, .receiver = "dump"}}}}};
  diagnostics problems;
  EXPECT_EQ(rule_tree::compile(r, receivers, problems), nullptr);
  EXPECT_NE(find_problem(problems, "route.routes[0].match[0].labels.app"), nullptr);
}

// Verifies that an invalid annotation pattern is reported with the annotation key in the path.
TEST(RuleTree, InvalidAnnotationPatternNamesKey) {
  route r{.match = {rule{.annotations = {{"owner", "[z-a]"}}}}};
  diagnostics problems;
  EXPECT_EQ(rule_tree::compile(r, receivers, problems), nullptr);
  EXPECT_NE(find_problem(problems, "route.match[0].annotations.owner"), nullptr);
}

// Verifies that an undefined receiver is an error naming "<rule path>.receiver".
TEST(RuleTree, UndefinedReceiverIsError) {
  route r{.routes = {route{.match = {rule{.receiver = "dump"}, rule{.receiver = "nope"}}}}};
  diagnostics problems;
  EXPECT_EQ(rule_tree::compile(r, receivers, problems), nullptr);
  const diagnostic* p = find_problem(problems, "route.routes[0].match[1].receiver");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->severity, diagnostic::level::error);
  EXPECT_NE(p->message.find("nope"), std::string::npos);
}

// Verifies that compile reports every problem, not just the first.
TEST(RuleTree, ReportsAllProblems) {
  route r{.match = {rule{.kind = "(", .receiver = "missing"}, rule{.reason = "+"}}};
  diagnostics problems;
  EXPECT_EQ(rule_tree::compile(r, receivers, problems), nullptr);
  EXPECT_NE(find_problem(problems, "route.match[0].kind"), nullptr);
  EXPECT_NE(find_problem(problems, "route.match[0].receiver"), nullptr);
  EXPECT_NE(find_problem(problems, "route.match[1].reason"), nullptr);
}

// Verifies that the YAML paths the config loader recorded are used in diagnostics.
TEST(RuleTree, UsesConfigPaths) {
  route r{.match = {rule{.message = "(", .path = "route.match[7]"}}, .path = "route"};
  diagnostics problems;
  EXPECT_EQ(rule_tree::compile(r, receivers, problems), nullptr);
  EXPECT_NE(find_problem(problems, "route.match[7].message"), nullptr);
}

// Verifies that a receiver on a drop rule is only a warning and never receives anything.
TEST(RuleTree, DropRuleReceiverWarnsAndNeverSends) {
  route r{.drop = {rule{.type = "Normal", .receiver = "nope"}}, .match = {rule{.receiver = "a"}}};
  diagnostics problems;
  auto tree = rule_tree::compile(r, receivers, problems);
  ASSERT_NE(tree, nullptr);
  const diagnostic* p = find_problem(problems, "route.drop[0].receiver");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->severity, diagnostic::level::warning);
  EXPECT_EQ(route_names(*tree, ev{.type = "Normal"}.to_record()), none);
  EXPECT_EQ(route_names(*tree, ev{.type = "Warning"}.to_record()), std::vector<std::string>{"a"});
}

// Verifies that route() appends to the caller's vector instead of replacing its contents.
TEST(RuleTree, RouteAppends) {
  diagnostics problems;
  auto tree = rule_tree::compile(route{.match = {rule{.receiver = "b"}}}, receivers, problems);
  ASSERT_NE(tree, nullptr);
  std::vector<std::uint32_t> out = {7};
  tree->route(record{}, out);
  EXPECT_EQ(out, (std::vector<std::uint32_t>{7, 8}));
}

// Verifies that routing through a realistic tree performs no heap allocation.
TEST(RuleTree, RouteDoesNotAllocate) {
  diagnostics problems;
  auto tree = rule_tree::compile(readme_tree(), receivers, problems);
  ASSERT_NE(tree, nullptr);
  record r = ev{.namespace_ = "default",
                .kind = "Pod",
                .reason = "BackOff",
                .type = "Warning",
                .message = "Back-off restarting failed container",
                .labels = {{"app", "web"}, {"version", "dev"}}}
                 .to_record();
  std::vector<std::uint32_t> out;
  out.reserve(16);
  tree->route(r, out);  // warm up RE2's lazily built DFA
  out.clear();
  g_allocs = 0;
  g_count_allocs = true;
  for (int i = 0; i < 100; ++i) {
    out.clear();
    tree->route(r, out);
  }
  g_count_allocs = false;
  EXPECT_EQ(g_allocs.load(), 0);
  EXPECT_EQ(out.size(), 3u);
}

// Verifies that plain-text patterns (matched without RE2) agree with RE2's unanchored search.
TEST(RuleTree, LiteralPatternsAgreeWithRe2) {
  const std::vector<std::string> patterns = {"Pod",
                                             "kube-system",
                                             "a b",
                                             "x",
                                             "Failed to pull",
                                             "node-1",
                                             "=",
                                             "",
                                             "@/:;,",
                                             "^Pod$",
                                             "^Pod",
                                             "Pod$",
                                             "Pod|Node",
                                             "^(Pod|Node)$",
                                             "^(?:Pod|Job)",
                                             "(Pod|Job)$",
                                             "^Pod|Job$",
                                             "Pod|",
                                             "^$",
                                             "(Pod)",
                                             "^kube-",
                                             "-system$",
                                             "(a)(b)",
                                             "a|b|c",
                                             "^kube-(public|node-lease)$",
                                             "kube-(sys|pub)",
                                             "x(?:y|z)w",
                                             "(|a)b",
                                             "()"};
  const std::vector<std::string> values = {"Pod",
                                           "PodDisruptionBudget",
                                           "kube-system-2",
                                           "a b c",
                                           "",
                                           "Failed to pull image",
                                           "node-12",
                                           "k=v",
                                           "x@/:;,y",
                                           "\xff\xfePod",
                                           "Node",
                                           "CronJob",
                                           "MyPod",
                                           "JobPod",
                                           "kube-system",
                                           "ab",
                                           "xJob",
                                           "kube-public",
                                           "kube-node-lease",
                                           "my-kube-public",
                                           "kube-pub",
                                           "xyw",
                                           "xzw",
                                           "xw",
                                           "b"};
  for (const auto& p : patterns) {
    RE2 re(p);
    for (const auto& v : values) {
      diagnostics problems;
      auto tree = rule_tree::compile(one_rule(rule{.message = p}), receivers, problems);
      ASSERT_NE(tree, nullptr);
      record r;
      r.message = v;
      bool routed = !route_names(*tree, r).empty();
      EXPECT_EQ(routed, RE2::PartialMatch(v, re)) << "pattern " << p << " value " << v;
    }
  }
}

}  // namespace
}  // namespace ke::route
