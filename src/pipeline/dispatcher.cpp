#include "pipeline/dispatcher.hpp"

#include <algorithm>

namespace ke::pipeline {

dispatcher::dispatcher(const route::rule_tree& tree, std::vector<receiver*> receivers,
                       ke::metrics& m, acks* a)
    : tree_(tree), receivers_(std::move(receivers)), metrics_(m), acks_(a) {}

net::awaitable<void> dispatcher::dispatch(record_ptr r) {
  scratch_.clear();
  tree_.route(*r, scratch_);
  if (acks_ != nullptr) {
    acks_->expect(r->source_position, scratch_.size());
  }
  if (scratch_.empty()) {
    metrics_.records_routed_nowhere().Increment();
    co_return;
  }
  for (std::size_t i = 0; i < scratch_.size(); ++i) {
    receiver* rc = receivers_.at(scratch_[i]);
    if (!rc->would_block()) {
      rc->offer(r);
      continue;
    }
    // Slow path: a full receiver with policy block. scratch_ is shared with other dispatches
    // that may run while this one waits, so keep a private copy of what is left.
    const std::vector<std::uint32_t> rest(scratch_.begin() + static_cast<std::ptrdiff_t>(i),
                                          scratch_.end());
    for (const auto idx : rest) {
      co_await receivers_.at(idx)->push(r);
    }
    co_return;
  }
}

admission dispatcher::admit(const std::vector<record_ptr>& records) {
  std::vector<std::vector<std::uint32_t>> routes(records.size());
  std::vector<std::size_t> need(receivers_.size(), 0);
  for (std::size_t i = 0; i < records.size(); ++i) {
    tree_.route(*records[i], routes[i]);
    for (const auto idx : routes[i]) {
      ++need.at(idx);
    }
  }
  for (std::size_t idx = 0; idx < need.size(); ++idx) {
    if (need[idx] == 0) {
      continue;
    }
    if (!receivers_[idx]->accepting()) {
      return admission::closed;
    }
    if (receivers_[idx]->capacity() < need[idx]) {
      return admission::too_large;
    }
    if (receivers_[idx]->room() < need[idx]) {
      return admission::full;
    }
  }
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (routes[i].empty()) {
      metrics_.records_routed_nowhere().Increment();
    }
    for (const auto idx : routes[i]) {
      receivers_[idx]->try_push(records[i]);
    }
  }
  return admission::accepted;
}

}  // namespace ke::pipeline
