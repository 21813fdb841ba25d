#include "pipeline/receiver.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace ke::pipeline {

namespace {

using steady = std::chrono::steady_clock;

}  // namespace

receiver::receiver(net::any_io_executor ex, std::string name, const config::queue& q, sink_ptr s,
                   ke::metrics& m)
    : ex_(std::move(ex)),
      name_(std::move(name)),
      max_(std::max<std::size_t>(q.max_records, 1)),
      policy_(q.on_full),
      sink_(std::move(s)),
      metrics_(m),
      have_records_(ex_),
      have_room_(ex_),
      retry_wake_(ex_),
      drained_(ex_),
      depth_(m.queue_depth(name_)),
      sent_(m.records_sent(name_)),
      dropped_full_(m.records_dropped(name_, "queue_full")),
      dropped_sink_(m.records_dropped(name_, sink_->drop_reason())),
      dropped_shutdown_(m.records_dropped(name_, "shutdown")),
      sink_drop_is_error_(sink_->drop_reason() == "rejected") {
  update_depth();
}

bool receiver::would_block() const {
  return accepting_ && policy_ == config::overflow_policy::block && full();
}

void receiver::enqueue(record_ptr r) {
  queue_.push_back(std::move(r));
  update_depth();
  if (drain_waiting_) {
    have_records_.notify_all();
  }
}

void receiver::drop_full() {
  dropped_full_.Increment();
  if (const auto n = full_log_.allow()) {
    spdlog::warn("receiver {}: queue full ({} records), dropped {} record(s) (queue.onFull: drop)",
                 name_, max_, n);
  }
}

void receiver::refuse() {
  if (const auto n = refuse_log_.allow()) {
    spdlog::error("receiver {}: refused {} record(s) pushed after shutdown began", name_, n);
  }
}

void receiver::set_delivery_observer(sinks::delivery_observer* o) {
  observer_ = o;
  sink_->set_delivery_observer(o);
}

void receiver::report(const std::vector<record_ptr>& records, std::string_view dropped_reason) {
  if (observer_ == nullptr) {
    return;
  }
  std::vector<std::string> positions;
  for (const auto& r : records) {
    if (!r->source_position.empty()) {
      positions.push_back(r->source_position);
    }
  }
  if (positions.empty()) {
    return;
  }
  if (dropped_reason.empty()) {
    observer_->delivered(name_, positions);
  } else {
    observer_->dropped(name_, positions, dropped_reason);
  }
}

void receiver::report(const record_ptr& r, std::string_view dropped_reason) {
  if (observer_ != nullptr && !r->source_position.empty()) {
    report(std::vector<record_ptr>{r}, dropped_reason);
  }
}

void receiver::offer(record_ptr r) {
  if (!accepting_) {
    dropped_shutdown_.Increment();
    report(r, "shutdown");
    refuse();
  } else if (full() && policy_ == config::overflow_policy::drop) {
    report(r, "queue_full");
    drop_full();
  } else {
    enqueue(std::move(r));  // policy block callers checked would_block() first
  }
}

net::awaitable<void> receiver::push(record_ptr r) {
  while (would_block()) {
    ++producers_waiting_;
    co_await have_room_.wait();
    --producers_waiting_;
  }
  offer(std::move(r));
}

bool receiver::try_push(record_ptr r) {
  if (!accepting_) {
    refuse();
    return false;
  }
  if (full()) {
    return false;
  }
  enqueue(std::move(r));
  return true;
}

void receiver::start() {
  if (started_) {
    return;
  }
  started_ = true;
  net::co_spawn(ex_, drain(), [this](const std::exception_ptr& e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        spdlog::error("receiver {}: drain stopped: {}", name_, x.what());
        failure_ = "receiver " + name_ + ": drain stopped: " + x.what();
      }
    }
    if (abandoned_) {
      return;
    }
    finished_ = true;
    drained_.notify_all();
  });
}

std::string receiver::failure() const { return failure_.empty() ? sink_->failure() : failure_; }

