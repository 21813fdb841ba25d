#include "core/backoff.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace ke {
namespace {

using std::chrono::milliseconds;

backoff::random_source constant(double v) {
  return [v] { return v; };
}

// Verifies that the lowest random draw always gives the minimum delay.
TEST(Backoff, LowestDrawIsMin) {
  backoff b(milliseconds(100), milliseconds(30000), constant(0.0));
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(b.next(), milliseconds(100));
  }
}

// Verifies that the ceiling doubles per attempt from min and stops at max.
TEST(Backoff, CeilingDoublesUpToMax) {
  backoff b(milliseconds(100), milliseconds(30000), constant(1.0));
  const long expected[] = {100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000};
  for (long e : expected) {
    EXPECT_EQ(b.ceiling(), milliseconds(e));
    EXPECT_EQ(b.next(), milliseconds(e));
  }
}

// Verifies that a draw in the middle lands between min and the current ceiling (full jitter).
TEST(Backoff, JitterIsUniformBetweenMinAndCeiling) {
  backoff b(milliseconds(100), milliseconds(30000), constant(0.5));
  EXPECT_EQ(b.next(), milliseconds(100));  // ceiling 100: [100,100]
  EXPECT_EQ(b.next(), milliseconds(150));  // ceiling 200
  EXPECT_EQ(b.next(), milliseconds(250));  // ceiling 400
}

// Verifies that reset() starts the sequence over.
TEST(Backoff, ResetRestartsSequence) {
  backoff b(milliseconds(10), milliseconds(1000), constant(1.0));
  b.next();
  b.next();
  b.next();
  EXPECT_EQ(b.attempts(), 3u);
  EXPECT_EQ(b.ceiling(), milliseconds(80));
  b.reset();
  EXPECT_EQ(b.attempts(), 0u);
  EXPECT_EQ(b.next(), milliseconds(10));
}

// Verifies that many attempts neither overflow nor exceed max.
TEST(Backoff, ManyAttemptsStayAtMax) {
  backoff b(milliseconds(100), milliseconds(30000), constant(0.999999));
  for (int i = 0; i < 1000; ++i) {
    const auto d = b.next();
    EXPECT_GE(d, milliseconds(100));
    EXPECT_LE(d, milliseconds(30000));
  }
  EXPECT_EQ(b.ceiling(), milliseconds(30000));
}

// Verifies that the default random source yields delays within bounds.
TEST(Backoff, DefaultRandomWithinBounds) {
  backoff b;
  for (int i = 0; i < 50; ++i) {
    const auto hi = b.ceiling();
    const auto d = b.next();
    EXPECT_GE(d, milliseconds(100));
    EXPECT_LE(d, hi);
  }
}

// Verifies that nonsensical bounds are clamped (min >= 1ms, max >= min).
TEST(Backoff, ClampsBounds) {
  backoff b(milliseconds(0), milliseconds(0), constant(0.0));
  EXPECT_EQ(b.min(), milliseconds(1));
  EXPECT_EQ(b.max(), milliseconds(1));
  EXPECT_EQ(b.next(), milliseconds(1));
}

}  // namespace
}  // namespace ke
