// Rate limiting for log lines on hot paths: one line per period, carrying the count of the
// occurrences it stands for, so repeated failures never flood the log nor go unreported.
#pragma once
#include <chrono>
#include <cstdint>

namespace ke {

class log_limiter {
 public:
  explicit log_limiter(std::chrono::steady_clock::duration period = std::chrono::seconds(10))
      : period_(period) {}

  // Records one occurrence. Returns 0 when the caller should stay quiet, otherwise the number of
  // occurrences to report (this one plus those held back since the last report).
  std::uint64_t allow() {
    ++pending_;
    const auto now = std::chrono::steady_clock::now();
    if (reported_ && now - last_ < period_) {
      return 0;
    }
    reported_ = true;
    last_ = now;
    const auto n = pending_;
    pending_ = 0;
    return n;
  }

 private:
  std::chrono::steady_clock::duration period_;
  std::chrono::steady_clock::time_point last_{};
  bool reported_ = false;
  std::uint64_t pending_ = 0;
};

}  // namespace ke
