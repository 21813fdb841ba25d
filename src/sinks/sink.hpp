// The sink interface every receiver kind implements (stdout, file, loki, webhook).
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/asio.hpp"
#include "core/record.hpp"

namespace ke::sinks {

// Acknowledgements: which records a sink is done with, by record::source_position, so that a
// checkpoint of delivered records can be built on it. Called on the io_context thread; the
// vectors are only valid during the call. A record reaches exactly one of the two calls once
// (a record routed twice to one receiver is reported twice).
class delivery_observer {
 public:
  virtual ~delivery_observer() = default;
  // Durably delivered: acknowledged by the destination (Loki's 2xx) or written (fsync'ed) to
  // the sink's disk spool, from where it survives a restart.
  virtual void delivered(std::string_view receiver, const std::vector<std::string>& positions) = 0;
  // Given up for good (rejected by the destination, dropped by policy); reason as in
  // records_dropped / loki_entries_dropped_total.
  virtual void dropped(std::string_view receiver, const std::vector<std::string>& positions,
                       std::string_view reason) = 0;
};

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
  // The records_dropped reason the receiver counts when send returns drop. Default "rejected"
  // (also counted in send_event_errors); the null sink for unsupported kinds says
  // "unsupported_sink".
  virtual std::string_view drop_reason() const { return "rejected"; }
  // Non-empty when the sink can no longer deliver (an internal loop died): the exporter's
  // /-/ready then answers 503 with it, so the failure is seen, not silent. Default: never.
  virtual std::string failure() const { return {}; }

  // Acknowledgements (see delivery_observer). Set before the first send; the observer must
  // outlive the sink's close(). Sinks that report deliveries themselves (batching sinks that
  // keep records after send() returned ok) return true from reports_delivery(); for the others
  // the owner treats send() == ok as delivered and drop as dropped.
  void set_delivery_observer(delivery_observer* o) { observer_ = o; }
  virtual bool reports_delivery() const { return false; }

 protected:
  delivery_observer* observer_ = nullptr;
};

using sink_ptr = std::unique_ptr<sink>;

}  // namespace ke::sinks
