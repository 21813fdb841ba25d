// The Loki sink's disk spool: encoded push bodies that could not be kept in memory while Loki
// was unreachable, one file per batch, replayed oldest first and kept across restarts.
//
// Layout: <dir>/LOCK (flock'ed while open: one process per spool), <dir>/<seq>.batch with a
// 20-digit sequence number. A file holds a magic line, a one-line JSON header (content type
// and encoding, entry count, line bytes, body length) and the encoded body.
//
// Durability (fsync policy): append() writes <seq>.tmp, fsyncs it, renames it to <seq>.batch
// and fsyncs the directory before it returns true, so a batch is on disk once append()
// succeeded; that is when the sink acknowledges its records. Removing a delivered batch is not
// fsynced: after a crash it may come back and be sent again (Loki drops exact duplicates).
// Leftover *.tmp files (a crash mid-append) are deleted on open; a .batch file that fails its
// checks is renamed to *.corrupt and skipped (counted).
//
// Dead letters: batches Loki refused for good (see docs/loki-delivery.md) are kept for the
// operator in <dir>/dead-letter/<seq>.batch, written like spool files (fsync'ed) with a magic
// line "KE-LOKI-DEAD-LETTER 1", a one-line JSON header that also carries the HTTP status, the
// reason, Loki's message and the time, then the encoded body as it was pushed (so
// `tail -n +3 <file>` is the body to push again by hand). The area is bounded by
// set_dead_letter_max_bytes(): the oldest files are removed to make room (counted); a batch
// bigger than the whole bound is refused. The pump never reads them back.
//
// Threading: every method may block on disk I/O (the sink calls them on a worker thread); an
// internal mutex makes them safe to call from different threads.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "sinks/loki/encoder.hpp"

namespace ke::sinks::loki {

struct spooled_batch {
  std::uint64_t seq = 0;
  payload body;
  std::size_t entries = 0;
  std::size_t bytes = 0;  // line + metadata bytes, for metrics
};

class spool {
 public:
  // Creates dir if needed, locks it, cleans leftovers and indexes the batches in it. nullptr and
  // *error when the directory cannot be used (permissions, locked by another process...).
  static std::unique_ptr<spool> open(const std::string& dir, std::uint64_t max_bytes,
                                     std::string* error);
  ~spool();
  spool(const spool&) = delete;
  spool& operator=(const spool&) = delete;

  // True if a batch file of about n bytes fits under maxBytes.
  bool has_room(std::uint64_t n) const;
  // Writes a batch durably at the tail (see the fsync policy above). False and *error on
  // failure (disk full...; nothing is left behind then).
  bool append(const payload& p, std::size_t entries, std::size_t bytes, std::string* error);
  // Like append, but the batch goes before every other one (the batch that was in flight at
  // shutdown, older than what was spooled meanwhile).
  bool prepend(const payload& p, std::size_t entries, std::size_t bytes, std::string* error);
  // Reads the oldest batch; nullopt when empty. Damaged files (bad header, wrong size) are moved
  // aside and skipped; a file that cannot be read now (an I/O error) stays where it is: nullopt,
  // with read_error() its errno, to try again later.
  std::optional<spooled_batch> front();
  int read_error() const {
    std::lock_guard lock(mu_);
    return last_read_error_;
  }
  // Removes batch seq (the one front() returned) after it was delivered or given up.
  void remove(std::uint64_t seq);

  // Dead letters (see above). 0 (the default) disables them: dead_letter() then refuses.
  void set_dead_letter_max_bytes(std::uint64_t n) {
    std::lock_guard lock(mu_);
    dead_max_bytes_ = n;
  }
  struct dead_letter_info {
    unsigned status = 0;  // HTTP status Loki answered
    std::string reason;   // client_error | too_large | rate_limited
    std::string message;  // Loki's answer body (truncated)
  };
  // Writes the batch durably into the dead-letter area, removing the oldest dead letters if it
  // would pass the bound (*evicted: how many). False and *error when it cannot (disabled, bigger
  // than the bound, disk error).
  bool dead_letter(const payload& p, std::size_t entries, std::size_t bytes,
                   const dead_letter_info& info, std::size_t* evicted, std::string* error);
  std::string dead_letter_dir() const { return dir_ + "/dead-letter"; }
  std::size_t dead_letters() const;
  std::uint64_t dead_letter_bytes() const;

  std::size_t batches() const;
  std::uint64_t bytes() const;
  std::uint64_t max_bytes() const { return max_bytes_; }
  std::uint64_t corrupt() const;  // files moved aside since open
  const std::string& dir() const { return dir_; }

  // The size append() will write for a body of n bytes (header included, approximately).
  static std::uint64_t file_size_for(std::size_t body_bytes) { return body_bytes + 256; }

 private:
  spool(std::string dir, std::uint64_t max_bytes, int lock_fd);
  std::string path_of(std::uint64_t seq, const char* ext) const;
  bool write(std::uint64_t seq, bool at_head, const payload& p, std::size_t entries,
             std::size_t bytes, std::string* error);

  struct item {
    std::uint64_t seq;
    std::uint64_t size;
  };

  std::string dir_;
  std::uint64_t max_bytes_;
  int lock_fd_;
  mutable std::mutex mu_;
  std::deque<item> items_;
  std::uint64_t bytes_ = 0;
  // Fresh spools start numbering at 2^32, leaving room below for prepend().
  std::uint64_t next_seq_ = std::uint64_t{1} << 32;
  int last_read_error_ = 0;
  std::uint64_t dead_max_bytes_ = 0;
  std::deque<item> dead_;  // dead letters, oldest first
  std::uint64_t dead_bytes_ = 0;
  std::uint64_t dead_next_seq_ = 1;
  std::uint64_t corrupt_ = 0;
};

}  // namespace ke::sinks::loki
