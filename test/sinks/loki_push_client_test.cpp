#include <gtest/gtest.h>

#include "sinks/loki/push_client.hpp"

namespace ke::sinks::loki {
namespace {

using std::chrono::milliseconds;

// Verifies that Retry-After in seconds is understood.
TEST(LokiPushClient, RetryAfterSeconds) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parse_retry_after("3", now), milliseconds(3000));
  EXPECT_EQ(parse_retry_after(" 0 ", now), milliseconds(0));
  EXPECT_FALSE(parse_retry_after("3s", now));
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("soon", now));
}

// Verifies that Retry-After as an HTTP-date is relative to now (and never negative).
TEST(LokiPushClient, RetryAfterHttpDate) {
  const auto now = std::chrono::system_clock::from_time_t(1445412480);  // 07:28:00 - 2 min
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now), milliseconds(120000));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), milliseconds(0));
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:30:00", now));
}

// Verifies that the entries Loki ignored are summed from its 400 answer.
TEST(LokiPushClient, IgnoredEntriesFrom400Body) {
  const std::string body =
      "entry with timestamp 2024-01-01 ignored, reason: 'entry too far behind',\n"
      "user 'fake', total ignored: 2 out of 5 for stream: {job=\"a\"}\n"
      "user 'fake', total ignored: 1 out of 3 for stream: {job=\"b\"}";
  EXPECT_EQ(parse_ignored_entries(body), 3u);
  EXPECT_EQ(parse_ignored_entries("error at least one valid stream is required"), 0u);
}

// Verifies promtail's retry rule: 429, 5xx and transport errors retry; 400 never; 401/403 are
// auth errors; other 4xx are dropped.
TEST(LokiPushClient, Classify) {
  using k = push_outcome::kind;
  EXPECT_EQ(classify_status(204), k::ok);
  EXPECT_EQ(classify_status(200), k::ok);
  EXPECT_EQ(classify_status(0), k::retry);
  EXPECT_EQ(classify_status(429), k::retry);
  EXPECT_EQ(classify_status(408), k::retry);
  EXPECT_EQ(classify_status(500), k::retry);
  EXPECT_EQ(classify_status(503), k::retry);
  EXPECT_EQ(classify_status(400), k::bad_request);
  EXPECT_EQ(classify_status(401), k::auth);
  EXPECT_EQ(classify_status(403), k::auth);
  EXPECT_EQ(classify_status(404), k::client_error);
  EXPECT_EQ(classify_status(413), k::too_large);
  EXPECT_EQ(classify_status(422), k::client_error);
  EXPECT_EQ(classify_status(302), k::client_error);
}

}  // namespace
}  // namespace ke::sinks::loki
