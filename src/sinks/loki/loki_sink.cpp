// The Loki sink's queueing, spooling, pump and shutdown. Its delivery policy per answer is in
// delivery.cpp, the config checks and the factory in loki_factory.cpp (contracts: loki_sink.hpp).
#include "sinks/loki/loki_sink.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/thread_pool.hpp>
#include <cstring>
#include <utility>

#include "core/utf8.hpp"
#include "sinks/loki/on_worker.hpp"

namespace ke::sinks::loki {

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

const prometheus::Histogram::BucketBoundaries push_buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                              0.5,   1,    2.5,   5,    10,  30};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

prometheus::Counter& counter(ke::metrics& m, const std::string& name, const std::string& help,
                             const std::string& receiver) {
  return prometheus::BuildCounter()
      .Name(m.prefix() + name)
      .Help(help)
      .Register(m.registry())
      .Add({{"receiver", receiver}});
}

prometheus::Gauge& gauge(ke::metrics& m, const std::string& name, const std::string& help,
                         const std::string& receiver) {
  return prometheus::BuildGauge()
      .Name(m.prefix() + name)
      .Help(help)
      .Register(m.registry())
      .Add({{"receiver", receiver}});
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// loki_sink

loki_sink::loki_sink(net::any_io_executor ex, parts p, ke::metrics& m)
    : ex_(std::move(ex)),
      name_(std::move(p.receiver)),
      cfg_(std::move(p.cfg)),
      rules_(std::move(p.rules)),
      format_(std::move(p.format)),
      batch_bytes_(std::clamp<std::size_t>(cfg_.batch_size, 1, max_push_bytes)),
      max_line_(cfg_.max_line_size == 0 ? max_push_bytes
                                        : std::min(cfg_.max_line_size, max_push_bytes)),
      client_(ex_, p.endpoint, std::move(p.tls), cfg_),
      spool_(std::move(p.spool_)),
      worker_(spool_ ? std::make_unique<net::thread_pool>(1) : nullptr),
      batcher_(batch_bytes_, cfg_.batch_wait),
      backoff_(cfg_.min_backoff, cfg_.max_backoff),
      pump_wake_(ex_, steady::time_point::max()),
      timer_wake_(ex_, steady::time_point::max()),
      retry_timer_(ex_),
      room_(ex_),
      done_(ex_),
      entries_sent_(counter(m, "loki_entries_sent_total", "Entries Loki accepted (2xx).", name_)),
      bytes_sent_(counter(m, "loki_bytes_sent_total",
                          "Line and structured metadata bytes of the entries Loki accepted.",
                          name_)),
      body_bytes_sent_(counter(m, "loki_request_bytes_sent_total",
                               "Encoded (compressed) push body bytes Loki accepted.", name_)),
      retries_(counter(m, "loki_retries_total", "Pushes retried after a failure.", name_)),
      entries_spooled_(counter(m, "loki_entries_spooled_total",
                               "Entries written to the disk spool while Loki was unreachable.",
                               name_)),
      lines_truncated_(counter(m, "loki_lines_truncated_total",
                               "Lines cut to maxLineSize (maxLineSizePolicy: truncate).", name_)),
      spool_corrupt_(counter(m, "loki_spool_corrupt_files_total",
                             "Damaged spool files moved aside (their entries are lost).", name_)),
      queue_bytes_(gauge(m, "loki_queue_bytes",
                         "Bytes of batches waiting in memory (encoded) plus the open batch.",
                         name_)),
      spool_bytes_(gauge(m, "loki_spool_bytes", "Bytes of batches in the disk spool.", name_)),
      spool_batches_(gauge(m, "loki_spool_batches", "Batches in the disk spool.", name_)),
      push_duration_(prometheus::BuildHistogram()
                         .Name(m.prefix() + "loki_push_duration_seconds")
                         .Help("Duration of Loki push requests, failed ones included.")
                         .Register(m.registry())
                         .Add({{"receiver", name_}}, push_buckets)),
      batches_family_(prometheus::BuildCounter()
                          .Name(m.prefix() + "loki_batches_total")
                          .Help("Push requests by HTTP status code (error = transport error).")
                          .Register(m.registry())),
      dropped_family_(prometheus::BuildCounter()
                          .Name(m.prefix() + "loki_entries_dropped_total")
                          .Help("Entries given up, by reason.")
                          .Register(m.registry())),
      batches_split_(counter(m, "loki_batches_split_total",
                             "Pushes Loki answered 413 that were split in halves.", name_)),
      dead_letter_family_(
          prometheus::BuildCounter()
              .Name(m.prefix() + "loki_dead_letter_batches_total")
              .Help("Batches written to the spool's dead-letter area, by the HTTP status Loki "
                    "answered.")
              .Register(m.registry())),
      dead_letter_evicted_(counter(m, "loki_dead_letter_evicted_total",
                                   "Dead-letter files removed (oldest first) to stay under "
                                   "spool.deadLetterMaxBytes.",
                                   name_)),
      dead_letter_bytes_(gauge(m, "loki_dead_letter_bytes",
                               "Bytes of batches in the spool's dead-letter area.", name_)) {
  if (spool_) {
    spool_->set_dead_letter_max_bytes(cfg_.spool.dead_letter_max_bytes);
  }
  update_gauges();
  if (spool_ && spool_->batches() > 0) {
    spdlog::info("loki {}: {} batch(es), {} bytes in the spool {} will be replayed first", name_,
                 spool_->batches(), spool_->bytes(), spool_->dir());
  }
  // A loop that throws (a bug, or an unexpected library error) must not stop delivery in
  // silence: it is logged and reported through failure() (/-/ready 503), and close() does not
  // wait for it.
  auto died = [this](const char* loop, bool* done) {
    return [this, loop, done](const std::exception_ptr& e) {
      if (!e) {
        return;
      }
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        failure_ = std::string("loki ") + name_ + ": the " + loop + " stopped: " + x.what();
      } catch (...) {
        failure_ = std::string("loki ") + name_ + ": the " + loop + " stopped";
      }
      spdlog::error("{}; nothing more is delivered by this receiver", failure_);
      *done = true;
      wake(done_);
    };
  };
  net::co_spawn(ex_, pump(), died("send loop", &pump_done_));
  net::co_spawn(ex_, batch_timer(), died("batch timer", &timer_done_));
}

