// Groups entries into push batches by size and time, like Loki's own clients: a batch is ready
// when adding the next entry would take it over max_bytes, or when max_wait has passed since its
// first entry. Pure logic: the caller passes the current time (injected clock).
#pragma once
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>

#include "sinks/loki/encoder.hpp"

namespace ke::sinks::loki {

class batcher {
 public:
  using clock = std::chrono::steady_clock;

  // max_bytes: batch size limit in line + metadata bytes (an entry bigger than the limit gets a
  // batch of its own). max_wait: the age of the first entry at which a batch is due.
  batcher(std::size_t max_bytes, std::chrono::milliseconds max_wait);

  // Adds an entry for the stream with these sorted labels. If the open batch cannot take it
  // without passing max_bytes, the open batch is closed first and returned (the entry then
  // starts the next one).
  std::optional<batch> add(const string_pairs& labels, entry e, std::string position,
                           clock::time_point now);
  // The open batch if it is due at `now` (max_wait since its first entry), else nullopt.
  std::optional<batch> poll(clock::time_point now);
  // Closes and returns the open batch (empty if nothing is open).
  batch flush();

  bool empty() const { return open_.empty(); }
  // When the open batch becomes due (time_point::max() when empty).
  clock::time_point due() const;
  std::size_t open_bytes() const { return open_.bytes; }
  std::size_t open_entries() const { return open_.entries; }

  static std::size_t entry_bytes(const entry& e);

 private:
  std::size_t max_bytes_;
  std::chrono::milliseconds max_wait_;
  batch open_;
  clock::time_point first_{};
  std::unordered_map<std::string, std::size_t> index_;  // labels string -> stream index
};

}  // namespace ke::sinks::loki
