// The Loki sink's policy per answer (docs/loki-delivery.md): 413 splits, a batch answered 429
// for longer than maxRetryDuration is given up, persistent 4xx go to the spool's dead-letter
// area; in every case the later batches are still delivered.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "sinks/loki/encoder.hpp"
#include "sinks/loki/loki_sink.hpp"
#include "sinks/loki/spool.hpp"
#include "sinks/loki_fixture.hpp"

namespace ke::sinks::loki {
namespace {

using std::chrono::milliseconds;
namespace fs = std::filesystem;

bool has_poison(const test::loki_push& p) {
  return std::any_of(p.entries.begin(), p.entries.end(), [](const test::loki_entry& e) {
    return e.line.find("poison") != std::string::npos;
  });
}

// Reads a dead-letter file: its JSON header and the body after it.
struct dead_file {
  nlohmann::json header;
  payload body;
};
dead_file read_dead(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string data = ss.str();
  const auto first = data.find('\n');
  const auto second = data.find('\n', first + 1);
  dead_file d;
  d.header = nlohmann::json::parse(data.substr(first + 1, second - first - 1), nullptr, false);
  d.body.body = data.substr(second + 1);
  if (d.header.is_object()) {
    d.body.content_type = d.header.value("content_type", std::string());
    d.body.content_encoding = d.header.value("content_encoding", std::string());
  }
  return d;
}

std::vector<fs::path> files_in(const std::string& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& de : fs::directory_iterator(dir, ec)) {
    out.push_back(de.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class LokiPolicyTest : public LokiSinkFixture {
 protected:
  LokiPolicyTest() : LokiSinkFixture("/tmp/ke-loki-policy-test-XXXXXX") {}

  config::loki_sink cfg() const {
    auto c = LokiSinkFixture::cfg();
    c.max_backoff = milliseconds(20);
    c.max_retries = 1000000;  // only the policy under test gives up
    return c;
  }
  std::string spool_dir() const { return tmp_ + "/spool"; }
  std::string dead_dir() const { return spool_dir() + "/loki/dead-letter"; }

  // Loki answers r to every push for which when(push) holds, and the others as usual.
  void answer_when(std::function<bool(const test::loki_push&)> when, const test::reply& r) {
    loki_->answer_if(
        [when = std::move(when), r](const test::loki_push& p) -> std::optional<test::reply> {
          if (when(p)) {
            return r;
          }
          return std::nullopt;
        });
  }
  // Loki answers r to every push holding a poison record.
  void answer_poison(const test::reply& r) { answer_when(has_poison, r); }

  // Record i; its line names it, and carries `word` and `pad` filler bytes.
  static std::vector<record_ptr> recs(int from, int n, const std::string& word = "ok",
                                      std::size_t pad = 0) {
    std::vector<record_ptr> v;
    for (int i = from; i < from + n; ++i) {
      auto r = std::make_shared<record>();
      r->namespace_ = "default";
      r->uid = "uid-" + std::to_string(i);
      r->time_ns = 1'700'000'000'000'000'000 + static_cast<std::int64_t>(i) * 1'000'000;
      r->line =
          R"({"i":)" + std::to_string(i) + R"(,"msg":")" + word + std::string(pad, 'm') + R"("})";
      r->source_position = r->uid + "/" + std::to_string(1000 + i);
      v.push_back(std::move(r));
    }
    return v;
  }
  void send(loki_sink& s, std::vector<record_ptr> v) {
    EXPECT_EQ(test::run_coro(ioc_, s.send(std::move(v))), send_result::ok);
  }
  bool until(const std::function<bool()>& pred) { return test::run_until(ioc_, pred); }

  double dead_batches(const std::string& code) {
    return counter("loki_dead_letter_batches_total", {{"receiver", "loki"}, {"code", code}});
  }
  std::size_t acked_dropped(const std::string& reason) const {
    return static_cast<std::size_t>(
        std::count_if(acks_.dropped_positions.begin(), acks_.dropped_positions.end(),
                      [&](const auto& p) { return p.second == reason; }));
  }
  // Stored lines with these indexes, each once.
  void expect_stored(int from, int n) {
    std::set<int> seen;
    for (const auto& e : loki_->stored()) {
      const int i = index_of(e.line);
      if (i >= from && i < from + n) {
        EXPECT_TRUE(seen.insert(i).second) << "twice: " << i;
      }
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));
  }

  // Sends the poison batch and waits until Loki has seen it once, so that it is a batch of its
  // own and the pump is busy with it when the next records come.
  void send_poison_first(loki_sink& s) {
    send(s, recs(0, 3, "poison"));
    ASSERT_TRUE(until([&] { return loki_->requests() >= 1; }));
  }
  // The poison batch first, then records 3..22, which must all be stored once.
  void poison_then_twenty_delivered(loki_sink& s) {
    ASSERT_NO_FATAL_FAILURE(send_poison_first(s));
    send(s, recs(3, 20));
    ASSERT_TRUE(until([&] { return loki_->stored().size() >= 20 && s.idle(); }));
    expect_stored(3, 20);
  }
  // Records 0..n-1 (Loki's scripted answer refuses them), then m more, which must all be stored.
  void refused_then_delivered(loki_sink& s, int n, int m) {
    send(s, recs(0, n));
    ASSERT_TRUE(until([&] { return s.idle(); }));
    send(s, recs(n, m));
    ASSERT_TRUE(
        until([&] { return loki_->stored().size() >= static_cast<std::size_t>(m) && s.idle(); }));
    expect_stored(n, m);
  }
  // The one file in the dead-letter area, read.
  void only_dead_letter(dead_file* out) {
    const auto files = files_in(dead_dir());
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0].extension(), ".batch");
    *out = read_dead(files[0]);
  }
};

// ---- 429 forever for one batch -----------------------------------------------------------

// Verifies that a batch Loki answers 429 forever (per-stream limit) is dropped ("rate_limited")
// after maxRetryDuration without a spool, and the batches after it are delivered. Before the
// policy it was retried forever (maxRetries is huge here) and nothing after it arrived.
TEST_F(LokiPolicyTest, Rate429ForeverGivesUpThatBatchWithoutSpool) {
  answer_poison(
      test::reply::code(429)
          .header("Retry-After", "0")
          .with_body(
              "Per stream rate limit exceeded (limit: 1KB/sec) while attempting to ingest '3' "
              "lines"));
  auto c = cfg();
  c.max_retry_duration = milliseconds(200);
  auto s = make(c);
  ASSERT_TRUE(s);
  ASSERT_NO_FATAL_FAILURE(poison_then_twenty_delivered(*s));
  EXPECT_EQ(dropped("rate_limited"), 3);
  EXPECT_EQ(acked_dropped("rate_limited"), 3u);
  EXPECT_EQ(acks_.delivered_positions.size(), 20u);
  EXPECT_GE(counter("loki_batches_total", {{"receiver", "loki"}, {"code", "429"}}), 2);
  close(*s);
}

// Verifies that with a spool the batch rate-limited for longer than maxRetryDuration goes to
// the dead-letter area (with Loki's message) and the later batches are delivered.
TEST_F(LokiPolicyTest, Rate429ForeverDeadLettersWithSpool) {
  answer_poison(test::reply::code(429).with_body("Per stream rate limit exceeded"));
  auto c = cfg();
  c.max_retry_duration = milliseconds(200);
  c.spool.dir = spool_dir();
  auto s = make(c);
  ASSERT_TRUE(s);
  ASSERT_NO_FATAL_FAILURE(poison_then_twenty_delivered(*s));
  EXPECT_EQ(dropped("dead_letter"), 3);
  EXPECT_EQ(dropped("rate_limited"), 0);
  EXPECT_EQ(dead_batches("429"), 1);
  EXPECT_EQ(acked_dropped("dead_letter"), 3u);
  dead_file d;
  ASSERT_NO_FATAL_FAILURE(only_dead_letter(&d));
  EXPECT_EQ(d.header["status"], 429);
  EXPECT_EQ(d.header["reason"], "rate_limited");
  EXPECT_EQ(d.header["message"], "Per stream rate limit exceeded");
  const auto b = decode_payload(d.body);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->entries, 3u);
  close(*s);
}

