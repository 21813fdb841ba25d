// The delivery checkpoint: which Events the exporter has handled, kept where the next process
// (a restart, a new leader) finds it, so that it ships what was missed, whatever its age, and
// never ships again what was delivered.
//
// "Handled" means: routed and acknowledged by every receiver it reached (sinks::delivery_observer:
// delivered, or spooled to disk, or dropped for good), or skipped on purpose (older than
// maxEventAgeSeconds at the very first start, undecodable). A record that shutdown could not
// deliver is not handled: the next process ships it again.
//
// Model (checkpoint_set): per Event uid (a 64-bit hash), the highest occurrence count handled and
// the Event's creationTimestamp (seconds, the API server's clock). At most max_entries, least
// recently touched forgotten first; complete_since is then raised to the newest creation time
// forgotten, and means: an Event created at or after it that is not in the set was never
// handled. Resource versions are opaque (they may only be compared for equality), so the set,
// not a resourceVersion watermark, is the position.
//
// A new process (watch/event_filter.hpp) treats a listed Event as: in the set with the same or a
// lower count -> already shipped; in the set with a higher count -> a repeat it missed; not in
// the set and created at or after complete_since -> missed, shipped whatever its age; otherwise
// -> resmoio's maxEventAgeSeconds rule.
//
// Stores: a local file (written to a temporary file, fsync'ed, renamed; on a worker thread) or a
// ConfigMap (data "checkpoint.json"; optimistic concurrency: a conflicting write means another
// replica wrote, the two sets are merged, which is always safe, and written again).
//
// Memory: about 100 bytes per entry in memory, 16 bytes stored (base64: 22), so the default 40,000
// entries take about 4 MiB and store in 0.85 MiB (a ConfigMap holds at most 1 MiB); plus one
// small entry per record in flight (bounded by the receiver queues).
//
// Threading: the io_context thread (the file store does its disk I/O on its own thread).
#pragma once
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/asio.hpp"
#include "core/metrics.hpp"
#include "kube/api_client.hpp"

namespace ke::watch {

class checkpoint_set {
 public:
  struct entry {
    std::int64_t count = 0;
    std::int64_t created_s = 0;
  };

  // Marks uid (hash) handled at count (the highest count wins); touches it.
  void record(std::uint64_t uid, std::int64_t count, std::int64_t created_s);
  const entry* find(std::uint64_t uid) const;
  std::int64_t complete_since() const { return complete_since_; }
  std::size_t size() const { return entries_.size(); }
  // Forgets the least recently touched entries beyond max (raising complete_since).
  void limit(std::size_t max);
  // The union (highest count per uid; complete_since the later of both).
  void merge(const checkpoint_set& other);

  // JSON: {"version":1,"completeSince":S,"entries":N,"data":"<base64 of N 16-byte records>"}
  // (uid hash, count, creation seconds; little endian; least recently touched first).
  std::string encode() const;
  // nullopt and *error (naming the field or byte offset) when the text is not a checkpoint.
  static std::optional<checkpoint_set> decode(std::string_view text, std::string* error);

 private:
  struct node {
    entry e;
    std::list<std::uint64_t>::iterator lru;
  };
  std::unordered_map<std::uint64_t, node> entries_;
  std::list<std::uint64_t> lru_;  // least recently touched first
  std::int64_t complete_since_ = 0;
};

// Where the checkpoint lives.
class checkpoint_store {
 public:
  struct loaded {
    bool ok = false;     // false: could not be read (error says why); retry later
    bool found = false;  // ok and a checkpoint exists
    std::string text;    // its text when found
    std::string error;
  };
  virtual ~checkpoint_store() = default;
  virtual net::awaitable<loaded> load() = 0;
  // Writes text. On a conflict (another writer since our load/save) returns false with
  // *conflict = true; the caller loads, merges and saves again.
  virtual net::awaitable<bool> save(const std::string& text, bool* conflict,
                                    std::string* error) = 0;
  virtual std::string describe() const = 0;  // for logs: "file /x" or "ConfigMap ns/name"
};

std::unique_ptr<checkpoint_store> make_file_checkpoint_store(net::any_io_executor ex,
                                                             std::string path);
std::unique_ptr<checkpoint_store> make_configmap_checkpoint_store(kube::api_client& api,
                                                                  std::string namespace_,
                                                                  std::string name);

struct checkpointer_options {
  std::chrono::milliseconds interval{1000};
  std::size_t max_entries = 40000;
  // How long load() keeps retrying a store that cannot be read before going on without it.
  std::chrono::seconds load_patience{30};
};

class checkpointer {
 public:
  checkpointer(net::any_io_executor ex, std::unique_ptr<checkpoint_store> store,
               checkpointer_options opt, ke::metrics& m);
  ~checkpointer();
  checkpointer(const checkpointer&) = delete;
  checkpointer& operator=(const checkpointer&) = delete;

  // Reads the stored checkpoint and merges it into memory (a start, a new leader term).
  // Retries a store that cannot be read for load_patience, then goes on without (logged).
  net::awaitable<void> load();
  // The set to decide by, nullptr while no checkpoint was ever stored or loaded (first start:
  // resmoio's maxEventAgeSeconds rule applies to everything listed).
  const checkpoint_set* known() const { return have_checkpoint_ ? &set_ : nullptr; }

  // The source: an Event skipped for good (it will never be shipped).
  void handled(std::string_view uid, std::int64_t count, std::int64_t created_s);
  // The source: a record with this position goes to the receivers.
  void shipped(const std::string& position, std::string_view uid, std::int64_t count,
               std::int64_t created_s);
  // The pipeline: every receiver the record reached is done with it; final = delivered or
  // dropped for good (false: lost at shutdown, ship it again next time).
  void done(std::string_view position, bool final);

  // Starts the writer (at most one write per interval, when something changed).
  void start();
  // Stops the writer and writes a last time (before deadline).
  net::awaitable<void> stop(std::chrono::steady_clock::time_point deadline);

  std::size_t in_flight() const { return in_flight_.size(); }
  std::uint64_t writes() const { return writes_; }
  const checkpoint_set& set() const { return set_; }

 private:
  net::awaitable<void> writer();
  net::awaitable<bool> write_once();

  net::any_io_executor ex_;
  std::unique_ptr<checkpoint_store> store_;
  checkpointer_options opt_;
  checkpoint_set set_;
  bool have_checkpoint_ = false;
  struct flight {
    std::uint64_t uid = 0;
    checkpoint_set::entry e;
  };
  std::unordered_map<std::string, flight> in_flight_;
  bool dirty_ = false;
  bool running_ = false;
  bool stopping_ = false;
  bool writer_done_ = true;
  std::uint64_t writes_ = 0;
  net::steady_timer wake_;
  net::steady_timer done_;
  prometheus::Counter& writes_ok_;
  prometheus::Counter& writes_failed_;
  prometheus::Gauge& entries_;
};

// The uid key shared with watch/event_filter (a stable 64-bit hash).
std::uint64_t uid_key(std::string_view uid);

}  // namespace ke::watch
