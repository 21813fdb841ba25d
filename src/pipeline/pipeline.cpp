#include "pipeline/pipeline.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "core/async.hpp"

namespace ke::pipeline {

pipeline::pipeline(net::any_io_executor ex, std::unique_ptr<const route::rule_tree> tree,
                   ke::metrics& m)
    : ex_(std::move(ex)), tree_(std::move(tree)), metrics_(m) {}

pipeline::~pipeline() = default;

receiver& pipeline::add_receiver(const std::string& name, const config::queue& q,
                                 sinks::sink_ptr s) {
  if (dispatcher_) {
    throw std::logic_error("pipeline: receiver added after the first dispatch");
  }
  receivers_.push_back(std::make_unique<receiver>(ex_, name, q, std::move(s), metrics_));
  receivers_.back()->set_delivery_observer(&acks_);
  return *receivers_.back();
}

void pipeline::add_source(source s) { sources_.push_back(std::move(s)); }

dispatcher& pipeline::router() {
  if (!dispatcher_) {
    std::vector<receiver*> rs;
    for (auto& r : receivers_) {
      rs.push_back(r.get());
    }
    dispatcher_ = std::make_unique<dispatcher>(*tree_, std::move(rs), metrics_, &acks_);
  }
  return *dispatcher_;
}

net::awaitable<void> pipeline::dispatch(record_ptr r) { co_await router().dispatch(std::move(r)); }

admission pipeline::admit(const std::vector<record_ptr>& records) {
  return router().admit(records);
}

void pipeline::start() {
  if (started_) {
    return;
  }
  started_ = true;
  for (auto& r : receivers_) {
    r->start();
  }
  for (auto& s : sources_) {
    s.start();
  }
}

net::awaitable<void> pipeline::stop(time_point deadline) {
  if (stopped_) {
    co_return;
  }
  stopped_ = true;
  const auto now = std::chrono::steady_clock::now();
  // Sources get a quarter of the time, at most 5 s (they stop reading and release the Lease);
  // the receivers the rest: draining is what needs it.
  const auto sources_deadline = deadline > now
                                    ? now + std::min<std::chrono::steady_clock::duration>(
                                                (deadline - now) / 4, std::chrono::seconds(5))
                                    : deadline;
  task_group sources(ex_);
  for (auto& s : sources_) {
    sources.spawn("stopping source " + s.name, s.stop(sources_deadline));
  }
  if (!co_await sources.join(sources_deadline)) {
    spdlog::warn("shutdown: {} source(s) still stopping at their deadline", sources.running());
  }
  task_group receivers(ex_);
  for (auto& r : receivers_) {
    receivers.spawn("stopping receiver " + r->name(), r->stop(deadline));
  }
  // Each receiver returns by the deadline on its own, after counting what it gave up; the grace
  // lets that accounting finish (join waking at the same instant would otherwise win).
  if (!co_await receivers.join(deadline + std::chrono::seconds(1))) {
    spdlog::error("shutdown: {} receiver(s) did not stop", receivers.running());
  }
}

std::string pipeline::failure() const {
  for (const auto& r : receivers_) {
    if (auto f = r->failure(); !f.empty()) {
      return f;
    }
  }
  return {};
}

}  // namespace ke::pipeline
