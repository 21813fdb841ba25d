#include "sinks/stdout_sink.hpp"

#include <spdlog/spdlog.h>

#include <cstring>

#include "sinks/fd_writer.hpp"

namespace ke::sinks {

stdout_sink::stdout_sink(line_format format, int fd) : format_(std::move(format)), fd_(fd) {}

net::awaitable<send_result> stdout_sink::send(std::vector<record_ptr> batch) {
  buf_.clear();
  std::string error;
  for (const auto& r : batch) {
    if (!format_.append(*r, buf_, &error)) {
      ++errors_;
      if (const auto n = template_log_.allow()) {
        spdlog::warn("stdout: layout failed, record skipped ({} since last report): {}", n, error);
      }
      continue;
    }
    buf_ += '\n';
  }
  const auto w = write_all(fd_, buf_);
  if (w.error != 0) {
    if (const auto n = write_log_.allow()) {
      spdlog::error("stdout: write failed ({} since last report): {}", n, std::strerror(w.error));
    }
    co_return send_result::drop;
  }
  co_return send_result::ok;
}

net::awaitable<void> stdout_sink::close(std::chrono::steady_clock::time_point /*deadline*/) {
  co_return;
}

std::uint64_t stdout_sink::take_errors() { return std::exchange(errors_, 0); }

}  // namespace ke::sinks
