// The two coroutine idioms everything on the io_context uses, written once:
//
// notifier: a wake-up. Coroutines wait() (optionally until a deadline) and are woken by
//   notify_all(). Like a condition variable it has no memory: a waiter re-checks its condition
//   in a loop, and a notify with nobody waiting is a no-op.
// task_group: coroutines spawned together and joined with a deadline (parallel shutdown steps).
//
// Threading: both are used from their executor's thread only (the one io_context thread).
#pragma once
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <string>

#include "core/asio.hpp"

namespace ke {

class notifier {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit notifier(const net::any_io_executor& ex) : timer_(ex, time_point::max()) {}

  // Suspends until notify_all(). Any number of waiters.
  net::awaitable<void> wait() {
    boost::system::error_code ec;  // operation_aborted is the wake-up
    co_await timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
  // Suspends until notify_all() (true) or the deadline (false). One waiter at a time: the
  // deadline is the notifier's own.
  net::awaitable<bool> wait_until(time_point deadline) {
    timer_.expires_at(deadline);
    boost::system::error_code ec;
    co_await timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
    timer_.expires_at(time_point::max());
    co_return ec == net::error::operation_aborted;
  }
  // Wakes every waiter now.
  void notify_all() { timer_.cancel(); }

 private:
  net::steady_timer timer_;
};

class task_group {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit task_group(net::any_io_executor ex)
      : ex_(std::move(ex)), state_(std::make_shared<state>(ex_)) {}
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;

  // Starts task at once. A task that throws is logged (with `name`) and counts as finished.
  void spawn(std::string name, net::awaitable<void> task) {
    ++state_->running;
    net::co_spawn(ex_, std::move(task),
                  [s = state_, name = std::move(name)](const std::exception_ptr& e) {
                    if (e) {
                      try {
                        std::rethrow_exception(e);
                      } catch (const std::exception& ex) {
                        spdlog::error("{}: {}", name, ex.what());
                      } catch (...) {
                        spdlog::error("{}: unknown exception", name);
                      }
                    }
                    if (--s->running == 0) {
                      s->done.notify_all();
                    }
                  });
  }
  // Waits until every spawned task has finished (true) or the deadline (false: some still run;
  // they go on and must not touch what the caller destroys next). One joiner at a time.
  net::awaitable<bool> join(time_point deadline) {
    auto s = state_;  // the tasks' completion handlers keep it alive too
    while (s->running > 0) {
      if (!co_await s->done.wait_until(deadline) && s->running > 0) {
        co_return false;
      }
    }
    co_return true;
  }
  std::size_t running() const { return state_->running; }

 private:
  struct state {
    explicit state(const net::any_io_executor& ex) : done(ex) {}
    std::size_t running = 0;
    notifier done;
  };
  net::any_io_executor ex_;
  std::shared_ptr<state> state_;
};

}  // namespace ke
