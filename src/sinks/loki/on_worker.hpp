// The definition of loki_sink::on_worker, for loki_sink's own .cpp files (loki_sink.cpp,
// delivery.cpp): not part of the sink's interface. It includes the thread pool, which
// loki_sink.hpp only declares.
#pragma once
#include <boost/asio/thread_pool.hpp>
#include <type_traits>
#include <utility>

#include "sinks/loki/loki_sink.hpp"

namespace ke::sinks::loki {

// Runs f() on the spool worker thread; the coroutine resumes on the sink's executor with its
// result.
template <class F>
net::awaitable<std::invoke_result_t<F>> loki_sink::on_worker(F f) {
  using R = std::invoke_result_t<F>;
  co_return co_await net::co_spawn(
      worker_->get_executor(), [f = std::move(f)]() mutable -> net::awaitable<R> { co_return f(); },
      net::use_awaitable);
}

}  // namespace ke::sinks::loki
