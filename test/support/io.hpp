// The one set of helpers for tests that drive an io_context by hand: run until a condition holds
// (with a deadline, never a sleep as synchronisation), run what is ready, or run one coroutine
// to completion. Deadlines are multiplied by $KE_TEST_TIMEOUT_SCALE (e.g. 20 under valgrind).
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>

#include "core/asio.hpp"

namespace ke::test {

inline std::chrono::milliseconds scaled(std::chrono::milliseconds d) {
  const char* s = std::getenv("KE_TEST_TIMEOUT_SCALE");
  const double k = s != nullptr ? std::atof(s) : 1.0;
  return k > 1.0 ? std::chrono::milliseconds(static_cast<std::int64_t>(d.count() * k)) : d;
}

// Runs handlers until pred() is true or `limit` (scaled) of real time has passed; returns pred().
inline bool run_until(net::io_context& ioc, const std::function<bool()>& pred,
                      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + scaled(limit);
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return pred();
    }
    ioc.restart();
    ioc.run_one_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Runs every handler that is ready now (everything suspends again, or finishes).
inline void run_ready(net::io_context& ioc) {
  ioc.restart();
  ioc.poll();
}

// Runs every handler that is ready (cancelled operations completing, coroutines unwinding)
// until none is left, so objects they touch can be destroyed safely afterwards.
inline void drain(net::io_context& ioc) {
  for (int idle = 0; idle < 3;) {
    ioc.restart();
    idle = ioc.poll() == 0 ? idle + 1 : 0;
    if (idle > 0) {
      ioc.restart();
      ioc.run_for(std::chrono::milliseconds(5));
    }
  }
}

// Runs the coroutine to completion (driving the io_context) and returns its value, or nullopt
// when it does not finish within `limit`. Rethrows what the coroutine threw.
template <class T>
std::optional<T> try_run_coro(net::io_context& ioc, net::awaitable<T> a,
                              std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto out = std::make_shared<std::optional<T>>();
  auto error = std::make_shared<std::exception_ptr>();
  auto done = std::make_shared<bool>(false);
  net::co_spawn(ioc, std::move(a), [out, error, done](std::exception_ptr e, T v) {
    *error = e;
    if (!e) {
      out->emplace(std::move(v));
    }
    *done = true;
  });
  if (!run_until(
          ioc, [&] { return *done; }, limit)) {
    return std::nullopt;
  }
  if (*error) {
    std::rethrow_exception(*error);
  }
  return std::move(*out);
}

// As try_run_coro, but a coroutine that does not finish in time is an exception.
template <class T>
T run_coro(net::io_context& ioc, net::awaitable<T> a,
           std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto out = try_run_coro(ioc, std::move(a), limit);
  if (!out) {
    throw std::runtime_error("coroutine did not finish in time");
  }
  return std::move(*out);
}

inline void run_coro(net::io_context& ioc, net::awaitable<void> a,
                     std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto error = std::make_shared<std::exception_ptr>();
  auto done = std::make_shared<bool>(false);
  net::co_spawn(ioc, std::move(a), [error, done](std::exception_ptr e) {
    *error = e;
    *done = true;
  });
  if (!run_until(
          ioc, [&] { return *done; }, limit)) {
    throw std::runtime_error("coroutine did not finish in time");
  }
  if (*error) {
    std::rethrow_exception(*error);
  }
}

}  // namespace ke::test