loki_sink::~loki_sink() {
  if (worker_) {
    worker_->join();
  }
}

void loki_sink::set_backoff_random(ke::backoff::random_source r) {
  backoff_ = ke::backoff(cfg_.min_backoff, cfg_.max_backoff, std::move(r));
}

net::awaitable<void> loki_sink::sleep_on(net::steady_timer& t) {
  boost::system::error_code ec;  // operation_aborted is the wake-up, expiry the timeout
  co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
}

std::size_t loki_sink::queued_bytes() const { return memory_bytes_ + batcher_.open_bytes(); }

bool loki_sink::idle() const {
  return batcher_.empty() && memory_.empty() && !in_flight_memory_ && !spilling_ &&
         (!spool_ || spool_->batches() == 0);
}

std::uint64_t loki_sink::take_errors() { return std::exchange(errors_, 0); }

void loki_sink::update_gauges() {
  const auto q = queued_bytes();
  peak_queued_bytes_ = std::max(peak_queued_bytes_, q);
  queue_bytes_.Set(static_cast<double>(q));
  if (spool_) {
    spool_bytes_.Set(static_cast<double>(spool_->bytes()));
    spool_batches_.Set(static_cast<double>(spool_->batches()));
    dead_letter_bytes_.Set(static_cast<double>(spool_->dead_letter_bytes()));
  }
}

