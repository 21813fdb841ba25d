#include "core/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace ke {

namespace {

backoff::random_source default_random() {
  return [engine = std::mt19937_64(std::random_device{}())]() mutable {
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
  };
}

}  // namespace

backoff::backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, random_source random)
    : min_(std::max(min, std::chrono::milliseconds(1))),
      max_(std::max(max, min_)),
      random_(random ? std::move(random) : default_random()) {}

std::chrono::milliseconds backoff::ceiling() const {
  // min * 2^attempts, without overflowing: stop doubling once max is reached.
  auto c = min_;
  for (std::uint32_t i = 0; i < attempts_ && c < max_; ++i) {
    c = c > max_ / 2 ? max_ : c * 2;
  }
  return std::min(c, max_);
}

std::chrono::milliseconds backoff::next() {
  const auto hi = ceiling();
  if (attempts_ < UINT32_MAX) {
    ++attempts_;
  }
  const double u = std::clamp(random_(), 0.0, 1.0);
  const auto span = static_cast<double>((hi - min_).count());
  auto d = min_ + std::chrono::milliseconds(std::llround(u * span));
  return std::clamp(d, min_, hi);
}

}  // namespace ke
