// The stdout receiver: one line per record on fd 1 (the layout, else the record's JSON), a batch
// written as one buffer. Never rotates, never buffers across batches.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <string>

#include "core/log_limiter.hpp"
#include "sinks/line_format.hpp"
#include "sinks/sink.hpp"

namespace ke::sinks {

class stdout_sink final : public sink {
 public:
  // fd: where lines go (STDOUT_FILENO; not owned, never closed).
  explicit stdout_sink(line_format format, int fd = STDOUT_FILENO);

  // Writes the batch; a record whose template fails is skipped and counted (take_errors).
  // A write error (closed pipe...) drops the batch.
  net::awaitable<send_result> send(std::vector<record_ptr> batch) override;
  net::awaitable<void> close(std::chrono::steady_clock::time_point deadline) override;
  std::uint64_t take_errors() override;

 private:
  line_format format_;
  int fd_;
  std::string buf_;
  std::uint64_t errors_ = 0;
  log_limiter template_log_;
  log_limiter write_log_;
};

}  // namespace ke::sinks