void loki_sink::drop_entries(std::size_t n, std::string_view reason) {
  if (n == 0) {
    return;
  }
  dropped_family_.Add({{"receiver", name_}, {"reason", std::string(reason)}})
      .Increment(static_cast<double>(n));
}

void loki_sink::ack_delivered(const std::vector<std::string>& positions) {
  if (observer_ != nullptr && !positions.empty()) {
    observer_->delivered(name_, positions);
  }
}

void loki_sink::ack_dropped(const std::vector<std::string>& positions, std::string_view reason) {
  if (observer_ != nullptr && !positions.empty()) {
    observer_->dropped(name_, positions, reason);
  }
}

bool loki_sink::has_room() const { return memory_bytes_ < cfg_.max_queued_bytes; }

void loki_sink::seal(batch b) {
  if (b.empty()) {
    return;
  }
  sealed s;
  s.body =
      cfg_.encoding == config::loki_encoding::json ? encode_json(b, cfg_.gzip) : encode_protobuf(b);
  s.entries = b.entries;
  s.bytes = b.bytes;
  s.positions = std::move(b.positions);
  memory_bytes_ += s.body.body.size();
  memory_.push_back(std::move(s));
  update_gauges();
  wake(pump_wake_);
}

net::awaitable<send_result> loki_sink::send(std::vector<record_ptr> records) {
  if (closing_) {
    co_return send_result::retry;
  }
  // The memory queue admits a send only below its limit, so it never holds more than the limit
  // plus one send plus the open batch. Over the limit, move the excess to the spool first; if a
  // spill is already running (the batch timer's), wait for it rather than pile on top of it.
  co_await spill_excess();
  if (!has_room()) {
    // Give the pump (or a spill) a moment to make room before pushing back on the receiver.
    room_.expires_after(std::chrono::seconds(1));
    send_waiting_ = true;
    co_await sleep_on(room_);
    send_waiting_ = false;
    co_await spill_excess();
    if (!has_room()) {
      if (const auto n = spool_log_.allow()) {
        spdlog::warn(
            "loki {}: memory queue ({} bytes){} full; holding records back ({} time(s) since the "
            "last report)",
            name_, queued_bytes(), spool_ ? " and spool" : "", n);
      }
      co_return send_result::retry;
    }
  }
  const auto now = steady::now();
  string_pairs labels;
  string_pairs meta;
  std::string error;
  for (const auto& r : records) {
    std::vector<std::string> one;
    if (observer_ != nullptr && !r->source_position.empty()) {
      one.push_back(r->source_position);
    }
    entry e;
    error.clear();
    if (!format_.append(*r, e.line, &error)) {
      ++errors_;
      drop_entries(1, "template_error");
      ack_dropped(one, "template_error");
      if (const auto n = template_log_.allow()) {
        spdlog::error("loki {}: layout failed for {} record(s): {}", name_, n, error);
      }
      continue;
    }
    if (e.line.size() > max_line_) {
      if (cfg_.on_line_too_long == config::line_too_long::drop) {
        ++errors_;
        drop_entries(1, "line_too_long");
        ack_dropped(one, "line_too_long");
        if (const auto n = line_log_.allow()) {
          spdlog::warn("loki {}: dropped {} line(s) longer than {} bytes", name_, n, max_line_);
        }
        continue;
      }
      cut_utf8(e.line, max_line_);
      lines_truncated_.Increment();
    }
    if (const auto skipped = rules_.labels_for(*r, labels); skipped > 0) {
      if (const auto n = label_log_.allow()) {
        spdlog::warn("loki {}: skipped {} invalid or excess record label(s)", name_, n);
      }
    }
    if (labels.empty()) {
      ++errors_;
      drop_entries(1, "no_labels");
      ack_dropped(one, "no_labels");
      if (const auto n = label_log_.allow()) {
        spdlog::warn("loki {}: dropped {} record(s) without any label", name_, n);
      }
      continue;
    }
    rules_.metadata_for(*r, meta);
    e.metadata = meta;
    e.time_ns = r->time_ns != 0 ? r->time_ns : now_ns();
    const bool was_empty = batcher_.empty();
    std::string position = one.empty() ? std::string() : std::move(one.front());
    if (auto closed = batcher_.add(labels, std::move(e), std::move(position), now)) {
      seal(std::move(*closed));
    }
    if (was_empty) {
      wake(timer_wake_);  // re-arm at the new batch's due time
    }
  }
  update_gauges();
  co_await spill_excess();
  co_return send_result::ok;
}