// Verifies that 429s interrupted by other failures are not a "persistent" 429: a batch that
// gets 429 then recovers is delivered, nothing given up, with maxRetryDuration 0 (no bound).
TEST_F(LokiPolicyTest, Rate429WithoutBoundKeepsRetrying) {
  for (int i = 0; i < 5; ++i) {
    loki_->script(test::reply::code(429).with_body("ingestion rate limit exceeded"));
  }
  auto c = cfg();
  c.max_retry_duration = milliseconds(0);
  auto s = make(c);
  send(*s, recs(0, 4));
  ASSERT_TRUE(until([&] { return loki_->stored().size() >= 4 && s->idle(); }));
  expect_stored(0, 4);
  EXPECT_EQ(dropped("rate_limited"), 0);
  EXPECT_EQ(value("loki_retries_total"), 5);
  close(*s);
}

// ---- 413 ----------------------------------------------------------------------------------

// Verifies that a batch answered 413 (Loki or a proxy limits bodies to N bytes) is split in
// halves until the parts fit: every entry arrives once, in order, nothing is dropped.
TEST_F(LokiPolicyTest, TooLargeIsSplitUntilItFits) {
  constexpr std::size_t limit = 1500;  // line bytes per push
  answer_when([](const test::loki_push& p) { return p.line_bytes > limit; },
              test::reply::code(413).with_body("request_body_too_large"));
  auto c = cfg();
  c.batch_wait = milliseconds(100000);  // one batch of all 64 (sealed by close)
  auto s = make(c);
  send(*s, recs(0, 64, "ok", 100));
  close(*s);
  ASSERT_EQ(loki_->stored().size(), 64u);
  for (std::size_t i = 0; i < 64; ++i) {
    EXPECT_EQ(index_of(loki_->stored()[i].line), static_cast<int>(i));
  }
  for (const auto& p : loki_->pushes()) {
    EXPECT_FALSE(p.entries.empty());
  }
  // Every 413 was answered by a split (no part was too large alone).
  EXPECT_EQ(value("loki_batches_split_total"),
            counter("loki_batches_total", {{"receiver", "loki"}, {"code", "413"}}));
  EXPECT_GE(value("loki_batches_split_total"), 7);  // 64 entries of ~120 bytes: 8 parts or more
  EXPECT_EQ(value("loki_entries_sent_total"), 64);
  EXPECT_EQ(acks_.delivered_positions.size(), 64u);
  EXPECT_TRUE(acks_.dropped_positions.empty());
}

