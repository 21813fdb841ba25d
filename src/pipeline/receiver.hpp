// A receiver: one bounded queue, one drain coroutine, one sink. The dispatcher
// (pipeline/dispatcher.hpp) routes records into receivers; the queue's overflow policy decides what
// happens when the sink falls behind.
//
// Threading: everything runs on the one io_context thread (the executor given at construction);
// no method may be called from another thread. Lifetime: a receiver must outlive its drain
// coroutine, so destroy it only after stop() has completed (or after the io_context has stopped
// for good).
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/asio.hpp"
#include "core/async.hpp"
#include "core/backoff.hpp"
#include "core/log_limiter.hpp"
#include "core/metrics.hpp"
#include "core/record.hpp"
#include "sinks/sink.hpp"

namespace ke::pipeline {

using sinks::send_result;
using sinks::sink;
using sinks::sink_ptr;

class receiver {
 public:
  // Largest batch handed to the sink in one send.
  static constexpr std::size_t max_batch = 1000;

  receiver(net::any_io_executor ex, std::string name, const config::queue& q, sink_ptr s,
           ke::metrics& m);
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;

  const std::string& name() const { return name_; }

  // Enqueues r. Policy block: suspends the caller until there is room (backpressure).
  // Policy drop: when full, drops r and counts it (reason "queue_full").
  // After stop(): refuses r, logs an error and counts it dropped (reason "shutdown").
  net::awaitable<void> push(record_ptr r);
  // Enqueues if there is room; false when full (ingest answers 429/503 then). Never drops.
  // After stop(): false (and an error is logged).
  bool try_push(record_ptr r);
  std::size_t size() const { return queue_.size(); }
  bool full() const { return queue_.size() >= max_; }
  std::size_t capacity() const { return max_; }
  // Free slots in the queue (0 once stopped: nothing more is taken).
  std::size_t room() const { return accepting_ && !full() ? max_ - queue_.size() : 0; }
  bool accepting() const { return accepting_; }

  // True when push(r) would suspend right now (policy block, queue full, still accepting).
  bool would_block() const;
  // push() without suspending, for callers that checked !would_block(): enqueues, or applies
  // the drop policy / the after-stop refusal.
  void offer(record_ptr r);

  // Starts the drain coroutine (hands the sink everything queued, up to 1000 records a batch).
  void start();
  // Stops taking records, drains the queue into the sink and closes it, before deadline.
  // What cannot be delivered by then is counted dropped (reason "shutdown") and logged.
  net::awaitable<void> stop(std::chrono::steady_clock::time_point deadline);

  // Non-empty when this receiver can no longer deliver: its drain died, or its sink says so.
  std::string failure() const;

  // Acknowledgements (sinks/sink.hpp): set before start(); handed to the sink too. The receiver
  // reports what its sink does not: every record when the sink does not report deliveries,
  // and always what never reached the sink (queue full, refused or given up at shutdown).
  void set_delivery_observer(sinks::delivery_observer* o);

  // Replaces the retry backoff (default 100ms..30s, full jitter). For tests and tuning.
  void set_backoff(ke::backoff b) { backoff_ = std::move(b); }

 private:
  net::awaitable<void> drain();
  // Sends one batch until ok/drop, retrying with backoff. False when shutdown gave up on it.
  net::awaitable<bool> deliver(const std::vector<record_ptr>& batch);
  void enqueue(record_ptr r);
  void drop_full();
  void refuse();
  // Counts (and reports) the batch in flight and everything queued as lost at shutdown.
  void give_up();
  void report(const std::vector<record_ptr>& records, std::string_view dropped_reason);
  void report(const record_ptr& r, std::string_view dropped_reason);
  void update_depth() { depth_.Set(static_cast<double>(queue_.size())); }

  net::any_io_executor ex_;
  std::string name_;
  std::size_t max_;
  config::overflow_policy policy_;
  sink_ptr sink_;
  ke::metrics& metrics_;
  std::deque<record_ptr> queue_;

  ke::notifier have_records_;  // the drain coroutine waits here for records
  ke::notifier have_room_;     // producers with policy block wait here for room
  ke::notifier retry_wake_;    // backoff between retries (woken by stop)
  ke::notifier drained_;       // stop() waits here until the drain finished or its deadline

  ke::backoff backoff_;
  bool started_ = false;
  bool accepting_ = true;
  bool stopping_ = false;
  bool finished_ = false;              // the drain coroutine has returned
  std::string failure_;                // why the drain died (see failure())
  bool abandoned_ = false;             // stop() hit its deadline before the drain finished
  bool drain_waiting_ = false;         // the drain coroutine sleeps on have_records_
  std::size_t producers_waiting_ = 0;  // push() callers sleeping on have_room_
  std::vector<record_ptr> batch_;      // the batch the sink is working on
  sinks::delivery_observer* observer_ = nullptr;
  std::chrono::steady_clock::time_point deadline_{};

  prometheus::Gauge& depth_;
  prometheus::Counter& sent_;
  prometheus::Counter& dropped_full_;
  prometheus::Counter& dropped_sink_;  // reason sink_->drop_reason() ("rejected", ...)
  prometheus::Counter& dropped_shutdown_;
  bool sink_drop_is_error_;

  log_limiter full_log_;
  log_limiter retry_log_;
  log_limiter drop_log_;
  log_limiter refuse_log_;
};

}  // namespace ke::pipeline