net::awaitable<bool> loki_sink::spill(sealed b, bool at_head) {
  std::string error;
  const bool ok = co_await on_worker([this, &b, &error, at_head] {
    return at_head ? spool_->prepend(b.body, b.entries, b.bytes, &error)
                   : spool_->append(b.body, b.entries, b.bytes, &error);
  });
  if (ok) {
    entries_spooled_.Increment(static_cast<double>(b.entries));
    ack_delivered(b.positions);
    if (!error.empty()) {
      spdlog::warn("loki {}: {}", name_, error);
    }
  } else {
    spdlog::error("loki {}: cannot write to the spool: {}", name_, error);
    memory_bytes_ += b.body.body.size();
    memory_.push_front(std::move(b));  // keep it (and its order) in memory
  }
  update_gauges();
  co_return ok;
}

net::awaitable<void> loki_sink::spill_excess() {
  if (!spool_ || spilling_ || has_room()) {
    co_return;
  }
  spilling_ = true;
  while (!has_room() && !memory_.empty()) {
    const auto size = memory_.front().body.body.size();
    if (!spool_->has_room(spool::file_size_for(size))) {
      if (const auto n = spool_log_.allow()) {
        spdlog::warn(
            "loki {}: spool full ({} of {} bytes); keeping batches in memory ({} time(s) "
            "since the last report)",
            name_, spool_->bytes(), spool_->max_bytes(), n);
      }
      break;
    }
    sealed b = std::move(memory_.front());
    memory_.pop_front();
    memory_bytes_ -= size;
    if (!co_await spill(std::move(b), false)) {
      break;
    }
  }
  spilling_ = false;
  wake(pump_wake_);
  if (send_waiting_) {
    wake(room_);
  }
}

net::awaitable<void> loki_sink::batch_timer() {
  while (!closing_) {
    timer_wake_.expires_at(batcher_.due());
    co_await sleep_on(timer_wake_);
    if (closing_) {
      break;
    }
    if (auto b = batcher_.poll(steady::now())) {
      seal(std::move(*b));
      co_await spill_excess();
    }
  }
  timer_done_ = true;
  wake(done_);
}

