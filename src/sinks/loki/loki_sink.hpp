// The Loki receiver: records become entries (line = layout or record JSON, timestamp = the
// record's own time, labels and structured metadata from label_rules), grouped into batches
// (batchSize / batchWait), encoded (protobuf+snappy or JSON[+gzip]) and pushed by one pump,
// one push in flight at a time.
//
// Delivery (the policy per status is docs/loki-delivery.md): 2xx -> delivered. 429, 5xx,
// transport errors, 401/403 -> retried with full-jitter exponential backoff
// (minBackoff..maxBackoff), honouring Retry-After. 400 -> not retried (Loki kept the valid
// part); the error body is logged at error level and the entries Loki reports ignored are
// counted dropped. 413 -> the batch is split in halves, pushed one after the other (and split
// again); a single entry still too large is given up. A batch answered 429 for longer than
// maxRetryDuration is given up, so one batch Loki never takes cannot stall the others. Other
// 4xx -> given up. "Given up" means: with a spool, written to its dead-letter area (reason
// dead_letter; dropped with the cause when that fails); without, dropped (client_error,
// too_large, rate_limited). Without a spool a batch is also dropped after maxRetries retries
// (reason max_retries), as promtail does; with a spool nothing is dropped for transient errors.
//
// Memory and spool: sealed batches wait in memory (encoded, so compressed) up to
// maxQueuedBytes; beyond that the oldest go to the disk spool (spool.dir/<receiver>/, up to
// spool.maxBytes), which is replayed oldest first and survives restarts. When both are full,
// send() answers retry so the receiver's queue policy (block or drop, counted) applies.
// Order: spool first, then memory; at shutdown the batch in flight is put back at the head of
// the spool.
//
// Acknowledgements: positions are reported delivered on a 2xx or once spooled (fsync'ed), and
// dropped when given up (see delivery_observer).
//
// Shutdown: close(deadline) seals the open batch and keeps pushing until shortly before the
// deadline; whatever is left is spooled (or, without a spool, counted dropped "shutdown").
//
// Threading: everything runs on the io_context thread; spool file I/O runs on a private worker
// thread. Lifetime: close() must have completed (or the io_context stopped for good) before
// the sink is destroyed.
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/asio.hpp"
#include "core/backoff.hpp"
#include "core/diagnostic.hpp"
#include "core/http_client.hpp"
#include "core/log_limiter.hpp"
#include "core/metrics.hpp"
#include "sinks/line_format.hpp"
#include "sinks/loki/batcher.hpp"
#include "sinks/loki/labels.hpp"
#include "sinks/loki/push_client.hpp"
#include "sinks/loki/spool.hpp"
#include "sinks/sink.hpp"

namespace boost::asio {
class thread_pool;
}

namespace ke::sinks::loki {

// The largest batch we ever build, in line + metadata bytes: Loki's default ingestion burst is
// 6 MB per push and a bigger push can never succeed, so batchSize is capped here and longer
// lines are truncated or dropped even when maxLineSize is 0.
inline constexpr std::size_t max_push_bytes = 4u << 20;

// Checks a loki receiver's settings without touching files or the network: url, labels,
// structuredMetadata, encoding, batching and retry values, auth combinations, queue and spool
// sizes. For check-config; make_loki_sink runs it too. Errors/warnings name the YAML key under
// path (e.g. "receivers[0].loki").
void validate_loki_config(const config::loki_sink& cfg, const std::string& path,
                          diagnostics& problems);

class loki_sink final : public sink {
 public:
  // Everything make_loki_sink prepares; tests build it directly.
  struct parts {
    std::string receiver;
    config::loki_sink cfg;
    label_rules rules;
    line_format format;
    url endpoint;
    std::shared_ptr<net::ssl::context> tls;  // https only
    std::unique_ptr<spool> spool_;           // nullptr without spool.dir
  };

  loki_sink(net::any_io_executor ex, parts p, ke::metrics& m);
  ~loki_sink() override;
  loki_sink(const loki_sink&) = delete;
  loki_sink& operator=(const loki_sink&) = delete;

  // Turns the records into entries and queues them; returns at once (ok), or retry when the
  // memory queue and the spool are both full (nothing of the batch is taken then).
  net::awaitable<send_result> send(std::vector<record_ptr> batch) override;
  net::awaitable<void> close(std::chrono::steady_clock::time_point deadline) override;
  std::uint64_t take_errors() override;
  std::string failure() const override { return failure_; }
  bool reports_delivery() const override { return true; }

  // Introspection for tests and the outage benchmark.
  std::size_t queued_bytes() const;  // memory: sealed + in flight + open batch
  std::size_t queued_batches() const { return memory_.size() + (in_flight_memory_ ? 1 : 0); }
  std::size_t open_entries() const { return batcher_.open_entries(); }
  std::size_t peak_queued_bytes() const { return peak_queued_bytes_; }
  const spool* disk_spool() const { return spool_.get(); }
  bool idle() const;  // nothing open, queued, spooled or in flight

