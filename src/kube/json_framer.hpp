// Splits a watch response body (a stream of JSON objects, one WatchEvent each) into complete
// objects, whatever the chunking: one byte at a time, many objects per chunk, an object split
// across chunks. The API server writes compact JSON plus "\n" per event, but client-go reads
// whole JSON values without relying on newlines, and so does this framer: it tracks brace depth
// and string/escape state, so whitespace between objects (or none) is fine.
//
// Memory: objects that lie entirely inside one fed chunk are handed out as views into that
// chunk without copying; only the one object that crosses a chunk boundary is buffered, so the
// framer never holds more than one event's bytes beyond what it has handed out.
//
// Not thread-safe; one framer per stream.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace ke::kube {

class json_framer {
 public:
  enum class status { ok, not_an_object, too_large };

  // max_object: the largest object accepted (bytes); larger ones fail with too_large.
  explicit json_framer(std::size_t max_object = 64u << 20) : max_object_(max_object) {}

  // Feeds the next piece of the stream. Calls on_object(std::string_view) for each complete
  // top-level object, in order; the view is valid only during the call. on_object returns
  // false to stop early (the rest of `data` is ignored and the framer must not be fed again).
  // A byte outside an object that is neither whitespace nor '{' yields not_an_object.
  template <class F>
  status feed(std::string_view data, F&& on_object);

  // Bytes held of the object in progress (0 between objects).
  std::size_t buffered() const { return partial_.size(); }
  // True when the stream ended in the middle of an object.
  bool in_object() const { return depth_ > 0; }
  // Forgets any partial object (for a new stream).
  void reset();

 private:
  std::size_t max_object_;
  std::string partial_;  // bytes of the object in progress taken from earlier chunks
  std::size_t depth_ = 0;
  std::size_t size_ = 0;  // bytes of the object in progress so far (partial_ + current chunk)
  bool in_string_ = false;
  bool escape_ = false;
};

template <class F>
json_framer::status json_framer::feed(std::string_view data, F&& on_object) {
  std::size_t start = 0;  // where the object in progress begins inside `data` (if it does)
  for (std::size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (depth_ == 0) {
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        continue;
      }
      if (c != '{') {
        return status::not_an_object;
      }
      depth_ = 1;
      size_ = 0;
      start = i;
      ++size_;
      continue;
    }
    if (++size_ > max_object_) {
      return status::too_large;
    }
    if (in_string_) {
      if (escape_) {
        escape_ = false;
      } else if (c == '\\') {
        escape_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      continue;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      ++depth_;
    } else if (c == '}' || c == ']') {
      if (--depth_ == 0) {
        bool go_on = true;
        if (partial_.empty()) {
          go_on = on_object(data.substr(start, i + 1 - start));
        } else {
          partial_.append(data.data(), i + 1);
          go_on = on_object(std::string_view(partial_));
          partial_.clear();
        }
        if (!go_on) {
          return status::ok;
        }
      }
    }
  }
  if (depth_ > 0) {
    // The object in progress continues in the next chunk: keep its bytes from this one.
    const std::size_t from = partial_.empty() ? start : 0;
    partial_.append(data.data() + from, data.size() - from);
  }
  return status::ok;
}

inline void json_framer::reset() {
  partial_.clear();
  depth_ = 0;
  size_ = 0;
  in_string_ = false;
  escape_ = false;
}

}  // namespace ke::kube