net::awaitable<void> loki_sink::pump() {
  while (true) {
    current_batch c;
    if (spool_ && spool_->batches() > 0) {
      const auto corrupt_before = spool_->corrupt();
      auto sb = co_await on_worker([this] { return spool_->front(); });
      if (const auto bad = spool_->corrupt() - corrupt_before; bad > 0) {
        spool_corrupt_.Increment(static_cast<double>(bad));
        spdlog::error("loki {}: {} damaged spool file(s) moved aside (*.corrupt in {})", name_, bad,
                      spool_->dir());
        update_gauges();
      }
      if (!sb) {
        if (const int e = spool_->read_error(); e != 0) {
          // Not damage (that was moved aside above): an I/O error that may pass. The file stays;
          // try again in a second rather than spin or give up on it.
          if (const auto n = spool_log_.allow()) {
            spdlog::error(
                "loki {}: cannot read the spool's oldest batch: {} ({} time(s) since "
                "the last report); retrying",
                name_, std::strerror(e), n);
          }
          pump_wake_.expires_after(std::chrono::seconds(1));
          co_await sleep_on(pump_wake_);
          if (closing_) {
            break;
          }
        }
        continue;
      }
      c.b.body = std::move(sb->body);
      c.b.entries = sb->entries;
      c.b.bytes = sb->bytes;
      c.from_spool = true;
      c.spool_seq = sb->seq;
    } else if (!spilling_ && !memory_.empty()) {
      c.b = std::move(memory_.front());
      memory_.pop_front();
      in_flight_memory_ = true;
    } else if (!spilling_ && closing_) {
      break;
    } else {
      // Nothing to send, or spilling_: the batch being spilled must land first (order).
      pump_wake_.expires_at(steady::time_point::max());
      co_await sleep_on(pump_wake_);
      continue;
    }

    const result r = co_await deliver(c);
    if (c.from_spool) {
      if (r != result::abandoned) {
        const auto seq = c.spool_seq;
        co_await on_worker([this, seq] {
          spool_->remove(seq);
          return true;
        });
      }
    } else {
      in_flight_memory_ = false;
      memory_bytes_ -= c.b.body.body.size();
      if (r == result::abandoned) {
        memory_bytes_ += c.b.body.body.size();
        memory_.push_front(std::move(c.b));
        returned_in_flight_ = true;
      }
    }
    update_gauges();
    if (send_waiting_) {
      wake(room_);
    }
    if (r == result::abandoned) {
      break;
    }
  }
  pump_done_ = true;
  wake(done_);
}

net::awaitable<void> loki_sink::close(std::chrono::steady_clock::time_point deadline) {
  if (!closing_) {
    closing_ = true;
    deadline_ = deadline;
    const auto now = steady::now();
    // Stop pushing a little before the deadline: close() must be over by then (the receiver
    // stops waiting at the deadline), and with a spool there must be time to write what is
    // left to disk.
    const auto left = deadline > now ? deadline - now : steady::duration::zero();
    const steady::duration margin =
        spool_ ? std::min<steady::duration>(std::chrono::seconds(2), left / 4)
               : std::min<steady::duration>(milliseconds(250), left / 10);
    give_up_at_ = deadline - margin;
    if (!batcher_.empty()) {
      seal(batcher_.flush());
    }
    wake(pump_wake_);
    wake(timer_wake_);
    wake(retry_timer_);
    wake(room_);
  }
  while (!pump_done_ || !timer_done_) {
    const auto now = steady::now();
    if (now >= give_up_at_) {
      client_.close();  // abort a push in flight; deliver() then returns abandoned
    }
    done_.expires_at(now >= give_up_at_ ? now + milliseconds(10) : give_up_at_);
    co_await sleep_on(done_);
  }

  std::size_t lost = 0;
  std::vector<std::string> lost_positions;
  // The batch the pump was pushing (put back at the front) is older than everything spooled
  // meanwhile: it goes to the head of the spool, the rest after what is there.
  bool head = returned_in_flight_;
  while (!memory_.empty()) {
    sealed b = std::move(memory_.front());
    memory_.pop_front();
    memory_bytes_ -= b.body.body.size();
    if (spool_ && spool_->has_room(spool::file_size_for(b.body.body.size()))) {
      if (co_await spill(std::move(b), head)) {
        head = false;
        continue;
      }
      b = std::move(memory_.front());  // spill() put it back
      memory_.pop_front();
      memory_bytes_ -= b.body.body.size();
    }
    lost += b.entries;
    lost_positions.insert(lost_positions.end(), b.positions.begin(), b.positions.end());
  }
  if (lost > 0) {
    drop_entries(lost, "shutdown");
    ack_dropped(lost_positions, "shutdown");
    spdlog::error("loki {}: {} entries could not be delivered{} before the shutdown deadline",
                  name_, lost, spool_ ? " or spooled" : "");
  } else if (spool_ && spool_->batches() > 0) {
    spdlog::info("loki {}: {} batch(es) left in the spool {} for the next start", name_,
                 spool_->batches(), spool_->dir());
  }
  update_gauges();
}

}  // namespace ke::sinks::loki
