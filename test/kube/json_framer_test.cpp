#include "kube/json_framer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ke::kube {
namespace {

// Three watch events as the API server writes them: compact JSON + "\n", with braces, quotes
// and escapes inside strings that a naive framer would trip over.
const std::string stream =
    R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"},"message":"}{ \"quoted\" \\"}})"
    "\n"
    R"({"type":"MODIFIED","object":{"metadata":{"name":"b"},"message":"[x] {y} \\\" \u00e9","count":2}})"
    "\n"
    R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"3"},"involvedObject":{}}})"
    "\n";

std::vector<std::string> expected() {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    if (stream[i] == '\n') {
      out.push_back(stream.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::vector<std::string> feed_all(json_framer& f, const std::vector<std::string_view>& pieces,
                                  std::size_t* max_buffered = nullptr) {
  std::vector<std::string> got;
  for (auto p : pieces) {
    const auto st = f.feed(p, [&](std::string_view obj) {
      got.emplace_back(obj);
      return true;
    });
    EXPECT_EQ(st, json_framer::status::ok);
    if (max_buffered != nullptr) {
      *max_buffered = std::max(*max_buffered, f.buffered());
    }
  }
  return got;
}

// Verifies that the whole stream fed in one piece yields each event once, in order.
TEST(JsonFramer, ManyEventsInOneChunk) {
  json_framer f;
  EXPECT_EQ(feed_all(f, {stream}), expected());
  EXPECT_EQ(f.buffered(), 0u);
  EXPECT_FALSE(f.in_object());
}

// Verifies that a split at every single byte offset yields exactly the same events.
TEST(JsonFramer, EverySingleSplitOffset) {
  for (std::size_t cut = 1; cut < stream.size(); ++cut) {
    json_framer f;
    std::string_view s(stream);
    EXPECT_EQ(feed_all(f, {s.substr(0, cut), s.substr(cut)}), expected()) << "cut at " << cut;
  }
}

// Verifies that every pair of split offsets (three chunks) yields the same events.
TEST(JsonFramer, EveryPairOfSplitOffsets) {
  const auto want = expected();
  for (std::size_t a = 1; a < stream.size(); ++a) {
    for (std::size_t b = a; b < stream.size(); ++b) {
      json_framer f;
      std::string_view s(stream);
      ASSERT_EQ(feed_all(f, {s.substr(0, a), s.substr(a, b - a), s.substr(b)}), want)
          << "cuts at " << a << "," << b;
    }
  }
}

// Verifies that one byte at a time works and that the framer never holds more than the one
// event in progress.
TEST(JsonFramer, OneByteAtATimeHoldsAtMostOneEvent) {
  json_framer f;
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    bytes.push_back(std::string_view(stream).substr(i, 1));
  }
  std::size_t max_buffered = 0;
  EXPECT_EQ(feed_all(f, bytes, &max_buffered), expected());
  std::size_t longest = 0;
  for (const auto& e : expected()) longest = std::max(longest, e.size());
  EXPECT_LE(max_buffered, longest);
  EXPECT_GT(max_buffered, 0u);
}

// Verifies that objects with no newline or whitespace between them are framed too (client-go
// reads JSON values, not lines).
TEST(JsonFramer, ObjectsWithoutSeparators) {
  json_framer f;
  EXPECT_EQ(feed_all(f, {R"({"a":1}{"b":{"c":"}"}} {"d":[1,{"e":2}]})"}),
            (std::vector<std::string>{R"({"a":1})", R"({"b":{"c":"}"}})", R"({"d":[1,{"e":2}]})"}));
}

// Verifies that bytes outside an object that are not whitespace are reported (a plain-text
// error body, garbage).
TEST(JsonFramer, GarbageBetweenObjectsIsAnError) {
  json_framer f;
  std::vector<std::string> got;
  const auto st = f.feed("{\"a\":1}\nToo many requests", [&](std::string_view o) {
    got.emplace_back(o);
    return true;
  });
  EXPECT_EQ(st, json_framer::status::not_an_object);
  EXPECT_EQ(got.size(), 1u);
}

// Verifies that an object larger than the limit fails instead of growing the buffer.
TEST(JsonFramer, OversizedObjectIsRejected) {
  json_framer f(64);
  std::string big = "{\"m\":\"" + std::string(100, 'x') + "\"}";
  std::size_t calls = 0;
  EXPECT_EQ(f.feed(std::string_view(big).substr(0, 50), [&](std::string_view) { return ++calls; }),
            json_framer::status::ok);
  EXPECT_EQ(f.feed(std::string_view(big).substr(50), [&](std::string_view) { return ++calls; }),
            json_framer::status::too_large);
  EXPECT_EQ(calls, 0u);
}

// Verifies that returning false from the callback stops at that object.
TEST(JsonFramer, CallbackCanStop) {
  json_framer f;
  std::size_t calls = 0;
  f.feed(stream, [&](std::string_view) {
    ++calls;
    return false;
  });
  EXPECT_EQ(calls, 1u);
}

// Verifies that a stream cut inside an event is visible as in_object().
TEST(JsonFramer, TruncatedStreamIsVisible) {
  json_framer f;
  feed_all(f, {std::string_view(stream).substr(0, 20)});
  EXPECT_TRUE(f.in_object());
  EXPECT_EQ(f.buffered(), 20u);
  f.reset();
  EXPECT_FALSE(f.in_object());
  EXPECT_EQ(f.buffered(), 0u);
}

}  // namespace
}  // namespace ke::kube
