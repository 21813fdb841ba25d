// A batch of Loki entries grouped by stream, and its two wire encodings: protobuf PushRequest
// compressed with snappy's block format (Loki's default), or the JSON push body, optionally
// gzip-compressed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/record.hpp"

namespace ke::sinks::loki {

struct entry {
  std::int64_t time_ns = 0;  // the record's own time
  std::string line;
  string_pairs metadata;  // structured metadata (non-empty values)
};

struct stream {
  string_pairs labels;  // sorted by name, non-empty values
  std::string key;      // format_labels(labels): the protobuf labels string
  std::vector<entry> entries;
};

// What one push carries. Streams keep their first-seen order; entries are sorted by time within
// each stream by sort_entries() (encode_* call it).
struct batch {
  std::vector<stream> streams;
  std::size_t entries = 0;
  std::size_t bytes = 0;  // line + structured metadata bytes (what Loki's rate limits count)
  std::vector<std::string> positions;  // source positions of the records, in arrival order

  bool empty() const { return entries == 0; }
  // Stable sort by time within each stream (equal times keep arrival order).
  void sort_entries();
};

// The body of one push request and how to send it.
struct payload {
  std::string body;
  std::string content_type;      // application/x-protobuf | application/json
  std::string content_encoding;  // "" | gzip
};

// Protobuf logproto.PushRequest, snappy block-compressed (snappy::Compress), Content-Type
// application/x-protobuf. Sorts the batch's entries first.
payload encode_protobuf(batch& b);

// {"streams":[{"stream":{..},"values":[["<ns>","<line>",{metadata}],..]},..]}; invalid UTF-8 in
// lines is replaced by U+FFFD. gzip: Content-Encoding gzip. Sorts the batch's entries first.
payload encode_json(batch& b, bool gzip);

// Decodes a body made by encode_protobuf / encode_json (gzip or not) back into its streams and
// entries (labels parsed back for JSON; for protobuf only stream.key is set). nullopt when the
// body cannot be decoded.
std::optional<batch> decode_payload(const payload& p);

// The two halves of a push, by entry count (the first half gets the extra entry), in the same
// encoding as the original; for a 413 answer. nullopt when p holds fewer than two entries or
// cannot be decoded.
struct payload_halves {
  payload first;
  payload second;
  std::size_t first_entries = 0;
  std::size_t second_entries = 0;
  std::size_t first_bytes = 0;  // line + structured metadata bytes
  std::size_t second_bytes = 0;
};
std::optional<payload_halves> split_payload(const payload& p);

// gzip of data (RFC 1952), via protobuf's zlib streams. For encode_json and tests.
std::string gzip_compress(const std::string& data);
// Inverse of gzip_compress; false on corrupt input.
bool gzip_decompress(const std::string& data, std::string& out);

}  // namespace ke::sinks::loki
