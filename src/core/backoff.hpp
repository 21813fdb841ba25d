// Exponential backoff with full jitter, for anything that retries (sink sends, reconnects).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>

namespace ke {

// Delays grow as min, 2*min, 4*min, ... up to max (the "ceiling"); each delay is drawn uniformly
// from [min, ceiling] (full jitter with a floor, as Fluent Bit's backoff_full_jitter), so retries
// from many clients spread out but never come faster than min.
// Not thread-safe; one instance per retrying loop.
class backoff {
 public:
  // Returns a value uniformly distributed in [0, 1). Injected in tests to make delays exact.
  using random_source = std::function<double()>;

  // min <= max, both > 0 (clamped otherwise). An empty random source uses a seeded mt19937_64.
  explicit backoff(std::chrono::milliseconds min = std::chrono::milliseconds(100),
                   std::chrono::milliseconds max = std::chrono::seconds(30),
                   random_source random = {});

  // The delay to wait before the next attempt; advances the exponent.
  std::chrono::milliseconds next();
  // Back to the first delay (call after a success).
  void reset() { attempts_ = 0; }

  // Delays handed out since the last reset.
  std::uint32_t attempts() const { return attempts_; }
  // The upper bound of the delay next() returns next.
  std::chrono::milliseconds ceiling() const;

  std::chrono::milliseconds min() const { return min_; }
  std::chrono::milliseconds max() const { return max_; }

 private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  random_source random_;
  std::uint32_t attempts_ = 0;
};

}  // namespace ke
