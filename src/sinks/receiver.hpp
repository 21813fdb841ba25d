// A receiver: one bounded queue, one drain coroutine, one sink. The dispatcher routes records
// into receivers; the queue's overflow policy decides what happens when the sink falls behind.
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "core/config.hpp"
#include "core/metrics.hpp"
#include "core/record.hpp"
#include "route/rule_tree.hpp"
#include "sinks/sink.hpp"

namespace ke::sinks {

class receiver {
 public:
  receiver(net::any_io_executor ex, std::string name, const config::queue& q, sink_ptr s,
           ke::metrics& m);

  const std::string& name() const { return name_; }

  // Enqueues r. Policy block: suspends the caller until there is room (backpressure).
  // Policy drop: when full, drops r and counts it (reason "queue_full").
  net::awaitable<void> push(record_ptr r);
  // Enqueues if there is room; false when full (ingest answers 429/503 then). Never drops.
  bool try_push(record_ptr r);
  std::size_t size() const { return queue_.size(); }
  bool full() const { return queue_.size() >= max_; }

  // Starts the drain coroutine (hands the sink everything queued, up to 1000 records a batch).
  void start();
  // Stops taking records, drains the queue into the sink and closes it, before deadline.
  net::awaitable<void> stop(std::chrono::steady_clock::time_point deadline);

 private:
  net::awaitable<void> drain();
  // ... implementation detail members (queue, notify timers, metrics handles)
  net::any_io_executor ex_;
  std::string name_;
  std::size_t max_;
  config::overflow_policy policy_;
  sink_ptr sink_;
  ke::metrics& metrics_;
  std::deque<record_ptr> queue_;
};

// Routes each record through the rule tree into the receivers it reaches.
class dispatcher {
 public:
  dispatcher(const route::rule_tree& tree, std::vector<receiver*> receivers, ke::metrics& m);
  // Suspends only when a reached receiver with policy block is full.
  net::awaitable<void> dispatch(record_ptr r);
  // For sources that cannot wait (ingest): true if every reached receiver had room and took it.
  // If any reached receiver is full, nothing is enqueued and false is returned.
  bool try_dispatch(const record_ptr& r);

 private:
  const route::rule_tree& tree_;
  std::vector<receiver*> receivers_;
  ke::metrics& metrics_;
  std::vector<std::uint32_t> scratch_;
};

}  // namespace ke::sinks
