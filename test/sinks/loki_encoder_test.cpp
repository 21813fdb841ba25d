#include <gtest/gtest.h>
#include <snappy.h>

#include <nlohmann/json.hpp>

#include "sinks/loki/encoder.hpp"
#include "sinks/loki/labels.hpp"
#include "sinks/loki/push.pb.h"

namespace ke::sinks::loki {
namespace {

batch sample_batch() {
  batch b;
  stream s1;
  s1.labels = {{"job", "kubernetes-event"}, {"namespace", "default"}};
  s1.key = format_labels(s1.labels);
  s1.entries.push_back({1'700'000'002'000'000'005, "second", {{"uid", "u-2"}}});
  s1.entries.push_back({1'700'000'001'000'000'000, "first", {}});
  s1.entries.push_back({1'700'000'002'000'000'005, "second-again", {}});
  stream s2;
  s2.labels = {{"job", "kubernetes-event"}, {"namespace", "kube-system"}};
  s2.key = format_labels(s2.labels);
  s2.entries.push_back({-1'500'000'000, "before 1970", {}});
  b.streams = {s1, s2};
  b.entries = 4;
  return b;
}

logproto::PushRequest decode(const payload& p) {
  std::string raw;
  EXPECT_TRUE(snappy::Uncompress(p.body.data(), p.body.size(), &raw));
  logproto::PushRequest req;
  EXPECT_TRUE(req.ParseFromString(raw));
  return req;
}

// Verifies that the protobuf body decodes with the .proto classes: labels string, entries
// sorted by time within the stream (ties keep their order), timestamps, lines, metadata.
TEST(LokiEncoder, ProtobufRoundTrip) {
  batch b = sample_batch();
  const payload p = encode_protobuf(b);
  EXPECT_EQ(p.content_type, "application/x-protobuf");
  EXPECT_EQ(p.content_encoding, "");
  const auto req = decode(p);
  ASSERT_EQ(req.streams_size(), 2);
  const auto& s = req.streams(0);
  EXPECT_EQ(s.labels(), R"({job="kubernetes-event", namespace="default"})");
  ASSERT_EQ(s.entries_size(), 3);
  EXPECT_EQ(s.entries(0).line(), "first");
  EXPECT_EQ(s.entries(0).timestamp().seconds(), 1'700'000'001);
  EXPECT_EQ(s.entries(0).timestamp().nanos(), 0);
  EXPECT_EQ(s.entries(1).line(), "second");
  EXPECT_EQ(s.entries(1).timestamp().nanos(), 5);
  ASSERT_EQ(s.entries(1).structuredmetadata_size(), 1);
  EXPECT_EQ(s.entries(1).structuredmetadata(0).name(), "uid");
  EXPECT_EQ(s.entries(1).structuredmetadata(0).value(), "u-2");
  EXPECT_EQ(s.entries(2).line(), "second-again");
  EXPECT_EQ(req.streams(1).labels(), R"({job="kubernetes-event", namespace="kube-system"})");
}

// Verifies that times before the epoch get a non-negative nanos part (Timestamp's rule).
TEST(LokiEncoder, NegativeTimesNormalised) {
  batch b = sample_batch();
  const auto req = decode(encode_protobuf(b));
  const auto& ts = req.streams(1).entries(0).timestamp();
  EXPECT_EQ(ts.seconds(), -2);
  EXPECT_EQ(ts.nanos(), 500'000'000);
}

// Verifies that the body uses snappy's block format (length varint first), not the framing
// format with its "sNaPpY" stream identifier.
TEST(LokiEncoder, SnappyBlockNotFramed) {
  batch b = sample_batch();
  const payload p = encode_protobuf(b);
  ASSERT_GE(p.body.size(), 4u);
  EXPECT_NE(static_cast<unsigned char>(p.body[0]), 0xffu);
  EXPECT_EQ(p.body.find("sNaPpY"), std::string::npos);
  std::size_t n = 0;
  ASSERT_TRUE(snappy::GetUncompressedLength(p.body.data(), p.body.size(), &n));
  EXPECT_GT(n, 0u);
}

// Verifies the JSON push body: stream objects, ["<ns>", line, {metadata}] values as strings.
TEST(LokiEncoder, JsonBody) {
  batch b = sample_batch();
  const payload p = encode_json(b, false);
  EXPECT_EQ(p.content_type, "application/json");
  EXPECT_EQ(p.content_encoding, "");
  const auto j = nlohmann::json::parse(p.body);
  ASSERT_EQ(j["streams"].size(), 2u);
  const auto& s = j["streams"][0];
  EXPECT_EQ(s["stream"]["job"], "kubernetes-event");
  EXPECT_EQ(s["stream"]["namespace"], "default");
  ASSERT_EQ(s["values"].size(), 3u);
  EXPECT_EQ(s["values"][0][0], "1700000001000000000");
  EXPECT_EQ(s["values"][0][1], "first");
  EXPECT_EQ(s["values"][0].size(), 2u);
  EXPECT_EQ(s["values"][1][2]["uid"], "u-2");
  EXPECT_EQ(j["streams"][1]["values"][0][0], "-1500000000");
}

// Verifies that the gzip variant decompresses to the same JSON and says so in its encoding.
TEST(LokiEncoder, JsonGzip) {
  batch b1 = sample_batch();
  batch b2 = sample_batch();
  const payload plain = encode_json(b1, false);
  const payload gz = encode_json(b2, true);
  EXPECT_EQ(gz.content_encoding, "gzip");
  ASSERT_GE(gz.body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz.body[0]), 0x1fu);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(gz.body[1]), 0x8bu);
  std::string back;
  ASSERT_TRUE(gzip_decompress(gz.body, back));
  EXPECT_EQ(back, plain.body);
}

// Verifies that invalid UTF-8 in a line does not break the JSON body.
TEST(LokiEncoder, JsonReplacesInvalidUtf8) {
  batch b;
  b.streams.push_back({{{"job", "x"}}, R"({job="x"})", {{1, "bad \xff byte", {}}}});
  b.entries = 1;
  const auto j = nlohmann::json::parse(encode_json(b, false).body);
  EXPECT_EQ(j["streams"][0]["values"][0][1], "bad \xEF\xBF\xBD byte");
}

// Verifies that a large batch of similar event lines compresses well and round-trips.
TEST(LokiEncoder, LargeBatchRoundTrip) {
  batch b;
  stream s;
  s.labels = {{"job", "kubernetes-event"}};
  s.key = format_labels(s.labels);
  for (int i = 0; i < 1000; ++i) {
    s.entries.push_back(
        {1'700'000'000'000'000'000 + i,
         R"({"metadata":{"name":"pod-)" + std::to_string(i) +
             R"(","namespace":"default"},"reason":"BackOff","message":"Back-off restarting failed container"})",
         {}});
  }
  b.streams.push_back(std::move(s));
  b.entries = 1000;
  const payload p = encode_protobuf(b);
  const auto req = decode(p);
  ASSERT_EQ(req.streams(0).entries_size(), 1000);
  EXPECT_NE(req.streams(0).entries(999).line().find("pod-999"), std::string::npos);
  EXPECT_LT(p.body.size(), 40000u);
}

}  // namespace
}  // namespace ke::sinks::loki
