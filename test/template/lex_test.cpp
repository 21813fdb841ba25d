// Tests for the go_template lexer (src/template/lex.cpp): text, {{- -}} trim markers, comments,
// literals, and the tokens and errors of actions.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "template/internal.hpp"
#include "template/template_test_util.hpp"

namespace ke::tmpl {
namespace {

using detail::tok;
using detail::token;
using detail::value;

// The token kinds of a lexed template, spelled out (readable when an expectation fails).
std::string kinds(const std::vector<token>& toks) {
  std::string out;
  for (const token& t : toks) {
    if (!out.empty()) {
      out += ' ';
    }
    switch (t.t) {
      case tok::text:
        out += "text";
        break;
      case tok::left:
        out += "{{";
        break;
      case tok::right:
        out += "}}";
        break;
      case tok::space:
        out += "_";
        break;
      case tok::field:
        out += "field";
        break;
      case tok::variable:
        out += "var";
        break;
      case tok::ident:
        out += "ident";
        break;
      case tok::string_:
        out += "string";
        break;
      case tok::number:
        out += "number";
        break;
      case tok::pipe:
        out += "|";
        break;
      case tok::declare:
        out += ":=";
        break;
      case tok::eof:
        out += "eof";
        break;
      default:
        out += "other";
        break;
    }
  }
  return out;
}

// The lexer's error for `text` ("" when it lexes).
std::string lex_error(const std::string& text) {
  try {
    detail::lex(text);
  } catch (const detail::exec_error& e) {
    return e.what();
  }
  return "";
}

std::vector<render_case> render_table() {
  return {
      {"TrimMarkers", "a  {{- .Type -}}  \n b", "aWarningb"},
      {"Comment", "x{{/* a comment */}}y{{- /* trimmed */ -}} z", "xyz"},
      {"Literals",
       "{{ \"a\\tb\" }}|{{ `r\\n` }}|{{ 'a' }}|{{ 0x1F }}|{{ 1.5 }}|{{ 1e6 }}|{{ -3 }}|{{ true }}",
       "a\tb|r\\n|97|31|1.5|1e+06|-3|true"},
  };
}

class TemplateLexRender : public ::testing::TestWithParam<render_case> {};

// Verifies that each template renders exactly as Go's text/template with sprig would.
TEST_P(TemplateLexRender, RendersLikeGo) { expect_renders(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, TemplateLexRender, ::testing::ValuesIn(render_table()),
                         case_name<render_case>);

std::vector<error_case> parse_error_table() {
  return {
      {"UnclosedAction", "{{ .Message", "unclosed action"},
      {"UnterminatedString", "{{ \"abc }}", "unterminated quoted string"},
      {"UnclosedComment", "{{/* x }}", "unclosed comment"},
      // Lines are counted by the lexer; the error itself comes from the check.
      {"LineNumber", "a\nb\n{{ .nope }}", "line 3"},
  };
}

class TemplateLexParseError : public ::testing::TestWithParam<error_case> {};

// Verifies that invalid or unsupported templates are rejected at parse time with Go's message.
TEST_P(TemplateLexParseError, RejectedAtParse) { expect_parse_error(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, TemplateLexParseError, ::testing::ValuesIn(parse_error_table()),
                         case_name<error_case>);

// Verifies the token stream of an action: spaces separate operands, fields are split at dots
// and lose their dot, variables keep their $.
TEST(TemplateLex, ActionTokens) {
  std::vector<token> toks = detail::lex("a{{ $x := .A.B | printf \"%s\" }}");
  EXPECT_EQ(kinds(toks), "text {{ _ var _ := _ field field _ | _ ident _ string _ }} eof");
  ASSERT_EQ(toks.size(), 18u);
  EXPECT_EQ(toks[0].val, "a");
  EXPECT_EQ(toks[3].val, "$x");
  EXPECT_EQ(toks[7].val, "A");
  EXPECT_EQ(toks[8].val, "B");
  EXPECT_EQ(toks[12].val, "printf");
  EXPECT_EQ(toks[14].val, "%s");
}

// Verifies that keywords and booleans get their own token kinds rather than ident.
TEST(TemplateLex, KeywordsAreNotIdentifiers) {
  std::vector<token> toks = detail::lex("{{if true}}{{else}}{{end}}{{define}}");
  ASSERT_EQ(toks.size(), 15u);
  EXPECT_EQ(toks[1].t, tok::kw_if);
  EXPECT_EQ(toks[3].t, tok::bool_);
  EXPECT_EQ(toks[3].val, "true");
  EXPECT_EQ(toks[6].t, tok::kw_else);
  EXPECT_EQ(toks[9].t, tok::kw_end);
  EXPECT_EQ(toks[12].t, tok::kw_unsupported);
}

// Verifies that an unclosed action is an error naming the line it is on.
TEST(TemplateLex, UnclosedActionNamesLine) {
  EXPECT_EQ(lex_error("a\nb\n{{ .Message"), "line 3: unclosed action");
  EXPECT_EQ(lex_error("{{ (.Message }}"), "line 1: unclosed left paren");
  EXPECT_EQ(lex_error("x\n{{ .Message) }}"), "line 2: unexpected right paren");
}

// Verifies the values of number and character constants (Go's literal syntax).
TEST(TemplateLex, NumberValues) {
  std::vector<token> toks =
      detail::lex("{{ 0x1F }}{{ 0o17 }}{{ 1_000 }}{{ -3 }}{{ 2.5 }}{{ 'é' }}");
  std::vector<value> nums;
  for (const token& t : toks) {
    if (t.t == tok::number) {
      nums.push_back(t.num);
    }
  }
  ASSERT_EQ(nums.size(), 6u);
  EXPECT_EQ(nums[0].k, value::kind::int_);
  EXPECT_EQ(nums[0].i, 31);
  EXPECT_EQ(nums[1].i, 15);
  EXPECT_EQ(nums[2].i, 1000);
  EXPECT_EQ(nums[3].i, -3);
  EXPECT_EQ(nums[4].k, value::kind::float_);
  EXPECT_DOUBLE_EQ(nums[4].f, 2.5);
  EXPECT_EQ(nums[5].k, value::kind::int_);
  EXPECT_EQ(nums[5].i, 0xE9);
  EXPECT_EQ(lex_error("{{ 0x1G }}"), "line 1: bad number syntax: \"0x1G\"");
}

// Verifies that quoted strings are unquoted with Go's escapes and raw strings are kept as is.
TEST(TemplateLex, StringsAreUnquoted) {
  std::vector<token> toks = detail::lex("{{ \"a\\tb\\u00e9\\x41\\\"\" }}{{ `r\\n` }}");
  ASSERT_EQ(kinds(toks), "{{ _ string _ }} {{ _ string _ }} eof");
  EXPECT_EQ(toks[2].val,
            "a\tb\xC3\xA9"
            "A\"");
  EXPECT_EQ(toks[7].val, "r\\n");
  EXPECT_EQ(lex_error("{{ \"a\\q\" }}"), "line 1: invalid syntax");
}

// Verifies that trim markers drop the adjacent spaces and newlines (the marker's own space
// included) but still count the lines.
TEST(TemplateLex, TrimMarkersKeepLineCount) {
  std::vector<token> toks = detail::lex("a \n{{- .A -}}\n\n b{{ .C }}");
  ASSERT_EQ(kinds(toks), "text {{ field }} text {{ _ field _ }} eof");
  EXPECT_EQ(toks[0].val, "a");
  EXPECT_EQ(toks[2].line, 2);
  EXPECT_EQ(toks[4].val, "b");
  EXPECT_EQ(toks[7].val, "C");
  EXPECT_EQ(toks[7].line, 4);
}

// Verifies that comments produce no tokens and a comment not closed right at the delimiter is
// an error.
TEST(TemplateLex, Comments) {
  EXPECT_EQ(kinds(detail::lex("x{{/* c\n */}}y")), "text text eof");
  EXPECT_EQ(lex_error("{{/* c */ }}"), "line 1: comment ends before closing delimiter");
}

}  // namespace
}  // namespace ke::tmpl
