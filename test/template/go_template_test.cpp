// Tests for the public API of tmpl::go_template (src/template/go_template.cpp): parse, the data
// models, execute on documents and records, constant templates. The engine's units have their
// own tests (lex, parse, exec, funcs, sprig, time, print, check _test.cpp).
#include "template/go_template.hpp"

#include <gtest/gtest.h>

#include <string>

#include "template/template_test_util.hpp"

namespace ke::tmpl {
namespace {

using nlohmann::ordered_json;

// Verifies that with the json model, .key reads JSON keys (and the capitalised Go style).
TEST(TemplateGoTemplate, JsonModelReadsKeys) {
  ordered_json doc = ordered_json::parse(R"({"message":"m","check":{"id":"1.1.1","ok":true}})");
  auto model = go_template::data_model::json;
  EXPECT_EQ(render("{{ .message }} {{ .Message }} {{ .check.id }} {{ .check.ok }}", doc, model),
            "m m 1.1.1 true");
  EXPECT_EQ(render("{{ .nope }}", doc, model), "<no value>");
  EXPECT_EQ(render("{{ .check }}", doc, model), "map[id:1.1.1 ok:true]");
}

// Verifies that a template checked against the event type still runs on a json document.
TEST(TemplateGoTemplate, EventCheckedTemplateRunsOnJson) {
  ordered_json doc = ordered_json::parse(R"({"reason":"r","involvedObject":{"kind":"K"}})");
  std::string error;
  auto t = go_template::parse("{{ .Reason }}/{{ .InvolvedObject.Kind }}", &error);
  ASSERT_NE(t, nullptr);
  std::string out;
  ASSERT_TRUE(t->execute(doc, go_template::data_model::json, out, &error)) << error;
  EXPECT_EQ(out, "r/K");
}

// Verifies that a record is executed with the model matching its source.
TEST(TemplateGoTemplate, RecordSourceSelectsModel) {
  std::string error;
  auto t = go_template::parse("{{ .Reason }}", &error);
  ASSERT_NE(t, nullptr) << error;
  record r;
  r.doc = event_doc();
  std::string out;
  ASSERT_TRUE(t->execute(r, out, &error)) << error;
  EXPECT_EQ(out, "BackOff");
  record bench;
  bench.source = record_source::kube_bench;
  bench.doc = {{"reason", "from-json"}};
  out.clear();
  ASSERT_TRUE(t->execute(bench, out, &error)) << error;
  EXPECT_EQ(out, "from-json");
}

// Verifies that plain text is recognised as constant and copied as is.
TEST(TemplateGoTemplate, ConstantText) {
  std::string error;
  auto t = go_template::parse("us-west-2", &error);
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->is_constant());
  std::string out;
  ASSERT_TRUE(t->execute(event_doc(), go_template::data_model::kube_event, out, &error));
  EXPECT_EQ(out, "us-west-2");
  EXPECT_FALSE(go_template::parse("{{ .Reason }}", &error)->is_constant());
}

// Verifies that text() is the source as given, that execute appends to `out`, and that a
// template of comments only is constant and empty.
TEST(TemplateGoTemplate, TextAndConstantForms) {
  std::string error;
  const std::string source = "a {{- /* c */ -}} b";
  auto t = go_template::parse(source, &error);
  ASSERT_NE(t, nullptr) << error;
  EXPECT_EQ(t->text(), source);
  std::string out = "x=";
  ASSERT_TRUE(t->execute(ordered_json::object(), go_template::data_model::json, out, &error));
  EXPECT_EQ(out, "x=ab");

  auto comment = go_template::parse("{{/* only a comment */}}", &error);
  ASSERT_NE(comment, nullptr) << error;
  EXPECT_TRUE(comment->is_constant());
  out.clear();
  ASSERT_TRUE(comment->execute(event_doc(), go_template::data_model::kube_event, out, &error));
  EXPECT_EQ(out, "");
}

// Verifies that parse and execute report failure without an error string to fill.
TEST(TemplateGoTemplate, NullErrorPointer) {
  EXPECT_EQ(go_template::parse("{{ .Nope }}", nullptr), nullptr);
  auto t = go_template::parse("{{ .Series.Count }}", nullptr);
  ASSERT_NE(t, nullptr);
  std::string out;
  EXPECT_FALSE(t->execute(event_doc(), go_template::data_model::kube_event, out, nullptr));
}

// Verifies that a parse error is prefixed with its line and the model decides field checking.
TEST(TemplateGoTemplate, ParseErrorAndModel) {
  std::string error;
  EXPECT_EQ(go_template::parse("x\n{{ .nope }}", &error), nullptr);
  EXPECT_EQ(error, "line 2: can't evaluate field nope in type *kube.EnhancedEvent");
  error.clear();
  EXPECT_NE(go_template::parse("x\n{{ .nope }}", &error, go_template::data_model::json), nullptr);
  EXPECT_EQ(error, "");
}

}  // namespace
}  // namespace ke::tmpl
