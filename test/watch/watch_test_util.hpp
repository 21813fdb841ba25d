// Helpers shared by the watch tests: drive the io_context until a condition holds (with a
// real-time deadline, never a sleep), run a coroutine to completion, read test PKI files.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>

#include "core/asio.hpp"

namespace ke::watch::testing {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string pki(const std::string& name) {
  return read_text(std::string(KE_TEST_DATA) + "/watch/pki/" + name);
}

// Deadlines are multiplied by $KE_TEST_TIMEOUT_SCALE (e.g. 20 under valgrind).
inline std::chrono::milliseconds scaled(std::chrono::milliseconds d) {
  const char* s = std::getenv("KE_TEST_TIMEOUT_SCALE");
  const double k = s != nullptr ? std::atof(s) : 1.0;
  return k > 1.0 ? std::chrono::milliseconds(static_cast<std::int64_t>(d.count() * k)) : d;
}

// Runs handlers until pred() is true or `limit` of real time has passed. Returns pred().
inline bool run_until(net::io_context& ioc, const std::function<bool()>& pred,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + scaled(limit);
  ioc.restart();
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return pred();
    }
    ioc.run_one_for(std::chrono::milliseconds(20));
    ioc.restart();
  }
  return true;
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

// Runs a coroutine to completion (or the deadline, then nullopt).
template <class T>
std::optional<T> run_coro(net::io_context& ioc, net::awaitable<T> a,
                          std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto result = std::make_shared<std::optional<T>>();
  auto done = std::make_shared<bool>(false);
  net::co_spawn(
      ioc,
      [a = std::move(a), result, done]() mutable -> net::awaitable<void> {
        *result = co_await std::move(a);
        *done = true;
      },
      net::detached);
  if (!run_until(
          ioc, [&] { return *done; }, limit)) {
    return std::nullopt;
  }
  return std::move(*result);
}

}  // namespace ke::watch::testing
