// The Loki sink's delivery policy per answer (docs/loki-delivery.md): one batch pushed until
// delivered, split after a 413 (deliver), retried with backoff or given up per status
// (push_piece), and given up into the spool's dead-letter area or dropped (give_up).
// Split out of loki_sink.cpp; the class and its contracts are in loki_sink.hpp.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sinks/loki/loki_sink.hpp"
#include "sinks/loki/on_worker.hpp"

namespace ke::sinks::loki {

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

}  // namespace

net::awaitable<loki_sink::result> loki_sink::deliver(current_batch& c) {
  // The batch itself first; after a 413 its halves, depth first (so the entries still reach
  // Loki in their order). c.b stays whole: an abandoned batch goes back (or stays in the spool)
  // as it was, and parts already delivered are sent again later (Loki drops exact duplicates).
  struct piece {
    payload body;
    std::size_t entries = 0;
    std::size_t bytes = 0;
  };
  std::vector<piece> rest;  // parts still to push, the next one at the back
  piece current;
  const payload* body = &c.b.body;
  std::size_t entries = c.b.entries;
  std::size_t bytes = c.b.bytes;
  std::string gave_up;  // the reason of the first part given up
  while (true) {
    attempt a = co_await push_piece(*body, entries, bytes);
    switch (a.what) {
      case verdict::abandoned:
        co_return result::abandoned;
      case verdict::split:
        rest.push_back(
            {std::move(a.halves->second), a.halves->second_entries, a.halves->second_bytes});
        rest.push_back(
            {std::move(a.halves->first), a.halves->first_entries, a.halves->first_bytes});
        break;
      case verdict::given_up:
        if (gave_up.empty()) {
          gave_up = std::move(a.reason);
        }
        break;
      case verdict::delivered:
        break;
    }
    if (rest.empty()) {
      break;
    }
    current = std::move(rest.back());
    rest.pop_back();
    body = &current.body;
    entries = current.entries;
    bytes = current.bytes;
  }
  if (gave_up.empty()) {
    ack_delivered(c.b.positions);
    co_return result::delivered;
  }
  // Positions are not tied to the parts of a split batch: when a part was given up, every
  // record of the batch is reported with that (final) reason.
  ack_dropped(c.b.positions, gave_up);
  co_return result::dropped;
}

net::awaitable<std::string> loki_sink::give_up(const payload& body, std::size_t entries,
                                               std::size_t bytes, const push_outcome& o,
                                               std::string_view reason) {
  std::string error;
  if (spool_) {
    spool::dead_letter_info info{o.status, std::string(reason), o.detail};
    std::size_t evicted = 0;
    const bool ok = co_await on_worker(
        [&] { return spool_->dead_letter(body, entries, bytes, info, &evicted, &error); });
    if (evicted > 0) {
      dead_letter_evicted_.Increment(static_cast<double>(evicted));
    }
    update_gauges();
    if (ok) {
      drop_entries(entries, "dead_letter");
      dead_letter_family_.Add({{"receiver", name_}, {"code", o.code()}}).Increment();
      if (const auto k = dead_letter_log_.allow()) {
        spdlog::error(
            "loki {}: push of {} entries given up ({}: {} answered {}), kept in {} ({} such "
            "batch(es) since the last report){}{}: {}",
            name_, entries, reason, client_.http().origin().origin(), o.code(),
            spool_->dead_letter_dir(), k, error.empty() ? "" : "; ", error, o.detail);
      }
      co_return "dead_letter";
    }
  }
  drop_entries(entries, reason);
  if (const auto k = client_error_log_.allow()) {
    spdlog::error(
        "loki {}: push of {} entries dropped ({}: {} answered {}, {} such answer(s) since the "
        "last report){}{}: {}",
        name_, entries, reason, client_.http().origin().origin(), o.code(), k,
        error.empty() ? "" : "; no dead letter: ", error, o.detail);
  }
  co_return std::string(reason);
}

