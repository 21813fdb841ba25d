#include "pipeline/acks.hpp"

namespace ke::pipeline {

void acks::expect(const std::string& position, std::size_t n) {
  if (!listener_ || position.empty()) {
    return;
  }
  if (n == 0) {
    listener_(position, true);  // routed nowhere: nothing more will happen to it
    return;
  }
  pending_[position].left += n;
}

void acks::settle(const std::string& position, bool lost) {
  auto it = pending_.find(position);
  if (it == pending_.end()) {
    return;  // not tracked
  }
  it->second.lost = it->second.lost || lost;
  if (--it->second.left > 0) {
    return;
  }
  const bool final = !it->second.lost;
  pending_.erase(it);
  listener_(position, final);
}

void acks::delivered(std::string_view /*receiver*/, const std::vector<std::string>& positions) {
  for (const auto& p : positions) {
    settle(p, false);
  }
}

void acks::dropped(std::string_view /*receiver*/, const std::vector<std::string>& positions,
                   std::string_view reason) {
  const bool lost = reason == "shutdown";
  for (const auto& p : positions) {
    settle(p, lost);
  }
}

}  // namespace ke::pipeline
