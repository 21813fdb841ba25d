#include "kube/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace ke::kube {

token_bucket::token_bucket(double qps, int burst, clock& c)
    : qps_(qps > 0 ? qps : 5.0),
      burst_(burst > 0 ? burst : 10),
      clock_(c),
      tokens_(static_cast<double>(burst_)),
      last_(c.now()) {}

void token_bucket::refill() {
  const auto now = clock_.now();
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(static_cast<double>(burst_), tokens_ + elapsed * qps_);
    last_ = now;
  }
}

double token_bucket::tokens() {
  refill();
  return tokens_;
}

clock::duration token_bucket::reserve() {
  refill();
  tokens_ -= 1.0;
  if (tokens_ >= 0) {
    return clock::duration::zero();
  }
  return clock::duration(static_cast<clock::duration::rep>(std::ceil(-tokens_ / qps_ * 1000.0)));
}

std::optional<clock::duration> token_bucket::try_reserve(clock::duration max_wait) {
  refill();
  const double after = tokens_ - 1.0;
  const auto wait =
      after >= 0
          ? clock::duration::zero()
          : clock::duration(static_cast<clock::duration::rep>(std::ceil(-after / qps_ * 1000.0)));
  if (wait > max_wait) {
    return std::nullopt;
  }
  tokens_ = after;
  return wait;
}

net::awaitable<bool> token_bucket::acquire() {
  const auto wait = reserve();
  if (wait <= clock::duration::zero()) {
    co_return !clock_.cancelled();
  }
  co_return co_await clock_.sleep(wait);
}

}  // namespace ke::kube
