// expand_env: Go's os.Expand / os.ExpandEnv rules.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.hpp"

namespace ke::config {
namespace {

// The variables the table below expands against (names Go treats specially included).
std::optional<std::string> table_env(std::string_view name) {
  static const std::map<std::string, std::string, std::less<>> env = {
      {"HOME", "/home/gopher"},
      {"home_1", "/home/one"},
      {"H", "[h]"},
      {"*", "ALL"},
      {"#", "COUNT"},
      {"$", "PID"},
      {"1", "FIRST"},
      {"@", "ARGS"},
      {"EMPTY", ""},
      {"A B", "spaced"},
      {"X-Y", "dash"},
  };
  auto it = env.find(name);
  if (it == env.end()) {
    return std::nullopt;
  }
  return it->second;
}

struct expand_case {
  const char* input;
  const char* expected;
};

class ExpandEnvTable : public ::testing::TestWithParam<expand_case> {};

// Verifies that each input expands exactly as Go's os.Expand would with the same mapping.
TEST_P(ExpandEnvTable, MatchesGoOsExpand) {
  const auto& c = GetParam();
  EXPECT_EQ(expand_env(c.input, table_env), c.expected) << "input: " << c.input;
}

INSTANTIATE_TEST_SUITE_P(
    GoRules, ExpandEnvTable,
    ::testing::Values(
        expand_case{"", ""},  // nothing to do
        expand_case{"plain text, no dollar", "plain text, no dollar"},
        expand_case{"$HOME", "/home/gopher"},     // $NAME
        expand_case{"${HOME}", "/home/gopher"},   // ${NAME}
        expand_case{"$home_1/x", "/home/one/x"},  // [A-Za-z0-9_]+ then stop
        expand_case{"${H}OME", "[h]OME"},         // braces delimit the name
        expand_case{"$HOMEx", ""},                // longest name, undefined
        expand_case{"$UNDEFINED!", "!"},          // undefined -> ""
        expand_case{"a${EMPTY}b", "ab"},          // defined but empty
        expand_case{"$*", "ALL"},                 // special: one char
        expand_case{"${*}", "ALL"},               // special in braces
        expand_case{"$$", "PID"},                 // "$$" is the variable "$"
        expand_case{"$12", "FIRST2"},             // digits: one char only
        expand_case{"${1}", "FIRST"}, expand_case{"$#$@", "COUNTARGS"},
        expand_case{"$", "$"},                                         // lone trailing "$" stays
        expand_case{"cost: 5$", "cost: 5$"}, expand_case{"$}", "$}"},  // "$" + non-name stays
        expand_case{"a $+ b $^ c", "a $+ b $^ c"},                     // not names, kept
        expand_case{"${", ""},                                         // bad syntax: dropped
        expand_case{"x${HOME", "xHOME"},                               // only "${" is dropped
        expand_case{"${}", ""},                                        // bad syntax: "${}" dropped
        expand_case{"[${}]", "[]"}, expand_case{"${A B}", "spaced"},   // braces take anything
        expand_case{"${X-Y}", "dash"}, expand_case{"$X-Y", "-Y"},      // without braces: name "X"
        expand_case{"A$$$#$1$H$home_1*B", "APIDCOUNTFIRST[h]/home/one*B"},
        expand_case{"{{ $x := .Name }}", "{{  := .Name }}"},  // templates get mangled
        expand_case{"end$$$", "endPID$"}));

// Verifies that the lookup is asked for the exact names Go would pass to the mapping function.
TEST(ExpandEnv, PassesGoNamesToLookup) {
  std::vector<std::string> asked;
  const auto record = [&](std::string_view name) -> std::optional<std::string> {
    asked.emplace_back(name);
    return std::nullopt;
  };
  EXPECT_EQ(expand_env("$A_b9-$$ ${x y} $7z ${?}", record), "-  z ");
  EXPECT_EQ(asked, (std::vector<std::string>{"A_b9", "$", "x y", "7", "?"}));
}

// Verifies that the ::getenv overload reads the process environment and treats unset as "".
TEST(ExpandEnv, ReadsProcessEnvironment) {
  ::setenv("KE_EXPAND_ENV_TEST_VAR", "from-env", 1);
  ::unsetenv("KE_EXPAND_ENV_TEST_UNSET");
  EXPECT_EQ(expand_env("url: ${KE_EXPAND_ENV_TEST_VAR}/x$KE_EXPAND_ENV_TEST_UNSET"),
            "url: from-env/x");
  ::unsetenv("KE_EXPAND_ENV_TEST_VAR");
}

// Verifies that a value is inserted verbatim: "$" inside a variable's value is not expanded again.
TEST(ExpandEnv, DoesNotExpandValuesRecursively) {
  const auto env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "PASS") {
      return std::string("p$HOME${X}");
    }
    return std::string("should-not-appear");
  };
  EXPECT_EQ(expand_env("password: $PASS", env), "password: p$HOME${X}");
}

}  // namespace
}  // namespace ke::config
