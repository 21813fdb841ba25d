// The pipeline: source -> route (dispatcher) -> bounded receiver queue -> sink, with its
// lifecycle in one place.
//
//   start():  receivers (their drain coroutines) first, then sources in the order added.
//   stop(d):  1. sources stop, all at once, within a quarter of the time left before d, at
//                most 5 s (the ingest stops taking reports; the watch stops and, with leader
//                election, releases its Lease); nothing new is dispatched after this step.
//             2. every receiver stops taking records and drains its queue into its sink, all in
//                parallel, before d. What cannot be delivered by then is counted dropped
//                (reason "shutdown") and logged by the receiver: never silently.
//
// Sources are plain start/stop pairs (a watch, the kube-bench ingest, a test's fake), so the
// pipeline knows nothing about Kubernetes or HTTP.
//
// Threading: the io_context thread only.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/asio.hpp"
#include "core/metrics.hpp"
#include "pipeline/acks.hpp"
#include "pipeline/dispatcher.hpp"
#include "pipeline/receiver.hpp"
#include "route/rule_tree.hpp"
#include "sinks/sink.hpp"

namespace ke::pipeline {

using time_point = std::chrono::steady_clock::time_point;

// Something that feeds the pipeline through dispatch() or admit().
struct source {
  std::string name;
  std::function<void()> start;
  // Stops producing: when it returns (or at the deadline) nothing more is dispatched.
  std::function<net::awaitable<void>(time_point deadline)> stop;
};

class pipeline {
 public:
  pipeline(net::any_io_executor ex, std::unique_ptr<const route::rule_tree> tree, ke::metrics& m);
  pipeline(const pipeline&) = delete;
  pipeline& operator=(const pipeline&) = delete;
  ~pipeline();

  // Receivers in config order (the indices the rule tree routes to); before start().
  receiver& add_receiver(const std::string& name, const config::queue& q, sinks::sink_ptr s);
  // Sources in start order; before start().
  void add_source(source s);

  // Called when every receiver a dispatched record (with a source_position) reached is done
  // with it (see acks.hpp): the watch's checkpoint. Before start().
  void on_settled(acks::listener l) { acks_.set_listener(std::move(l)); }
  std::size_t unsettled() const { return acks_.pending(); }

  // Routes r into the receivers it reaches; suspends while a reached receiver with policy
  // block is full (backpressure).
  net::awaitable<void> dispatch(record_ptr r);
  // All or nothing, never waits (see dispatcher::admit).
  admission admit(const std::vector<record_ptr>& records);

  void start();
  // The shutdown order above. Returns when every receiver has drained or at the deadline.
  net::awaitable<void> stop(time_point deadline);

  const std::vector<std::unique_ptr<receiver>>& receivers() const { return receivers_; }
  // The first receiver that can no longer deliver, "" when all can (readiness).
  std::string failure() const;

 private:
  // The dispatcher over the receivers added so far (made at the first record).
  dispatcher& router();

  net::any_io_executor ex_;
  std::unique_ptr<const route::rule_tree> tree_;
  ke::metrics& metrics_;
  acks acks_;  // before the receivers: they report to it until destroyed
  std::vector<std::unique_ptr<receiver>> receivers_;
  std::vector<source> sources_;
  std::unique_ptr<dispatcher> dispatcher_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace ke::pipeline
