// The file receiver: one line per record appended to a path. Regular files rotate like
// lumberjack (resmoio's file sink): before a write would pass maxsize the file is renamed to
// <name>-<UTC 2006-01-02T15-04-05.000><.ext>, a new one is opened, and backups beyond maxbackups
// or older than maxage are deleted. Anything else (/dev/stdout, a pipe, a char device) is never
// rotated and never fails because of size: resmoio stopped exporting when lumberjack could not
// rename /dev/stdout at 100 MB.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/log_limiter.hpp"
#include "sinks/line_format.hpp"
#include "sinks/sink.hpp"

namespace ke::sinks {

class file_sink final : public sink {
 public:
  struct options {
    std::string path;
    std::uint64_t max_bytes = 100ull << 20;  // rotate regular files before passing this
    std::chrono::hours max_age{0};           // delete backups older than this (0 = keep)
    int max_backups = 0;                     // keep at most this many backups (0 = all)
    // Wall clock for backup names and maxage (default system_clock::now); injected in tests.
    std::function<std::chrono::system_clock::time_point()> clock;
  };

  // Opens (O_APPEND, creating the file 0640 and missing directories) the path. Returns nullptr
  // and sets *error when it cannot. Blocks until a reader opens the path if it is a FIFO.
  static std::unique_ptr<file_sink> open(options o, line_format format, std::string* error);

  ~file_sink() override;
  file_sink(const file_sink&) = delete;
  file_sink& operator=(const file_sink&) = delete;

  // Appends the batch as one buffer (two when it crosses a rotation). A template error skips the
  // record (take_errors). On a write error (ENOSPC, EFBIG, EIO ...) the result is retry and the
  // file is reopened on the next send; the retried batch resumes after the lines already
  // written, so none is written twice, and none is left torn: a partly written line is cut off
  // a regular file (ftruncate) and written whole on the retry; on a pipe, where nothing can be
  // taken back, its remaining bytes are written first on the retry.
  net::awaitable<send_result> send(std::vector<record_ptr> batch) override;
  net::awaitable<void> close(std::chrono::steady_clock::time_point deadline) override;
  std::uint64_t take_errors() override;

  // Whether the path is a regular file (and so rotates).
  bool rotates() const { return regular_; }

 private:
  file_sink(options o, line_format format);
  bool open_file(std::string* error);
  // Writes data (after any carry_), returns the bytes of data that were written; the error
  // (errno) in *error, 0 when all was written.
  std::size_t write(std::string_view data, int* error);
  // Writes buf_ (the lines of batch records lines_[i].second); false after a failure, with
  // *resume the index of the first record to write again.
  bool flush(std::size_t* resume);
  bool rotate();
  std::string backup_name(std::chrono::system_clock::time_point t) const;
  void remove_old_backups();
  std::chrono::system_clock::time_point now() const;

  options opts_;
  line_format format_;
  int fd_ = -1;
  bool regular_ = false;
  std::uint64_t size_ = 0;  // bytes in the current file (regular files only)
  std::string buf_;
  std::vector<std::pair<std::size_t, std::size_t>> lines_;  // (end offset in buf_, record index)
  std::string carry_;  // the rest of a line torn on a non-regular file: written first
  std::string line_;
  std::uint64_t errors_ = 0;

  // Where a batch that failed midway resumes when the receiver retries it.
  const record* resume_front_ = nullptr;
  std::size_t resume_size_ = 0;
  std::size_t resume_at_ = 0;

  log_limiter template_log_;
  log_limiter write_log_;
  log_limiter rotate_log_;
};

}  // namespace ke::sinks