void receiver::give_up() {
  const std::size_t n = batch_.size() + queue_.size();
  report(batch_, "shutdown");  // the sink never took it (deliver() did not get ok)
  batch_.clear();
  report(std::vector<record_ptr>(queue_.begin(), queue_.end()), "shutdown");
  queue_.clear();
  update_depth();
  if (n > 0) {
    dropped_shutdown_.Increment(static_cast<double>(n));
    spdlog::error("receiver {}: {} record(s) could not be delivered before the shutdown deadline",
                  name_, n);
  }
}

net::awaitable<bool> receiver::deliver(const std::vector<record_ptr>& batch) {
  backoff_.reset();
  const auto n = static_cast<double>(batch.size());
  while (true) {
    if (stopping_ && steady::now() >= deadline_) {
      co_return false;
    }
    send_result res = send_result::drop;
    try {
      res = co_await sink_->send(batch);
    } catch (const std::exception& e) {
      spdlog::error("receiver {}: sink failed: {}", name_, e.what());
      res = send_result::drop;
    }
    if (abandoned_) {
      co_return false;  // stop() already counted this batch
    }
    if (const auto errors = sink_->take_errors()) {
      metrics_.send_event_errors.inc(static_cast<double>(errors));
    }
    switch (res) {
      case send_result::ok:
        sent_.Increment(n);
        if (!sink_->reports_delivery()) {
          report(batch, {});
        }
        co_return true;
      case send_result::drop:
        dropped_sink_.Increment(n);
        if (!sink_->reports_delivery()) {
          report(batch, sink_->drop_reason());
        }
        if (sink_drop_is_error_) {
          metrics_.send_event_errors.inc(n);
          if (const auto k = drop_log_.allow()) {
            spdlog::warn(
                "receiver {}: sink rejected {} record(s) ({} failed send(s) since last report)",
                name_, batch.size(), k);
          }
        }
        co_return true;
      case send_result::retry:
        break;
    }
    metrics_.send_event_errors.inc();
    const auto delay = backoff_.next();
    if (stopping_ && steady::now() + delay >= deadline_) {
      co_return false;
    }
    if (const auto k = retry_log_.allow()) {
      spdlog::warn(
          "receiver {}: send of {} record(s) failed, retrying in {} ms ({} failure(s) "
          "since last report)",
          name_, batch.size(), delay.count(), k);
    }
    co_await retry_wake_.wait_until(steady::now() + delay);  // stop() wakes it: one last try now
  }
}

net::awaitable<void> receiver::drain() {
  batch_.reserve(std::min(max_, max_batch));
  while (true) {
    while (queue_.empty() && !stopping_) {
      drain_waiting_ = true;
      co_await have_records_.wait();
      drain_waiting_ = false;
    }
    if (queue_.empty()) {
      break;  // stopping, everything delivered
    }
    if (stopping_ && steady::now() >= deadline_) {
      give_up();
      break;
    }
    const std::size_t n = std::min(queue_.size(), max_batch);
    batch_.clear();
    for (std::size_t i = 0; i < n; ++i) {
      batch_.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    update_depth();
    if (producers_waiting_ > 0) {
      have_room_.notify_all();
    }
    const bool delivered = co_await deliver(batch_);
    if (abandoned_) {
      co_return;
    }
    if (!delivered) {
      give_up();
      break;
    }
    batch_.clear();
  }
  try {
    co_await sink_->close(deadline_);
  } catch (const std::exception& e) {
    spdlog::error("receiver {}: closing the sink failed: {}", name_, e.what());
  }
  if (const auto errors = sink_->take_errors()) {
    metrics_.send_event_errors.inc(static_cast<double>(errors));
  }
}

net::awaitable<void> receiver::stop(std::chrono::steady_clock::time_point deadline) {
  if (!stopping_) {
    accepting_ = false;
    stopping_ = true;
    deadline_ = deadline;
    have_room_.notify_all();     // blocked producers see the refusal
    have_records_.notify_all();  // the drain sees stopping_
    retry_wake_.notify_all();    // a retry waiting on backoff tries once more now
    start();
  }
  while (!finished_ && !abandoned_ && steady::now() < deadline_) {
    co_await drained_.wait_until(deadline_);
  }
  if (!finished_ && !abandoned_) {
    abandoned_ = true;
    give_up();
  }
}

}  // namespace ke::pipeline
