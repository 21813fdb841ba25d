#include "sinks/loki/batcher.hpp"

#include <algorithm>
#include <utility>

#include "sinks/loki/labels.hpp"

namespace ke::sinks::loki {

batcher::batcher(std::size_t max_bytes, std::chrono::milliseconds max_wait)
    : max_bytes_(std::max<std::size_t>(max_bytes, 1)), max_wait_(max_wait) {}

std::size_t batcher::entry_bytes(const entry& e) {
  std::size_t n = e.line.size();
  for (const auto& [k, v] : e.metadata) {
    n += k.size() + v.size();
  }
  return n;
}

std::optional<batch> batcher::add(const string_pairs& labels, entry e, std::string position,
                                  clock::time_point now) {
  std::optional<batch> closed;
  const std::size_t size = entry_bytes(e);
  if (!open_.empty() && open_.bytes + size > max_bytes_) {
    closed = flush();
  }
  if (open_.empty()) {
    first_ = now;
  }
  std::string key = format_labels(labels);
  auto it = index_.find(key);
  if (it == index_.end()) {
    it = index_.emplace(key, open_.streams.size()).first;
    open_.streams.push_back(stream{labels, std::move(key), {}});
  }
  open_.streams[it->second].entries.push_back(std::move(e));
  ++open_.entries;
  open_.bytes += size;
  open_.positions.push_back(std::move(position));
  return closed;
}

std::optional<batch> batcher::poll(clock::time_point now) {
  if (open_.empty() || now < due()) {
    return std::nullopt;
  }
  return flush();
}

batch batcher::flush() {
  batch out = std::move(open_);
  open_ = batch{};
  index_.clear();
  return out;
}

batcher::clock::time_point batcher::due() const {
  return open_.empty() ? clock::time_point::max() : first_ + max_wait_;
}

}  // namespace ke::sinks::loki
