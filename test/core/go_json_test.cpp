#include "core/go_json.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace ke {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

std::string str(std::string s) { return go_json(json(std::move(s))); }

// Verifies that '<', '>' and '&' are escaped as Go's HTML-safe encoder does.
TEST(GoJson, EscapesHtmlCharacters) { EXPECT_EQ(str("a<b>&c"), R"("a\u003cb\u003e\u0026c")"); }

// Verifies that U+2028 and U+2029 are escaped and other non-ASCII text is copied as UTF-8.
TEST(GoJson, EscapesLineSeparatorsAndKeepsUtf8) {
  EXPECT_EQ(str("x\u2028y\u2029z"), R"("x\u2028y\u2029z")");
  EXPECT_EQ(str("café ☕ 日本語 😀"), "\"café ☕ 日本語 😀\"");
}

// Verifies that \n \r \t get short escapes, other control characters \u00XX, and DEL none.
TEST(GoJson, EscapesControlCharacters) {
  EXPECT_EQ(str("a\nb\rc\td"), R"("a\nb\rc\td")");
  EXPECT_EQ(str(std::string("\x01\x08\x0c\x1b\x1f", 5)), R"("\u0001\u0008\u000c\u001b\u001f")");
  EXPECT_EQ(str(std::string("\0", 1)), R"("\u0000")");
  EXPECT_EQ(str("\x7f"), "\"\x7f\"");
}

// Verifies that quotes and backslashes are backslash-escaped and '/' is not.
TEST(GoJson, EscapesQuoteAndBackslash) {
  EXPECT_EQ(str(R"(say "hi" C:\tmp/x)"), R"("say \"hi\" C:\\tmp/x")");
}

// Verifies that each byte of invalid UTF-8 becomes \ufffd, as Go's encoder writes it.
TEST(GoJson, ReplacesInvalidUtf8) {
  EXPECT_EQ(str("a\xff"
                "b"),
            R"("a\ufffdb")");
  EXPECT_EQ(str("\xe2\x82"), R"("\ufffd\ufffd")");                      // truncated sequence
  EXPECT_EQ(str("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");            // UTF-8 encoded surrogate
  EXPECT_EQ(str("\xc0\xaf"), R"("\ufffd\ufffd")");                      // overlong '/'
  EXPECT_EQ(str("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // above U+10FFFF
}

// Verifies that object keys are escaped like strings.
TEST(GoJson, EscapesObjectKeys) {
  ordered_json o;
  o["a<b"] = 1;
  EXPECT_EQ(go_json(o), R"({"a\u003cb":1})");
}

// Verifies that ordered_json keeps insertion order (struct field order).
TEST(GoJson, OrderedJsonKeepsInsertionOrder) {
  ordered_json o;
  o["zeta"] = 1;
  o["alpha"] = nullptr;
  o["mid"] = ordered_json::array({true, false});
  EXPECT_EQ(go_json(o), R"({"zeta":1,"alpha":null,"mid":[true,false]})");
}

// Verifies that json (a Go map) writes keys sorted bytewise, uppercase before lowercase.
TEST(GoJson, JsonSortsKeysBytewise) {
  json o = {{"b", 1}, {"B", 2}, {"a", 3}, {"a.b", 4}, {"é", 5}};
  EXPECT_EQ(go_json(o), R"({"B":2,"a":3,"a.b":4,"b":1,"é":5})");
}

// Verifies that empty containers and nesting are compact.
TEST(GoJson, WritesCompactNestedValues) {
  json o = {{"a", json::object()}, {"b", json::array()}, {"c", {{"d", {1, "x"}}}}};
  EXPECT_EQ(go_json(o), R"({"a":{},"b":[],"c":{"d":[1,"x"]}})");
}

// Verifies that integers print as integers across the signed and unsigned range.
TEST(GoJson, WritesIntegers) {
  EXPECT_EQ(go_json(json(0)), "0");
  EXPECT_EQ(go_json(json(-5)), "-5");
  EXPECT_EQ(go_json(json(std::numeric_limits<std::int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(go_json(json(std::numeric_limits<std::uint64_t>::max())), "18446744073709551615");
}

// Verifies that floats use Go's shortest formatting with 'e' only outside [1e-6, 1e21).
TEST(GoJson, WritesFloatsLikeGo) {
  EXPECT_EQ(go_json(json(1.5)), "1.5");
  EXPECT_EQ(go_json(json(100.0)), "100");
  EXPECT_EQ(go_json(json(0.1)), "0.1");
  EXPECT_EQ(go_json(json(0.000001)), "0.000001");
  EXPECT_EQ(go_json(json(0.0000001)), "1e-7");
  EXPECT_EQ(go_json(json(1.5e-10)), "1.5e-10");
  EXPECT_EQ(go_json(json(1e20)), "100000000000000000000");
  EXPECT_EQ(go_json(json(1e21)), "1e+21");
  EXPECT_EQ(go_json(json(-0.0)), "-0");
}

// Verifies that metav1.Time formatting is RFC3339 UTC with the fraction truncated.
TEST(GoJson, FormatsRfc3339Seconds) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1710408401999999999), "2024-03-14T09:26:41Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339(951782400000000000), "2000-02-29T00:00:00Z");
}

// Verifies that metav1.MicroTime formatting has exactly six truncated fractional digits.
TEST(GoJson, FormatsRfc3339Micro) {
  EXPECT_EQ(format_rfc3339_micro(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_rfc3339_micro(1710408401123456789), "2024-03-14T09:26:41.123456Z");
  EXPECT_EQ(format_rfc3339_micro(-1000), "1969-12-31T23:59:59.999999Z");
}

// Verifies that parsing accepts fractions of any length and numeric offsets.
TEST(GoJson, ParsesRfc3339WithFractionAndOffset) {
  EXPECT_EQ(parse_rfc3339_ns("2024-03-14T09:26:41Z"), 1710408401000000000);
  EXPECT_EQ(parse_rfc3339_ns("2024-03-14T09:26:41.5Z"), 1710408401500000000);
  EXPECT_EQ(parse_rfc3339_ns("2024-03-14T09:26:41.123456789123Z"), 1710408401123456789);
  EXPECT_EQ(parse_rfc3339_ns("2024-03-14T10:26:41+01:00"), 1710408401000000000);
  EXPECT_EQ(parse_rfc3339_ns("2024-03-14T04:56:41.25-04:30"), 1710408401250000000);
  EXPECT_EQ(parse_rfc3339_ns("2024-02-29T00:00:00Z"), 1709164800000000000);
}

// Verifies that malformed or out-of-range times are rejected with -1.
TEST(GoJson, RejectsInvalidRfc3339) {
  for (const char* s :
       {"", "2024-03-14", "2024-03-14T09:26:41", "2024-03-14 09:26:41Z", "2024-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-03-14T24:00:00Z",
        "2024-03-14T09:60:00Z", "2024-03-14T09:26:60Z", "2024-03-14T09:26:41.Z",
        "2024-03-14T09:26:41+0100", "2024-03-14T09:26:41Zjunk", "0001-01-01T00:00:00Z"}) {
    EXPECT_EQ(parse_rfc3339_ns(s), -1) << s;
  }
}

// Verifies that parse and format round-trip a MicroTime value.
TEST(GoJson, RoundTripsMicroTime) {
  const char* s = "2031-07-09T23:59:58.000123Z";
  EXPECT_EQ(format_rfc3339_micro(parse_rfc3339_ns(s)), s);
}

}  // namespace
}  // namespace ke
