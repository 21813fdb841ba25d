// Tests for the text/template builtins (src/template/funcs.cpp): and or not len index print
// printf println eq ne lt le gt ge urlquery html, argument conversion and the function table.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "template/internal.hpp"
#include "template/template_test_util.hpp"

namespace ke::tmpl {
namespace {

using detail::value;

std::vector<render_case> render_table() {
  return {
      {"IndexDottedKey", "{{ index .InvolvedObject.Labels \"app.kubernetes.io/name\" }}", "web"},
      {"IndexMissingKeyIsEmpty", "[{{ index .InvolvedObject.Labels \"nope\" }}]", "[]"},
      {"Print", "{{ print 1 2 \"a\" 3 }}", "1 2a3"},
      {"Println", "{{ println \"a\" 1 }}", "a 1\n"},
      {"Len", "{{ len .InvolvedObject.Labels }} {{ len .Message }} {{ len .Labels }}", "2 36 0"},
      {"AndOr",
       "{{ and .Count .Reason }} {{ or .Action \"none\" }} {{ not .InvolvedObject.Deleted }}",
       "BackOff none true"},
      {"Comparisons",
       "{{ gt .Count 3 }} {{ lt .Count 3 }} {{ le 5 .Count }} {{ ne .Type \"Normal\" }}",
       "true false true true"},
      {"EqManyArgs", "{{ eq .Type \"Normal\" \"Warning\" }}", "true"},
      {"EqMissingKeyIsFalse", "{{ eq .InvolvedObject.Labels.nope \"x\" }}", "false"},
      {"Urlquery", "{{ urlquery \"a b&c\" }}", "a+b%26c"},
  };
}

class TemplateFuncsRender : public ::testing::TestWithParam<render_case> {};

// Verifies that each template renders exactly as Go's text/template with sprig would.
TEST_P(TemplateFuncsRender, RendersLikeGo) { expect_renders(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, TemplateFuncsRender, ::testing::ValuesIn(render_table()),
                         case_name<render_case>);

std::vector<error_case> exec_error_table() {
  return {
      {"WrongArgumentType", "{{ upper .Count }}", "wrong type for value; expected string; got int"},
      {"IndexOutOfRange", "{{ index .InvolvedObject.OwnerReferences 5 }}", "index out of range: 5"},
      {"IncompatibleComparison", "{{ eq .Count \"5\" }}", "incompatible types for comparison"},
  };
}

class TemplateFuncsExecError : public ::testing::TestWithParam<error_case> {};

// Verifies that execution errors fail the render with Go's message instead of printing empty.
TEST_P(TemplateFuncsExecError, FailAtExecution) { expect_exec_error(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, TemplateFuncsExecError, ::testing::ValuesIn(exec_error_table()),
                         case_name<error_case>);

// Verifies html's escaping (Go's template.HTMLEscapeString).
TEST(TemplateFuncs, HtmlEscapes) {
  EXPECT_EQ(render("{{ html \"<a href='x'>\\\"&\\\"</a>\" }}", event_doc()),
            "&lt;a href=&#39;x&#39;&gt;&#34;&amp;&#34;&lt;/a&gt;");
}

// Verifies that and/or stop at the deciding operand: later operands are not evaluated.
TEST(TemplateFuncs, AndOrShortCircuit) {
  EXPECT_EQ(render("{{ or .Reason (div 1 0) }}", event_doc()), "BackOff");
  EXPECT_EQ(render("[{{ and .Action (div 1 0) }}]", event_doc()), "[]");
  EXPECT_EQ(render("{{ or .Action (div 1 0) }}", event_doc()).rfind("EXEC ERROR: ", 0), 0u);
}

// Verifies index and len of strings: bytes, not runes.
TEST(TemplateFuncs, IndexAndLenOfStringAreBytes) {
  EXPECT_EQ(render("{{ index \"abc\" 1 }} {{ len \"\xC3\xA9\" }}", event_doc()), "98 2");
}

// Verifies the function table: builtins and sprig functions with their arities; unknown names
// are not found.
TEST(TemplateFuncs, FindFunc) {
  const detail::func_def* printf = detail::find_func("printf");
  ASSERT_NE(printf, nullptr);
  EXPECT_EQ(printf->min_args, 1);
  EXPECT_EQ(printf->max_args, -1);
  EXPECT_EQ(printf->result, detail::result_kind::str);
  const detail::func_def* trim_prefix = detail::find_func("trimPrefix");
  ASSERT_NE(trim_prefix, nullptr);
  EXPECT_EQ(trim_prefix->min_args, 2);
  EXPECT_EQ(trim_prefix->max_args, 2);
  EXPECT_EQ(detail::find_func("regexFind"), nullptr);
  EXPECT_EQ(detail::find_func("Printf"), nullptr);
}

// Verifies fmt.Sprint's spacing: a space only between two operands that are not strings.
TEST(TemplateFuncs, SprintSpacing) {
  std::vector<value> args = {value::make_str("a"), value::make_int(1), value::make_int(2),
                             value::make_str("b"), value::make_bool(true)};
  EXPECT_EQ(detail::sprint(args), "a1 2btrue");
  EXPECT_EQ(detail::sprint(args, 2), "2btrue");
}

// Verifies argument conversion errors name the expected and the actual Go type.
TEST(TemplateFuncs, ArgumentConversionErrors) {
  EXPECT_EQ(detail::str_arg(value::make_str("s")), "s");
  EXPECT_EQ(detail::int_arg(value::make_int(4)), 4);
  try {
    detail::int_arg(value::make_str("4"));
    ADD_FAILURE() << "int_arg accepted a string";
  } catch (const detail::exec_error& e) {
    EXPECT_STREQ(e.what(), "wrong type for value; expected int; got string");
  }
  try {
    detail::bool_arg(value::make_nil());
    ADD_FAILURE() << "bool_arg accepted nil";
  } catch (const detail::exec_error& e) {
    EXPECT_STREQ(e.what(), "invalid value; expected bool");
  }
}

}  // namespace
}  // namespace ke::tmpl