  // Replaces the retry backoff's random source (tests make delays exact).
  void set_backoff_random(ke::backoff::random_source r);

 private:
  struct sealed {
    payload body;
    std::size_t entries = 0;
    std::size_t bytes = 0;
    std::vector<std::string> positions;
  };
  struct current_batch {
    sealed b;
    bool from_spool = false;
    std::uint64_t spool_seq = 0;
  };
  enum class result { delivered, dropped, abandoned };
  // One push of a whole batch or of a part of it (after a 413 split).
  enum class verdict { delivered, split, given_up, abandoned };
  struct attempt {
    verdict what = verdict::delivered;
    std::string reason;                    // given_up: the drop reason acknowledged
    std::optional<payload_halves> halves;  // split
  };

  bool has_room() const;
  void seal(batch b);
  net::awaitable<void> spill_excess();
  net::awaitable<bool> spill(sealed b, bool at_head);
  net::awaitable<void> pump();
  net::awaitable<void> batch_timer();
  net::awaitable<result> deliver(current_batch& c);
  net::awaitable<attempt> push_piece(const payload& body, std::size_t entries, std::size_t bytes);
  net::awaitable<std::string> give_up(const payload& body, std::size_t entries, std::size_t bytes,
                                      const push_outcome& o, std::string_view reason);
  template <class F>
  net::awaitable<std::invoke_result_t<F>> on_worker(F f);

  void ack_delivered(const std::vector<std::string>& positions);
  void ack_dropped(const std::vector<std::string>& positions, std::string_view reason);
  void drop_entries(std::size_t n, std::string_view reason);
  void update_gauges();
  static void wake(net::steady_timer& t) { t.cancel(); }
  static net::awaitable<void> sleep_on(net::steady_timer& t);

  net::any_io_executor ex_;
  std::string name_;
  config::loki_sink cfg_;
  label_rules rules_;
  line_format format_;
  std::size_t batch_bytes_;  // cfg.batchSize capped to max_push_bytes
  std::size_t max_line_;     // effective line limit
  push_client client_;
  std::unique_ptr<spool> spool_;
  std::unique_ptr<net::thread_pool> worker_;
  batcher batcher_;
  ke::backoff backoff_;

  std::deque<sealed> memory_;
  std::size_t memory_bytes_ = 0;  // bodies in memory_ and the memory batch in flight
  bool in_flight_memory_ = false;
  bool spilling_ = false;
  bool returned_in_flight_ = false;  // the pump put its abandoned batch back at the front
  std::size_t peak_queued_bytes_ = 0;
  std::uint64_t errors_ = 0;

  net::steady_timer pump_wake_;
  net::steady_timer timer_wake_;
  net::steady_timer retry_timer_;
  net::steady_timer room_;
  net::steady_timer done_;
  bool closing_ = false;
  std::string failure_;  // a loop that died (see sink::failure)
  bool pump_done_ = false;
  bool timer_done_ = false;
  bool send_waiting_ = false;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point give_up_at_ = std::chrono::steady_clock::time_point::max();

  // Metrics (families named <prefix>loki_..., label receiver).
  prometheus::Counter& entries_sent_;
  prometheus::Counter& bytes_sent_;
  prometheus::Counter& body_bytes_sent_;
  prometheus::Counter& retries_;
  prometheus::Counter& entries_spooled_;
  prometheus::Counter& lines_truncated_;
  prometheus::Counter& spool_corrupt_;
  prometheus::Gauge& queue_bytes_;
  prometheus::Gauge& spool_bytes_;
  prometheus::Gauge& spool_batches_;
  prometheus::Histogram& push_duration_;
  prometheus::Family<prometheus::Counter>& batches_family_;
  prometheus::Family<prometheus::Counter>& dropped_family_;
  prometheus::Counter& batches_split_;
  prometheus::Family<prometheus::Counter>& dead_letter_family_;
  prometheus::Counter& dead_letter_evicted_;
  prometheus::Gauge& dead_letter_bytes_;

  log_limiter retry_log_;
  log_limiter auth_log_;
  log_limiter bad_request_log_;
  log_limiter client_error_log_;
  log_limiter split_log_;
  log_limiter dead_letter_log_;
  log_limiter spool_log_;
  log_limiter line_log_;
  log_limiter label_log_;
  log_limiter template_log_;
};

// Builds the sink for a receiver with a loki: key: validates (validate_loki_config), parses
// the URL, loads TLS files, compiles the layout and opens the spool. nullptr with error
// diagnostics when it cannot.
sink_ptr make_loki_sink(net::any_io_executor ex, const config::receiver& r, ke::metrics& m,
                        diagnostics& problems);

}  // namespace ke::sinks::loki