net::awaitable<loki_sink::attempt> loki_sink::push_piece(const payload& body, std::size_t entries,
                                                         std::size_t bytes) {
  // (co_await stays out of braced initialisers: g++ 12 miscompiles those.)
  auto of = [](verdict v) {
    attempt a;
    a.what = v;
    return a;
  };
  auto given_up = [&of](std::string why) {
    attempt a = of(verdict::given_up);
    a.reason = std::move(why);
    return a;
  };
  backoff_.reset();
  int failures = 0;
  std::optional<steady::time_point> rate_limited_since;  // first of the current run of 429s
  while (true) {
    if (closing_ && steady::now() >= give_up_at_) {
      co_return of(verdict::abandoned);
    }
    const auto t0 = steady::now();
    const push_outcome o = co_await client_.push(body);
    const auto t1 = steady::now();
    push_duration_.Observe(std::chrono::duration<double>(t1 - t0).count());
    batches_family_.Add({{"receiver", name_}, {"code", o.code()}}).Increment();
    switch (o.what) {
      case push_outcome::kind::ok:
        entries_sent_.Increment(static_cast<double>(entries));
        bytes_sent_.Increment(static_cast<double>(bytes));
        body_bytes_sent_.Increment(static_cast<double>(body.body.size()));
        co_return of(verdict::delivered);
      case push_outcome::kind::bad_request: {
        // Loki stored the valid part; what it ignored is permanently invalid.
        const std::size_t n = o.rejected > 0 ? std::min(o.rejected, entries) : entries;
        entries_sent_.Increment(static_cast<double>(entries - n));
        drop_entries(n, "bad_request");
        if (const auto k = bad_request_log_.allow()) {
          spdlog::error(
              "loki {}: Loki rejected entries of a push of {} (400 Bad Request, not "
              "retried, {} such answer(s) since the last report): {}",
              name_, entries, k, o.detail);
        }
        co_return given_up("bad_request");
      }
      case push_outcome::kind::too_large:
        if (entries > 1) {
          if (auto halves = split_payload(body)) {
            batches_split_.Increment();
            if (const auto k = split_log_.allow()) {
              spdlog::warn(
                  "loki {}: push of {} entries ({} bytes) too large for {} (413); pushing it "
                  "in halves ({} split(s) since the last report): {}",
                  name_, entries, body.body.size(), client_.http().origin().origin(), k, o.detail);
            }
            attempt a = of(verdict::split);
            a.halves = std::move(halves);
            co_return a;
          }
        }
        {
          std::string why = co_await give_up(body, entries, bytes, o, "too_large");
          co_return given_up(std::move(why));
        }
      case push_outcome::kind::client_error: {
        std::string why = co_await give_up(body, entries, bytes, o, "client_error");
        co_return given_up(std::move(why));
      }
      case push_outcome::kind::auth:
        if (const auto k = auth_log_.allow()) {
          spdlog::error(
              "loki {}: {} refused the push with {} ({} time(s) since the last "
              "report): check basicAuth / bearerToken / tenant; retrying: {}",
              name_, client_.http().origin().origin(), o.status, k, o.detail);
        }
        break;
      case push_outcome::kind::retry:
        break;
    }
    // 429 for this batch for longer than maxRetryDuration: Loki will not take it (bigger than
    // a rate limit's burst); give it up rather than hold back every later batch.
    if (o.status == 429) {
      if (!rate_limited_since) {
        rate_limited_since = t0;
      }
      if (cfg_.max_retry_duration > milliseconds::zero() &&
          t1 - *rate_limited_since >= cfg_.max_retry_duration) {
        std::string why = co_await give_up(body, entries, bytes, o, "rate_limited");
        co_return given_up(std::move(why));
      }
    } else {
      rate_limited_since.reset();
    }
    if (closing_ && steady::now() >= give_up_at_) {
      co_return of(verdict::abandoned);
    }
    ++failures;
    if (!spool_ && failures > cfg_.max_retries) {
      drop_entries(entries, "max_retries");
      spdlog::error("loki {}: gave up on a push of {} entries after {} attempts ({}: {})", name_,
                    entries, failures, o.code(), o.detail);
      co_return given_up("max_retries");
    }
    retries_.Increment();
    milliseconds delay = backoff_.next();
    if (o.retry_after) {
      // The server's wish, within [minBackoff, maxBackoff].
      delay = std::clamp(*o.retry_after, backoff_.min(), backoff_.max());
    }
    if (closing_ && steady::now() + delay >= give_up_at_) {
      co_return of(verdict::abandoned);
    }
    if (const auto k = retry_log_.allow()) {
      spdlog::warn(
          "loki {}: push of {} entries failed ({}{}{}), retrying in {} ms ({} failure(s) "
          "since the last report)",
          name_, entries, o.code(), o.detail.empty() ? "" : ": ", o.detail, delay.count(), k);
    }
    retry_timer_.expires_after(delay);
    co_await sleep_on(retry_timer_);
  }
}

}  // namespace ke::sinks::loki
