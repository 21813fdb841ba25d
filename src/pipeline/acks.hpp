// Acknowledgements across receivers: a record dispatched to n receivers is done once all n have
// reported it (sinks::delivery_observer), and final unless one of them lost it at shutdown.
// The source's checkpoint (watch/checkpoint.hpp) listens; records without a source_position,
// or not registered here (the kube-bench ingest), are not tracked.
//
// Memory: one entry per tracked record in flight (bounded by the receiver queues and the sinks'
// own bounds). Threading: the io_context thread.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sinks/sink.hpp"

namespace ke::pipeline {

class acks final : public sinks::delivery_observer {
 public:
  // final: delivered, or dropped for good; false: lost at shutdown (ship it again next time).
  using listener = std::function<void(std::string_view position, bool final)>;

  void set_listener(listener l) { listener_ = std::move(l); }
  // A record with this position went to n receivers (n = 0: settled at once).
  void expect(const std::string& position, std::size_t n);

  void delivered(std::string_view receiver, const std::vector<std::string>& positions) override;
  void dropped(std::string_view receiver, const std::vector<std::string>& positions,
               std::string_view reason) override;

  std::size_t pending() const { return pending_.size(); }

 private:
  void settle(const std::string& position, bool lost);

  struct entry {
    std::size_t left = 0;
    bool lost = false;
  };
  listener listener_;
  std::unordered_map<std::string, entry> pending_;
};

}  // namespace ke::pipeline
