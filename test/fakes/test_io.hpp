// Helpers for tests that drive an io_context by hand: run until a condition holds (with a
// deadline, never a sleep), or run one coroutine to completion.
#pragma once
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>

#include "core/asio.hpp"

namespace ke::test {

// Runs handlers until pred() is true or `limit` has passed; returns pred().
inline bool run_until(net::io_context& ioc, const std::function<bool()>& pred,
                      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return pred();
    }
    if (ioc.stopped()) {
      ioc.restart();
    }
    ioc.run_one_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Runs the coroutine to completion (driving the io_context) and returns its value; throws if
// it does not finish within `limit` or if it threw.
template <class T>
T run_coro(net::io_context& ioc, net::awaitable<T> a,
           std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  std::optional<T> out;
  std::exception_ptr error;
  bool done = false;
  net::co_spawn(ioc, std::move(a), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) {
      out.emplace(std::move(v));
    }
    done = true;
  });
  if (!run_until(
          ioc, [&] { return done; }, limit)) {
    throw std::runtime_error("coroutine did not finish in time");
  }
  if (error) {
    std::rethrow_exception(error);
  }
  return std::move(*out);
}

inline void run_coro(net::io_context& ioc, net::awaitable<void> a,
                     std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  std::exception_ptr error;
  bool done = false;
  net::co_spawn(ioc, std::move(a), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  if (!run_until(
          ioc, [&] { return done; }, limit)) {
    throw std::runtime_error("coroutine did not finish in time");
  }
  if (error) {
    std::rethrow_exception(error);
  }
}

}  // namespace ke::test