// Verifies the split with JSON + gzip bodies (decoded and re-encoded the same way).
TEST_F(LokiPolicyTest, TooLargeSplitKeepsJsonGzipEncoding) {
  answer_when([](const test::loki_push& p) { return p.entries.size() > 5; },
              test::reply::code(413).with_body("too large"));
  auto c = cfg();
  c.encoding = config::loki_encoding::json;
  c.gzip = true;
  c.batch_wait = milliseconds(100000);
  auto s = make(c);
  send(*s, recs(0, 21));
  close(*s);
  ASSERT_EQ(loki_->stored().size(), 21u);
  for (const auto& p : loki_->pushes()) {
    EXPECT_TRUE(p.decoded);
    EXPECT_EQ(p.content_type, "application/json");
    EXPECT_EQ(p.content_encoding, "gzip");
  }
  expect_stored(0, 21);
}

// Verifies that one entry too large even alone is dead-lettered (with a spool), and the rest of
// its batch and the later batches are delivered.
TEST_F(LokiPolicyTest, TooLargeSingleEntryIsDeadLettered) {
  answer_poison(test::reply::code(413).with_body("entry too large"));
  auto c = cfg();
  c.spool.dir = spool_dir();
  c.batch_wait = milliseconds(100000);
  auto s = make(c);
  auto v = recs(0, 4);
  auto big = recs(4, 1, "poison");
  v.insert(v.end(), big.begin(), big.end());
  auto more = recs(5, 3);
  v.insert(v.end(), more.begin(), more.end());
  send(*s, std::move(v));
  close(*s);
  expect_stored(0, 4);
  expect_stored(5, 3);
  EXPECT_EQ(loki_->stored().size(), 7u);
  EXPECT_EQ(dropped("dead_letter"), 1);
  EXPECT_EQ(dead_batches("413"), 1);
  EXPECT_EQ(value("loki_entries_sent_total"), 7);
  dead_file d;
  ASSERT_NO_FATAL_FAILURE(only_dead_letter(&d));
  EXPECT_EQ(d.header["reason"], "too_large");
  const auto b = decode_payload(d.body);
  ASSERT_TRUE(b);
  ASSERT_EQ(b->entries, 1u);
  EXPECT_NE(b->streams[0].entries[0].line.find("poison"), std::string::npos);
  // The batch's records are acknowledged as given up (final), never as "shutdown".
  EXPECT_EQ(acked_dropped("dead_letter"), 8u);
  EXPECT_EQ(acked_dropped("shutdown"), 0u);
}

