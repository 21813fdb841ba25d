// Tests for the time support of go_template (src/template/time.cpp): Go's time.Format layouts,
// RFC 3339 parsing of metav1 times, the time methods and the event's GetTimestamp* methods.
#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "template/internal.hpp"
#include "template/template_test_util.hpp"

namespace ke::tmpl {
namespace {

using detail::format_time;
using detail::go_time;
using nlohmann::ordered_json;

// 2024-05-14T10:05:30Z (a Tuesday), the sample event's lastTimestamp.
constexpr std::int64_t last_timestamp = 1715681130;

go_time at(std::int64_t sec, std::int32_t nsec = 0) {
  go_time t;
  t.sec = sec;
  t.nsec = nsec;
  return t;
}

std::vector<render_case> render_table() {
  return {
      {"TimeIsGoString", "{{ .FirstTimestamp }} | {{ .LastTimestamp }}",
       "2024-05-14 10:00:00 +0000 UTC | 2024-05-14 10:05:30 +0000 UTC"},
      {"NullTimeIsZeroTime", "{{ .EventTime }}", "0001-01-01 00:00:00 +0000 UTC"},
      {"GetTimestampMs", "{{ .GetTimestampMs }}", "1715680800000"},
      {"GetTimestampISO8601", "{{ .GetTimestampISO8601 }}", "2024-05-14T10:00:00.000Z"},
      {"TimeMethods",
       "{{ .LastTimestamp.Unix }} {{ .LastTimestamp.UnixMilli }} {{ .EventTime.IsZero }}",
       "1715681130 1715681130000 true"},
      {"TimeFormat", "{{ .LastTimestamp.Format \"Mon Jan _2 15:04:05 MST 2006\" }}",
       "Tue May 14 10:05:30 UTC 2024"},
      {"TimeFormatZones", "{{ .LastTimestamp.Format \"2006-01-02T15:04:05Z07:00 -0700 pm\" }}",
       "2024-05-14T10:05:30Z +0000 am"},
  };
}

class TemplateTimeRender : public ::testing::TestWithParam<render_case> {};

// Verifies that each template renders exactly as Go's text/template with sprig would.
TEST_P(TemplateTimeRender, RendersLikeGo) { expect_renders(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, TemplateTimeRender, ::testing::ValuesIn(render_table()),
                         case_name<render_case>);

// Verifies that GetTimestampMs falls back to eventTime when firstTimestamp is null.
TEST(TemplateTime, GetTimestampFallsBackToEventTime) {
  ordered_json doc = event_doc();
  doc["firstTimestamp"] = nullptr;
  doc["eventTime"] = "2024-05-14T10:00:00.123456Z";
  EXPECT_EQ(render("{{ .GetTimestampMs }} {{ .GetTimestampISO8601 }}", doc),
            "1715680800123 2024-05-14T10:00:00.123Z");
  EXPECT_EQ(render("{{ .EventTime }}", doc), "2024-05-14 10:00:00.123456 +0000 UTC");
}

// Verifies that GetTimestampMs of an event without times is Go's overflowed zero-time value.
TEST(TemplateTime, GetTimestampOfZeroTimeOverflowsLikeGo) {
  ordered_json doc = event_doc();
  doc["firstTimestamp"] = nullptr;
  EXPECT_EQ(render("{{ .GetTimestampMs }}|{{ .GetTimestampISO8601 }}", doc),
            "-6795364578871|0001-01-01T00:00:00.000Z");
}

// Verifies the names, 12-hour clock, day of year and two-digit year elements of Go layouts.
TEST(TemplateTime, FormatLayoutElements) {
  go_time t = at(last_timestamp);
  EXPECT_EQ(format_time(t, "January 2, 2006 at 3:04PM (Monday)"),
            "May 14, 2024 at 10:05AM (Tuesday)");
  EXPECT_EQ(format_time(t, "02/01/06 002 __2 _2"), "14/05/24 135 135 14");
  EXPECT_EQ(format_time(at(last_timestamp + 12 * 3600 + 99), "3:4:5 03 PM pm"), "10:7:9 10 PM pm");
  EXPECT_EQ(format_time(at(0), detail::time_string_layout), "1970-01-01 00:00:00 +0000 UTC");
}

// Verifies fractional seconds: .000 keeps zeros, .999 trims them (and the dot when nothing is
// left), and the zone elements print UTC.
TEST(TemplateTime, FormatFractionsAndZones) {
  EXPECT_EQ(format_time(at(last_timestamp, 123456789), "15:04:05.000Z07:00"), "10:05:30.123Z");
  EXPECT_EQ(format_time(at(last_timestamp, 500000000), "05.000000|05.999999"), "30.500000|30.5");
  EXPECT_EQ(format_time(at(last_timestamp), "05.999|05.000"), "30|30.000");
  EXPECT_EQ(format_time(at(last_timestamp), "-07:00 -0700 Z0700 MST"), "+00:00 +0000 Z UTC");
}

// Verifies parsing of RFC 3339 document times: offsets are applied, fractions kept, and
// anything else is the zero time.
TEST(TemplateTime, TimeOfJson) {
  ordered_json offset = "2024-05-14T12:05:30+02:00";
  EXPECT_EQ(detail::time_of_json(&offset).sec, last_timestamp);
  ordered_json fraction = "2024-05-14T10:05:30.25Z";
  go_time f = detail::time_of_json(&fraction);
  EXPECT_EQ(f.sec, last_timestamp);
  EXPECT_EQ(f.nsec, 250000000);
  ordered_json bad = "yesterday";
  ordered_json number = 5;
  EXPECT_TRUE(detail::time_of_json(&bad).is_zero());
  EXPECT_TRUE(detail::time_of_json(&number).is_zero());
  EXPECT_TRUE(detail::time_of_json(nullptr).is_zero());
}

// Verifies UnixNano wraps like Go's int64 arithmetic for the zero time.
TEST(TemplateTime, UnixNanoWrapsLikeGo) {
  EXPECT_EQ(detail::unix_nano_wrapped(go_time{}), -6795364578871345152);
  EXPECT_EQ(detail::unix_nano_wrapped(at(last_timestamp, 7)), 1715681130000000007);
  EXPECT_EQ(render("{{ .LastTimestamp.UnixNano }} {{ .LastTimestamp.Year }}", event_doc()),
            "1715681130000000000 2024");
}

// Verifies sprig's date with a Go layout on a time.Time (the UTC of a metav1.Time).
TEST(TemplateTime, DateWithGoLayout) {
  EXPECT_EQ(render("{{ date \"Mon, 02 Jan 2006 15:04\" .LastTimestamp.UTC }}", event_doc()),
            "Tue, 14 May 2024 10:05");
  EXPECT_EQ(render("{{ .LastTimestamp.UTC | date \"2006-01-02\" }}", event_doc()), "2024-05-14");
}

}  // namespace
}  // namespace ke::tmpl
