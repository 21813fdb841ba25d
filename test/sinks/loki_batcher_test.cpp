#include <gtest/gtest.h>

#include "sinks/loki/batcher.hpp"

namespace ke::sinks::loki {
namespace {

using std::chrono::milliseconds;
using clock_t_ = batcher::clock;

const string_pairs job_a = {{"job", "a"}};
const string_pairs job_b = {{"job", "b"}};

entry line(std::size_t n, std::int64_t t = 1) { return entry{t, std::string(n, 'x'), {}}; }

// Verifies that nothing is due before batchWait has passed since the first entry, and the
// batch is due exactly then.
TEST(LokiBatcher, DueAfterWaitSinceFirstEntry) {
  batcher b(1000, milliseconds(1000));
  const clock_t_::time_point t0{};
  EXPECT_EQ(b.due(), clock_t_::time_point::max());
  EXPECT_FALSE(b.add(job_a, line(10), "p1", t0 + milliseconds(5)));
  EXPECT_FALSE(b.add(job_a, line(10), "p2", t0 + milliseconds(800)));
  EXPECT_EQ(b.due(), t0 + milliseconds(1005));
  EXPECT_FALSE(b.poll(t0 + milliseconds(1004)));
  const auto out = b.poll(t0 + milliseconds(1005));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->entries, 2u);
  EXPECT_TRUE(b.empty());
  EXPECT_FALSE(b.poll(t0 + milliseconds(5000)));
}

// Verifies that an entry that would take the batch over batchSize closes the batch first.
TEST(LokiBatcher, SplitsBySize) {
  batcher b(100, milliseconds(1000));
  const clock_t_::time_point t0{};
  EXPECT_FALSE(b.add(job_a, line(40), "1", t0));
  EXPECT_FALSE(b.add(job_a, line(60), "2", t0));  // exactly 100: still fits
  const auto closed = b.add(job_a, line(1), "3", t0 + milliseconds(10));
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->entries, 2u);
  EXPECT_EQ(closed->bytes, 100u);
  EXPECT_EQ(b.open_entries(), 1u);
  EXPECT_EQ(b.due(), t0 + milliseconds(1010));  // the new batch's clock starts at its entry
}

// Verifies that an entry larger than batchSize travels alone.
TEST(LokiBatcher, OversizedEntryIsAlone) {
  batcher b(100, milliseconds(1000));
  const clock_t_::time_point t0{};
  EXPECT_FALSE(b.add(job_a, line(10), "1", t0));
  auto closed = b.add(job_a, line(500), "2", t0);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->entries, 1u);
  closed = b.add(job_a, line(10), "3", t0);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->entries, 1u);
  EXPECT_EQ(closed->bytes, 500u);
}

// Verifies that entries are grouped into streams by label set, keeping arrival order and
// positions.
TEST(LokiBatcher, GroupsByStream) {
  batcher b(10000, milliseconds(1000));
  const clock_t_::time_point t0{};
  b.add(job_a, line(1, 3), "1", t0);
  b.add(job_b, line(2, 2), "2", t0);
  b.add(job_a, line(3, 1), "3", t0);
  batch out = b.flush();
  ASSERT_EQ(out.streams.size(), 2u);
  EXPECT_EQ(out.streams[0].key, R"({job="a"})");
  EXPECT_EQ(out.streams[0].entries.size(), 2u);
  EXPECT_EQ(out.streams[1].key, R"({job="b"})");
  EXPECT_EQ(out.positions, (std::vector<std::string>{"1", "2", "3"}));
  out.sort_entries();
  EXPECT_EQ(out.streams[0].entries[0].time_ns, 1);
  EXPECT_EQ(out.bytes, 6u);
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(b.flush().empty());
}

// Verifies that structured metadata counts toward the batch size, as in Loki's rate limits.
TEST(LokiBatcher, MetadataCountsTowardSize) {
  entry e{1, "abc", {{"uid", "12345"}}};
  EXPECT_EQ(batcher::entry_bytes(e), 3u + 3u + 5u);
}

}  // namespace
}  // namespace ke::sinks::loki