// Verifies that without a spool the single entry too large is dropped ("too_large").
TEST_F(LokiPolicyTest, TooLargeSingleEntryDroppedWithoutSpool) {
  answer_poison(test::reply::code(413).with_body("entry too large"));
  auto c = cfg();
  c.batch_wait = milliseconds(100000);
  auto s = make(c);
  auto v = recs(0, 2);
  auto big = recs(2, 1, "poison");
  v.insert(v.end(), big.begin(), big.end());
  send(*s, std::move(v));
  close(*s);
  expect_stored(0, 2);
  EXPECT_EQ(dropped("too_large"), 1);
  EXPECT_EQ(acked_dropped("too_large"), 3u);
}

// ---- other persistent 4xx -------------------------------------------------------------------

// Verifies that a 404 with a spool writes the batch to a dead-letter file (the body as pushed,
// Loki's message in the header), counts it, and the later batches are delivered.
TEST_F(LokiPolicyTest, NotFoundWithSpoolIsDeadLettered) {
  loki_->script(test::reply::code(404).with_body("404 page not found"));
  auto c = cfg();
  c.spool.dir = spool_dir();
  auto s = make(c);
  ASSERT_NO_FATAL_FAILURE(refused_then_delivered(*s, 3, 5));
  EXPECT_EQ(dropped("dead_letter"), 3);
  EXPECT_EQ(dropped("client_error"), 0);
  EXPECT_EQ(dead_batches("404"), 1);
  EXPECT_EQ(acked_dropped("dead_letter"), 3u);
  EXPECT_EQ(acks_.delivered_positions.size(), 5u);
  dead_file d;
  ASSERT_NO_FATAL_FAILURE(only_dead_letter(&d));
  EXPECT_EQ(d.header["status"], 404);
  EXPECT_EQ(d.header["reason"], "client_error");
  EXPECT_EQ(d.header["message"], "404 page not found");
  EXPECT_EQ(d.header["entries"], 3);
  EXPECT_EQ(d.body.content_type, "application/x-protobuf");
  const auto b = decode_payload(d.body);
  ASSERT_TRUE(b);
  ASSERT_EQ(b->entries, 3u);
  EXPECT_EQ(index_of(b->streams[0].entries[0].line), 0);
  EXPECT_GT(prometheus::BuildGauge()
                .Name("loki_dead_letter_bytes")
                .Help("")
                .Register(metrics_.registry())
                .Add({{"receiver", "loki"}})
                .Value(),
            0);
  close(*s);
}

// Verifies that 422 (no valid stream) with spool.deadLetterMaxBytes 0 is dropped with its cause,
// as without a spool.
TEST_F(LokiPolicyTest, DeadLettersDisabledDropsWithTheCause) {
  loki_->script(test::reply::code(422).with_body("at least one valid stream is required"));
  auto c = cfg();
  c.spool.dir = spool_dir();
  c.spool.dead_letter_max_bytes = 0;
  auto s = make(c);
  ASSERT_NO_FATAL_FAILURE(refused_then_delivered(*s, 2, 2));
  EXPECT_EQ(dropped("client_error"), 2);
  EXPECT_EQ(acked_dropped("client_error"), 2u);
  EXPECT_EQ(dropped("dead_letter"), 0);
  EXPECT_TRUE(files_in(dead_dir()).empty());
  close(*s);
}

