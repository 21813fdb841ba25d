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
// Threading: every method may block on disk I/O (the sink calls them on a worker thread); an
// internal mutex makes them safe to call from different threads.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

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
  std::uint64_t corrupt_ = 0;
};

}  // namespace ke::sinks::loki
