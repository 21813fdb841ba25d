// The sink behind a receiver whose kind we accept in config but do not implement
// (elasticsearch, kafka, ...): every batch is dropped and counted as "unsupported_sink".
#pragma once
#include <string>

#include "sinks/sink.hpp"

namespace ke::sinks {

class null_sink final : public sink {
 public:
  explicit null_sink(std::string kind) : kind_(std::move(kind)) {}

  net::awaitable<send_result> send(std::vector<record_ptr> batch) override;
  net::awaitable<void> close(std::chrono::steady_clock::time_point deadline) override;
  std::string_view drop_reason() const override { return "unsupported_sink"; }

  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
};

}  // namespace ke::sinks
