// Time for the watch component: "now" and cancellable sleeps, replaceable in tests.
//
// Everything in ke::watch that waits (backoff, Retry-After, the token bucket) or looks at the time
// (token re-reads, the 2-minute backoff reset, the "very short watch" check, event age) goes
// through one clock, so tests can run hours of backoff in microseconds: manual_clock completes
// every sleep at once and moves its virtual time forward by the requested delay.
//
// Threading: one clock is used from its executor's thread only.
#pragma once
#include <chrono>
#include <cstdint>
#include <list>
#include <vector>

#include "core/asio.hpp"

namespace ke {

class clock {
 public:
  using duration = std::chrono::milliseconds;

  explicit clock(net::any_io_executor ex) : ex_(std::move(ex)) {}
  virtual ~clock() = default;
  clock(const clock&) = delete;
  clock& operator=(const clock&) = delete;

  virtual std::chrono::steady_clock::time_point now() const {
    return std::chrono::steady_clock::now();
  }
  virtual std::chrono::system_clock::time_point wall_now() const {
    return std::chrono::system_clock::now();
  }

  // Waits d (<= 0: yields once). Returns false when woken by cancel_all() or called after it.
  net::awaitable<bool> sleep(duration d);
  // Wakes every sleeper with false; later sleeps return false at once until reset().
  void cancel_all();
  void reset() { cancelled_ = false; }
  bool cancelled() const { return cancelled_; }

  const net::any_io_executor& executor() const { return ex_; }

 protected:
  // How long the timer really waits for a requested sleep of d (manual_clock: zero).
  virtual duration real_delay(duration d) { return d; }
  // Called when a sleep of d starts (manual_clock: advances its time and records d).
  virtual void on_sleep(duration /*d*/) {}

 private:
  net::any_io_executor ex_;
  std::list<net::steady_timer*> sleepers_;
  bool cancelled_ = false;
};

// Virtual time for tests: now() = the real time at construction plus every sleep so far plus
// advance(); each sleep completes on the next turn of the io_context. Sleeps are recorded.
class manual_clock : public clock {
 public:
  explicit manual_clock(net::any_io_executor ex);

  std::chrono::steady_clock::time_point now() const override { return steady_base_ + offset_; }
  std::chrono::system_clock::time_point wall_now() const override {
    return wall_base_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(offset_);
  }
  void advance(duration d) { offset_ += d; }

  // Every sleep requested so far, in order.
  const std::vector<duration>& sleeps() const { return sleeps_; }
  void clear_sleeps() { sleeps_.clear(); }

 protected:
  duration real_delay(duration) override { return duration::zero(); }
  void on_sleep(duration d) override;

 private:
  std::chrono::steady_clock::time_point steady_base_;
  std::chrono::system_clock::time_point wall_base_;
  std::chrono::steady_clock::duration offset_{};
  std::vector<duration> sleeps_;
};

}  // namespace ke
