// Tests for the go_template parser (src/template/parse.cpp): the parse tree of text, actions,
// pipelines and control structures, variable scopes, and the parse errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "template/internal.hpp"
#include "template/template_test_util.hpp"

namespace ke::tmpl {
namespace {

using detail::list_node;
using detail::operand;
using NodeKind = detail::list_node::kind;

// The parser's error for `text` ("" when it parses).
std::string parse_error(const std::string& text) {
  try {
    detail::parse_list_nodes(text);
  } catch (const detail::exec_error& e) {
    return e.what();
  }
  return "";
}

std::vector<error_case> parse_error_table() {
  return {
      {"UnknownFunction", "{{ foo .Reason }}", "function \"foo\" not defined"},
      {"UnsupportedSprigFunction", "{{ regexFind \"a\" .Reason }}",
       "function \"regexFind\" not defined"},
      {"UnexpectedEOF", "{{ if .Type }}x", "unexpected EOF"},
      {"UnexpectedEnd", "x{{ end }}", "unexpected {{end}}"},
      {"Define", "{{ define \"x\" }}y{{ end }}", "{{define}} is not supported"},
      {"Template", "{{ template \"x\" }}", "{{template}} is not supported"},
      {"UndefinedVariable", "{{ $x }}", "undefined variable \"$x\""},
      {"VariableOutOfScope", "{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}",
       "undefined variable \"$x\""},
      {"BreakOutsideRange", "{{ break }}", "{{break}} outside {{range}}"},
      {"NonExecutableStage", "{{ .Reason | \"x\" }}", "non executable command in pipeline stage 2"},
  };
}

class TemplateParseParseError : public ::testing::TestWithParam<error_case> {};

// Verifies that invalid or unsupported templates are rejected at parse time with Go's message.
TEST_P(TemplateParseParseError, RejectedAtParse) { expect_parse_error(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, TemplateParseParseError, ::testing::ValuesIn(parse_error_table()),
                         case_name<error_case>);

// Verifies that an unmatched {{end}} or {{else}} is an error naming its line, and a second
// {{else}} is rejected.
TEST(TemplateParse, UnmatchedEndNamesLine) {
  EXPECT_EQ(parse_error("a\n\n{{ end }}"), "line 3: unexpected {{end}}");
  EXPECT_EQ(parse_error("{{ .Reason }}\n{{ else }}"), "line 2: unexpected {{else}}");
  EXPECT_EQ(parse_error("{{ if .A }}{{ else }}{{ else }}{{ end }}"),
            "line 1: expected end; found {{else}}");
  EXPECT_EQ(parse_error("{{ if }}x{{ end }}"), "line 1: missing value for if");
}

// Verifies the tree of if / else if / else: the else-if is a nested if in the else list.
TEST(TemplateParse, IfElseIfTree) {
  std::vector<list_node> root =
      detail::parse_list_nodes("a{{ if .X }}b{{ else if .Y }}c{{ else }}d{{ end }}e");
  ASSERT_EQ(root.size(), 3u);
  EXPECT_EQ(root[0].k, NodeKind::text);
  EXPECT_EQ(root[0].text, "a");
  EXPECT_EQ(root[2].text, "e");
  const list_node& outer = root[1];
  ASSERT_EQ(outer.k, NodeKind::if_);
  ASSERT_EQ(outer.list.size(), 1u);
  EXPECT_EQ(outer.list[0].text, "b");
  ASSERT_EQ(outer.else_list.size(), 1u);
  const list_node& inner = outer.else_list[0];
  ASSERT_EQ(inner.k, NodeKind::if_);
  ASSERT_EQ(inner.pipe->cmds.size(), 1u);
  EXPECT_EQ(inner.pipe->cmds[0].args[0].fields, std::vector<std::string>{"Y"});
  ASSERT_EQ(inner.list.size(), 1u);
  EXPECT_EQ(inner.list[0].text, "c");
  ASSERT_EQ(inner.else_list.size(), 1u);
  EXPECT_EQ(inner.else_list[0].text, "d");
}

// Verifies the pipeline of an action: declarations, chained fields, commands split at '|',
// functions resolved and literals typed.
TEST(TemplateParse, PipelineStructure) {
  std::vector<list_node> root =
      detail::parse_list_nodes("{{ $x := .A.B | printf \"%s-%d\" 7 }}\n{{ $x = 1 }}");
  ASSERT_EQ(root.size(), 3u);
  ASSERT_EQ(root[0].k, NodeKind::action);
  const detail::pipeline& p = *root[0].pipe;
  EXPECT_EQ(p.decl, std::vector<std::string>{"$x"});
  EXPECT_FALSE(p.assign);
  ASSERT_EQ(p.cmds.size(), 2u);
  ASSERT_EQ(p.cmds[0].args.size(), 1u);
  EXPECT_EQ(p.cmds[0].args[0].k, operand::kind::field);
  EXPECT_EQ(p.cmds[0].args[0].fields, (std::vector<std::string>{"A", "B"}));
  ASSERT_EQ(p.cmds[1].args.size(), 3u);
  EXPECT_EQ(p.cmds[1].args[0].k, operand::kind::func);
  ASSERT_NE(p.cmds[1].args[0].fn, nullptr);
  EXPECT_EQ(p.cmds[1].args[0].fn->name, "printf");
  EXPECT_EQ(p.cmds[1].args[1].k, operand::kind::string_);
  EXPECT_EQ(p.cmds[1].args[1].literal.s, "%s-%d");
  EXPECT_EQ(p.cmds[1].args[2].k, operand::kind::number);
  EXPECT_EQ(p.cmds[1].args[2].literal.i, 7);
  // The second action assigns (=) the variable declared by the first, on line 2.
  EXPECT_EQ(root[1].text, "\n");
  ASSERT_EQ(root[2].k, NodeKind::action);
  EXPECT_TRUE(root[2].pipe->assign);
  EXPECT_EQ(root[2].pipe->decl, std::vector<std::string>{"$x"});
  EXPECT_EQ(root[2].line, 2);
}

// Verifies range with two variables, break inside it, and that only range declares two.
TEST(TemplateParse, RangeDeclarations) {
  std::vector<list_node> root =
      detail::parse_list_nodes("{{ range $i, $e := .L }}{{ break }}{{ else }}none{{ end }}");
  ASSERT_EQ(root.size(), 1u);
  ASSERT_EQ(root[0].k, NodeKind::range);
  EXPECT_EQ(root[0].pipe->decl, (std::vector<std::string>{"$i", "$e"}));
  ASSERT_EQ(root[0].list.size(), 1u);
  EXPECT_EQ(root[0].list[0].k, NodeKind::break_);
  ASSERT_EQ(root[0].else_list.size(), 1u);
  EXPECT_EQ(root[0].else_list[0].text, "none");
  EXPECT_EQ(parse_error("{{ $a, $b := .L }}"), "line 1: too many declarations in command");
  EXPECT_EQ(parse_error("{{ range $a, $b, $c := .L }}{{ end }}"),
            "line 1: too many declarations in range");
  EXPECT_EQ(parse_error("{{ range $a, 1 }}{{ end }}"),
            "line 1: range can only initialize variables");
}

// Verifies that a parenthesised pipeline is an operand with its own sub-pipeline and fields.
TEST(TemplateParse, ParenthesizedOperand) {
  std::vector<list_node> root = detail::parse_list_nodes("{{ (index .L 0).Name }}");
  ASSERT_EQ(root.size(), 1u);
  const operand& op = root[0].pipe->cmds.at(0).args.at(0);
  EXPECT_EQ(op.k, operand::kind::pipe);
  EXPECT_EQ(op.fields, std::vector<std::string>{"Name"});
  ASSERT_NE(op.sub, nullptr);
  ASSERT_EQ(op.sub->cmds.size(), 1u);
  EXPECT_EQ(op.sub->cmds[0].args.size(), 3u);
  EXPECT_EQ(parse_error("{{ upper.X }}"), "line 1: unexpected . after function name upper");
}

}  // namespace
}  // namespace ke::tmpl
