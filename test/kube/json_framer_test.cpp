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

// A list response as the API server writes it, with the awkward parts: metadata after the
// items (key order is not guaranteed), strings holding brackets, braces and escaped quotes,
// nested arrays inside items, whitespace between tokens, and a key that only looks like "items".
const std::string list_body =
    R"({"kind":"EventList","apiVersion":"v1","x\"items":[{"y":1}],"items": [ )"
    R"({"metadata":{"name":"a"},"message":"]} [{ \"q\" \\","tags":[[1],[2,{"z":"]"}]]} , )"
    R"({"metadata":{"name":"b"},"count":2})"
    "\n ],\n"
    R"("metadata":{"resourceVersion":"42","continue":"tok\"en"},"n":null})";

struct list_out {
  std::vector<std::string> items;
  list_framer::status st = list_framer::status::ok;
};

list_out feed_list(list_framer& f, const std::vector<std::string_view>& pieces) {
  list_out out;
  for (auto p : pieces) {
    out.st = f.feed(p, [&](std::string_view obj) {
      out.items.emplace_back(obj);
      return true;
    });
    if (out.st != list_framer::status::ok) break;
  }
  return out;
}

// Verifies items, metadata and completeness, whatever the split (every pair of offsets).
TEST(ListFramer, ItemsAndMetadataAtEverySplit) {
  const std::vector<std::string> want = {
      R"({"metadata":{"name":"a"},"message":"]} [{ \"q\" \\","tags":[[1],[2,{"z":"]"}]]})",
      R"({"metadata":{"name":"b"},"count":2})"};
  for (std::size_t a = 0; a < list_body.size(); a += 3) {
    for (std::size_t b = a; b < list_body.size(); b += 5) {
      list_framer f;
      std::string_view v(list_body);
      auto out = feed_list(f, {v.substr(0, a), v.substr(a, b - a), v.substr(b)});
      ASSERT_EQ(out.st, list_framer::status::ok) << a << "/" << b;
      EXPECT_EQ(out.items, want) << a << "/" << b;
      EXPECT_TRUE(f.complete());
      EXPECT_TRUE(f.saw_items());
      EXPECT_EQ(f.metadata(), R"({"resourceVersion":"42","continue":"tok\"en"})");
    }
  }
}

// Verifies that an item is handed on as soon as it is complete, before the list ends.
TEST(ListFramer, ItemsLeaveBeforeTheListEnds) {
  list_framer f;
  const std::string head = R"({"metadata":{"resourceVersion":"7"},"items":[{"a":1},{"b")";
  auto out = feed_list(f, {head});
  EXPECT_EQ(out.items, std::vector<std::string>{R"({"a":1})"});
  EXPECT_FALSE(f.complete());
}

// Verifies empty and null item lists, and bodies that are not lists.
TEST(ListFramer, EmptyNullAndNotALists) {
  for (const std::string& body :
       {std::string(R"({"items":[]})"), std::string(R"({"items":null})")}) {
    list_framer f;
    auto out = feed_list(f, {body});
    EXPECT_EQ(out.st, list_framer::status::ok);
    EXPECT_TRUE(out.items.empty());
    EXPECT_TRUE(f.complete() && f.saw_items()) << body;
  }
  {
    list_framer f;  // a Status: a complete object with no items
    auto out = feed_list(f, {R"({"kind":"Status","code":500,"details":{"x":[1]}})"});
    EXPECT_EQ(out.st, list_framer::status::ok);
    EXPECT_TRUE(f.complete());
    EXPECT_FALSE(f.saw_items());
  }
  for (const std::string& body : {std::string("Too many requests"), std::string(R"({"items":[1]})"),
                                  std::string(R"({"items":[]} x)"), std::string(R"({"a" 1})")}) {
    list_framer f;
    EXPECT_EQ(feed_list(f, {body}).st, list_framer::status::not_a_list) << body;
  }
}

// Verifies the size bound on one item, and that the framer holds at most one item's bytes.
TEST(ListFramer, ItemSizeIsBounded) {
  list_framer f(64);
  const std::string big = R"({"items":[{"m":")" + std::string(100, 'x') + R"("}]})";
  EXPECT_EQ(feed_list(f, {big}).st, list_framer::status::too_large);
  list_framer g(64);
  std::string body = R"({"items":[)";
  for (int i = 0; i < 1000; ++i)
    body += std::string(i ? "," : "") + R"({"i":)" + std::to_string(i) + "}";
  body += "]}";
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < body.size(); ++i)
    bytes.push_back(std::string_view(body).substr(i, 1));
  auto out = feed_list(g, bytes);
  EXPECT_EQ(out.st, list_framer::status::ok);
  EXPECT_EQ(out.items.size(), 1000u);
  EXPECT_EQ(out.items[999], R"({"i":999})");
}

}  // namespace
}  // namespace ke::kube
