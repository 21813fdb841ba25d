// The route stage: each record goes through the compiled rule tree into the receivers it
// reaches (resmoio semantics: a receiver reached twice gets the record twice, in route order).
//
// Threading: the io_context thread only, like the receivers it feeds.
#pragma once
#include <cstdint>
#include <vector>

#include "core/asio.hpp"
#include "core/metrics.hpp"
#include "core/record.hpp"
#include "pipeline/acks.hpp"
#include "pipeline/receiver.hpp"
#include "route/rule_tree.hpp"

namespace ke::pipeline {

// What an all-or-nothing admission did (admit()): sources that cannot wait (the ingest) answer
// from it. accepted: every record is queued. full: a reached receiver lacks room now (retry
// later). closed: a reached receiver has stopped (shutting down). too_large: a reached
// receiver's whole queue could never hold them (a retry cannot succeed).
enum class admission { accepted, full, closed, too_large };

class dispatcher {
 public:
  // receivers: in config order, the indices rule_tree::route() returns.
  // acks (optional): told how many receivers each dispatched record reaches.
  dispatcher(const route::rule_tree& tree, std::vector<receiver*> receivers, ke::metrics& m,
             acks* a = nullptr);
  // Suspends only when a reached receiver with policy block is full (backpressure on the
  // source); receivers are fed in route order.
  net::awaitable<void> dispatch(record_ptr r);
  // All or nothing for several records (one kube-bench report): enqueues every record only if
  // every reached receiver has room for all of them; otherwise nothing is enqueued.
  admission admit(const std::vector<record_ptr>& records);

 private:
  const route::rule_tree& tree_;
  std::vector<receiver*> receivers_;
  ke::metrics& metrics_;
  acks* acks_;
  std::vector<std::uint32_t> scratch_;
};

}  // namespace ke::pipeline