// ---- the pieces ----------------------------------------------------------------------------

// Verifies that split_payload halves a protobuf batch by entries, keeping streams and order.
TEST(LokiSplitPayload, HalvesProtobufByEntries) {
  batch b;
  b.streams.push_back({{{"a", "1"}}, R"({a="1"})", {}});
  b.streams.push_back({{{"a", "2"}}, R"({a="2"})", {}});
  for (int i = 0; i < 5; ++i) {
    b.streams[static_cast<std::size_t>(i % 2)].entries.push_back(
        {i, "line" + std::to_string(i), {{"k", "v"}}});
    ++b.entries;
  }
  const auto p = encode_protobuf(b);
  const auto h = split_payload(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->first_entries, 3u);
  EXPECT_EQ(h->second_entries, 2u);
  EXPECT_EQ(h->first.content_type, "application/x-protobuf");
  const auto a = decode_payload(h->first);
  const auto z = decode_payload(h->second);
  ASSERT_TRUE(a && z);
  EXPECT_EQ(a->entries + z->entries, 5u);
  EXPECT_EQ(a->bytes, h->first_bytes);
  EXPECT_EQ(z->bytes, h->second_bytes);
  // Stream a=1 holds lines 0, 2, 4: the first half takes 0, 2, 4; the second a=2's 1 and 3.
  ASSERT_EQ(a->streams.size(), 1u);
  EXPECT_EQ(a->streams[0].key, R"({a="1"})");
  EXPECT_EQ(a->streams[0].entries.back().line, "line4");
  ASSERT_EQ(z->streams.size(), 1u);
  EXPECT_EQ(z->streams[0].entries[0].metadata, (string_pairs{{"k", "v"}}));
}

// Verifies that one entry, or a body that is not a push, cannot be split.
TEST(LokiSplitPayload, SingleEntryOrGarbageIsNotSplit) {
  batch b;
  b.streams.push_back({{{"a", "1"}}, R"({a="1"})", {{1, "x", {}}}});
  b.entries = 1;
  EXPECT_FALSE(split_payload(encode_protobuf(b)));
  EXPECT_FALSE(split_payload(payload{"not snappy", "application/x-protobuf", ""}));
  EXPECT_FALSE(split_payload(payload{"{", "application/json", ""}));
}

// Verifies that the dead-letter area keeps under its bound by removing the oldest files, and
// indexes what an earlier run left.
TEST(LokiDeadLetter, BoundedOldestRemovedFirst) {
  char tmpl[] = "/tmp/ke-loki-dead-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/s";
  std::string error;
  {
    auto sp = spool::open(dir, 1 << 20, &error);
    ASSERT_TRUE(sp) << error;
    const payload p{std::string(1000, 'x'), "application/x-protobuf", ""};
    spool::dead_letter_info info{404, "client_error", "404 page not found"};
    std::size_t evicted = 0;
    EXPECT_FALSE(sp->dead_letter(p, 1, 1000, info, &evicted, &error));  // disabled by default
    sp->set_dead_letter_max_bytes(2600);                                // two files of ~1.2 KB
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(sp->dead_letter(p, 1, 1000, info, &evicted, &error)) << error;
      EXPECT_EQ(evicted, i < 2 ? 0u : 1u);
    }
    EXPECT_EQ(sp->dead_letters(), 2u);
    EXPECT_LE(sp->dead_letter_bytes(), 2600u);
    const payload huge{std::string(3000, 'x'), "application/x-protobuf", ""};
    EXPECT_FALSE(sp->dead_letter(huge, 1, 3000, info, &evicted, &error));
    EXPECT_NE(error.find("deadLetterMaxBytes"), std::string::npos);
    EXPECT_EQ(sp->batches(), 0u);  // never in the replay queue
  }
  const auto names = files_in(dir + "/dead-letter");
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].filename().string(), "00000000000000000002.batch");
  auto again = spool::open(dir, 1 << 20, &error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(again->dead_letters(), 2u);
  EXPECT_EQ(again->batches(), 0u);
  std::error_code ec;
  fs::remove_all(tmpl, ec);
}

}  // namespace
}  // namespace ke::sinks::loki
