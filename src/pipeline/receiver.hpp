// A receiver: one bounded queue, one drain coroutine, one sink. The dispatcher routes records
// into receivers; the queue's overflow policy decides what happens when the sink falls behind.
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
#include "core/backoff.hpp"
#include "core/log_limiter.hpp"
#include "core/metrics.hpp"
#include "core/record.hpp"
#include "route/rule_tree.hpp"
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

  // Replaces the retry backoff (default 100ms..30s, full jitter). For tests and tuning.
  void set_backoff(ke::backoff b) { backoff_ = std::move(b); }

 private:
  net::awaitable<void> drain();
  // Sends one batch until ok/drop, retrying with backoff. False when shutdown gave up on it.
  net::awaitable<bool> deliver(const std::vector<record_ptr>& batch);
  void enqueue(record_ptr r);
  void drop_full();
  void refuse();
  void give_up(std::size_t in_flight);
  void update_depth() { depth_.Set(static_cast<double>(queue_.size())); }
  static void wake(net::steady_timer& t) { t.cancel(); }
  static net::awaitable<void> sleep_on(net::steady_timer& t);

  net::any_io_executor ex_;
  std::string name_;
  std::size_t max_;
  config::overflow_policy policy_;
  sink_ptr sink_;
  ke::metrics& metrics_;
  std::deque<record_ptr> queue_;

  // Wake-ups: timers set to expire never, cancelled to wake whoever waits on them.
  net::steady_timer have_records_;  // the drain coroutine waits here for records
  net::steady_timer have_room_;     // producers with policy block wait here for room
  net::steady_timer retry_timer_;   // backoff between retries (cancelled by stop)
  net::steady_timer drained_;       // stop() waits here (expires at its deadline)

  ke::backoff backoff_;
  bool started_ = false;
  bool accepting_ = true;
  bool stopping_ = false;
  bool finished_ = false;              // the drain coroutine has returned
  bool abandoned_ = false;             // stop() hit its deadline before the drain finished
  bool drain_waiting_ = false;         // the drain coroutine sleeps on have_records_
  std::size_t producers_waiting_ = 0;  // push() callers sleeping on have_room_
  std::size_t in_flight_ = 0;          // records of the batch the sink is working on
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

// Routes each record through the rule tree into the receivers it reaches.
class dispatcher {
 public:
  // receivers: in config order, the indices rule_tree::route() returns.
  dispatcher(const route::rule_tree& tree, std::vector<receiver*> receivers, ke::metrics& m);
  // Suspends only when a reached receiver with policy block is full. A receiver reached twice
  // gets the record twice (resmoio semantics); receivers are fed in route order.
  net::awaitable<void> dispatch(record_ptr r);
  // For sources that cannot wait (ingest): true if every reached receiver had room and took it.
  // If any reached receiver is full, nothing is enqueued and false is returned.
  bool try_dispatch(const record_ptr& r);
  // All or nothing for several records (one kube-bench report): enqueues every record only if
  // every reached receiver has room for all of them. closed when a reached receiver is stopped;
  // too_large when a receiver's whole queue could never hold them (a retry cannot succeed).
  enum class batch_result { accepted, full, closed, too_large };
  batch_result try_dispatch_all(const std::vector<record_ptr>& records);

 private:
  const route::rule_tree& tree_;
  std::vector<receiver*> receivers_;
  ke::metrics& metrics_;
  std::vector<std::uint32_t> scratch_;
};

}  // namespace ke::pipeline
