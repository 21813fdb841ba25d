// Tests for the sprig functions (src/template/sprig.cpp): strings, defaults, lists, base64,
// arithmetic, conversions and dates, as Masterminds/sprig v3 computes them.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "template/internal.hpp"
#include "template/template_test_util.hpp"

namespace ke::tmpl {
namespace {

std::vector<render_case> render_table() {
  return {
      {"Quote", "{{ quote .Reason }} {{ squote .Reason }} {{ quote \"a\\\"b\\n\" }}",
       "\"BackOff\" 'BackOff' \"a\\\"b\\n\""},
      {"QuoteNumber", "{{ quote .Count }}", "\"5\""},
      {"LowerTitle", "{{ lower .Reason }} {{ title \"hello kube-world\" }}",
       "backoff Hello Kube-World"},
      {"Trim", "[{{ trim \"  x y \\n\" }}]", "[x y]"},
      {"TrimPrefixSuffix",
       "{{ trimPrefix \"Back-\" .Message }}|{{ trimSuffix \"container\" .Message }}|{{ trimAll "
       "\"-\" \"--x--\" }}",
       "off restarting failed container|Back-off restarting failed |x"},
      {"Replace", "{{ .Message | replace \" \" \"_\" }}", "Back-off_restarting_failed_container"},
      {"DefaultMissing", "{{ .InvolvedObject.Labels.team | default \"none\" }}", "none"},
      {"DefaultPresent", "{{ .InvolvedObject.Labels.app | default \"none\" }}", "nginx"},
      {"DefaultEmptyString", "{{ default \"x\" .Action }}", "x"},
      {"DefaultZeroNumber", "{{ default 7 0 }}", "7"},
      {"EmptyCoalesceTernary",
       "{{ empty .Action }} {{ coalesce .Action .Reason }} {{ ternary \"y\" \"n\" true }}",
       "true BackOff y"},
      {"ContainsPrefixSuffix",
       "{{ contains \"restart\" .Message }} {{ hasPrefix \"Back\" .Message }} {{ hasSuffix \"x\" "
       ".Message }}",
       "true true false"},
      {"JoinSplit", "{{ join \",\" (splitList \"/\" \"a/b/c\") }}", "a,b,c"},
      {"Base64", "{{ b64enc \"kube\" }} {{ b64dec \"a3ViZQ==\" }}", "a3ViZQ== kube"},
      {"TruncRepeatNospace", "{{ trunc 4 .Reason }} {{ repeat 2 \"ab\" }} {{ nospace \"a b c\" }}",
       "Back abab abc"},
      {"IndentNindent", "{{ indent 2 \"a\\nb\" }}|{{ nindent 1 \"c\" }}", "  a\n  b|\n c"},
      {"CatToString", "{{ cat \"a\" 1 .Count }} {{ toString .Count }}", "a 1 5 5"},
      {"Arithmetic",
       "{{ add 1 2 3 }} {{ sub 5 2 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ mod 7 2 }} {{ add1 .Count "
       "}}",
       "6 3 24 3 1 6"},
      {"Conversions", "{{ int \"42\" }} {{ atoi \"x\" }} {{ float64 \"1.5\" }}", "42 0 1.5"},
      {"DateOfUnixSeconds", "{{ date \"2006-01-02\" 0 }}", "1970-01-01"},
      {"UnixEpoch", "{{ unixEpoch (.LastTimestamp.UTC) }}", "1715681130"},
  };
}

class TemplateSprigRender : public ::testing::TestWithParam<render_case> {};

// Verifies that each template renders exactly as Go's text/template with sprig would.
TEST_P(TemplateSprigRender, RendersLikeGo) { expect_renders(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, TemplateSprigRender, ::testing::ValuesIn(render_table()),
                         case_name<render_case>);

std::vector<error_case> exec_error_table() {
  return {
      {"DivideByZero", "{{ div 1 0 }}", "integer divide by zero"},
  };
}

class TemplateSprigExecError : public ::testing::TestWithParam<error_case> {};

// Verifies that execution errors fail the render with Go's message instead of printing empty.
TEST_P(TemplateSprigExecError, FailAtExecution) { expect_exec_error(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, TemplateSprigExecError, ::testing::ValuesIn(exec_error_table()),
                         case_name<error_case>);

// Verifies that trimPrefix/trimSuffix leave a string without the affix unchanged and remove
// the affix only once.
TEST(TemplateSprig, TrimPrefixSuffixOnlyOnce) {
  EXPECT_EQ(render("{{ trimPrefix \"x\" .Reason }}|{{ trimPrefix \"ab\" \"ababc\" }}|"
                   "{{ trimSuffix \"c\" \"abcc\" }}",
                   event_doc()),
            "BackOff|abc|abc");
}

// Verifies default: the default for empty values of every kind, the value otherwise.
TEST(TemplateSprig, DefaultTreatsZeroValuesAsEmpty) {
  EXPECT_EQ(render("{{ default \"d\" false }}|{{ default \"d\" .Labels }}|{{ default \"d\" 0.0 }}|"
                   "{{ default \"d\" .InvolvedObject.Labels }}|{{ default \"d\" true }}",
                   event_doc()),
            "d|d|d|map[app:nginx app.kubernetes.io/name:web]|true");
}

// Verifies upper and lower, called directly and in a pipeline.
TEST(TemplateSprig, UpperLower) {
  EXPECT_EQ(render("{{ .Type | upper }} {{ upper \"a-b_1\" }} {{ lower \"MiXeD\" }}", event_doc()),
            "WARNING A-B_1 mixed");
}

// Verifies trunc with a negative count (keeps the end) and a count past the length.
TEST(TemplateSprig, TruncFromTheEnd) {
  EXPECT_EQ(render("{{ trunc -3 \"abcdef\" }}|{{ trunc 10 \"abc\" }}|{{ trunc -10 \"abc\" }}",
                   event_doc()),
            "def|abc|abc");
}

// Verifies that b64dec of invalid input returns Go's decoding error as its result.
TEST(TemplateSprig, B64decInvalidReturnsError) {
  EXPECT_EQ(render("{{ b64dec \"!!!!\" }}|{{ b64dec \"abc\" }}", event_doc()),
            "illegal base64 data at input byte 0|illegal base64 data at input byte 0");
}

// Verifies int's parsing of strings (cast.ToInt64: base prefixes, invalid = 0) and of floats.
TEST(TemplateSprig, IntConversions) {
  EXPECT_EQ(render("{{ int \"0x1F\" }} {{ int \"010\" }} {{ int \"-7\" }} {{ int \"1x\" }} "
                   "{{ int 2.9 }} {{ int64 true }}",
                   event_doc()),
            "31 8 -7 0 2 1");
}

// Verifies the errors of repeat with a negative count and mod by zero.
TEST(TemplateSprig, RepeatAndModErrors) {
  EXPECT_EQ(render("{{ repeat -1 \"a\" }}", event_doc()),
            "EXEC ERROR: line 1: error calling repeat: strings: negative Repeat count");
  EXPECT_EQ(render("{{ mod 1 0 }}", event_doc()),
            "EXEC ERROR: line 1: error calling mod: runtime error: integer divide by zero");
}

// Verifies that the sprig table holds the documented functions, each once.
TEST(TemplateSprig, TableHasDocumentedFunctions) {
  std::vector<std::string_view> names;
  for (const detail::func_def& f : detail::sprig_funcs()) {
    names.push_back(f.name);
  }
  for (std::string_view want :
       {"toJson",    "toPrettyJson", "toRawJson", "quote",      "squote",     "lower",
        "upper",     "title",        "trim",      "trimPrefix", "trimSuffix", "trimAll",
        "replace",   "default",      "empty",     "coalesce",   "ternary",    "contains",
        "hasPrefix", "hasSuffix",    "join",      "splitList",  "cat",        "indent",
        "nindent",   "trunc",        "repeat",    "nospace",    "toString",   "b64enc",
        "b64dec",    "add",          "add1",      "sub",        "mul",        "div",
        "mod",       "int",          "int64",     "float64",    "atoi",       "now",
        "date",      "unixEpoch"}) {
    EXPECT_EQ(std::count(names.begin(), names.end(), want), 1) << want;
  }
}

}  // namespace
}  // namespace ke::tmpl
