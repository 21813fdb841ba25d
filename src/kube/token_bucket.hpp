// Client-side rate limit for non-watch API requests (kubeQPS / kubeBurst), as client-go's
// token bucket: the bucket holds up to `burst` tokens and refills at `qps` tokens a second;
// each request takes one token, waiting for it when the bucket is empty. Waiters are served
// in arrival order (each reservation pushes the next one further out).
//
// Threading: one bucket is used from its clock's executor thread only.
#pragma once
#include <chrono>
#include <optional>

#include "core/clock.hpp"

namespace ke::kube {

class token_bucket {
 public:
  // qps <= 0 means client-go's default 5; burst <= 0 means 10.
  token_bucket(double qps, int burst, clock& c);

  // Takes a token and returns how long the caller must wait before using it (zero if one was
  // available).
  clock::duration reserve();
  // Takes a token only if the wait would be at most max_wait; otherwise takes nothing.
  std::optional<clock::duration> try_reserve(clock::duration max_wait);
  // reserve() and sleep. False if the clock was cancelled (shutdown).
  net::awaitable<bool> acquire();

  double qps() const { return qps_; }
  int burst() const { return burst_; }
  // Tokens available now (negative when waiters hold reservations).
  double tokens();

 private:
  void refill();

  double qps_;
  int burst_;
  clock& clock_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace ke::kube
