// The sink interface every receiver kind implements (stdout, file, loki, webhook).
#pragma once
#include <memory>
#include <string_view>
#include <vector>

#include "core/asio.hpp"
#include "core/record.hpp"

namespace ke::sinks {

// ok: the sink took the batch. retry: transient failure, the receiver calls send again with the
// same batch after a backoff. drop: permanent failure for this batch; the receiver counts the
// records as dropped (reason "rejected") and moves on.
enum class send_result { ok, retry, drop };

// Threading: all methods are called on the io_context's thread, from the owning receiver's drain
// coroutine only, never concurrently. A sink never blocks that thread for long (batch-oriented
// sinks do their network I/O asynchronously).
class sink {
 public:
  virtual ~sink() = default;
  // A batch of records routed to this receiver, in arrival order. Batch-oriented sinks may keep
  // the records (they are shared, immutable) and flush on their own size/time rules.
  virtual net::awaitable<send_result> send(std::vector<record_ptr> batch) = 0;
  // Called once at shutdown after the last send: flush what is buffered before `deadline`.
  virtual net::awaitable<void> close(std::chrono::steady_clock::time_point deadline) = 0;
  // Records the sink could not deliver (template errors, line too long...) since the last call;
  // the receiver adds them to send_event_errors. Default: none.
  virtual std::uint64_t take_errors() { return 0; }
};

using sink_ptr = std::unique_ptr<sink>;

}  // namespace ke::sinks
