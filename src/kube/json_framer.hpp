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

// Whether a byte of JSON lies inside a string literal (its quotes and escapes included).
struct json_string_state {
  bool in_string = false;
  bool escape = false;
  // Steps over c; true when c belongs to a string (so it is not structure).
  bool consume(char c) {
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
      return true;
    }
    in_string = c == '"';
    return in_string;
  }
};

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
  json_string_state str_;
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
    if (str_.consume(c)) {
      continue;
    }
    if (c == '{' || c == '[') {
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
  str_ = {};
}

}  // namespace ke::kube

namespace ke::kube {

// Splits a list response body ({"kind":"EventList","apiVersion":"v1","metadata":{...},
// "items":[{...},{...}]}) into its items as bytes arrive, so a list of any size is never held
// whole: each element of the top-level "items" array is handed to on_item as soon as it is
// complete (a view into the fed chunk, or into a buffer for the one item crossing a chunk
// boundary), and the top-level "metadata" object is kept (it is small: resourceVersion,
// continue, remainingItemCount). Other top-level members are skipped. Key order does not
// matter. Whether an item is valid JSON is for its parser to say; this only tracks strings,
// escapes and nesting.
//
// Memory: one item (at most max_object bytes) plus the metadata (at most max_object bytes).
class list_framer {
 public:
  enum class status { ok, not_a_list, too_large };

  explicit list_framer(std::size_t max_object = 64u << 20) : max_object_(max_object) {}

  // Feeds the next piece of the body; on_item(std::string_view) returns false to stop early.
  template <class F>
  status feed(std::string_view data, F&& on_item);

  // True once the whole top-level object has been read.
  bool complete() const { return state_ == state::done; }
  // The raw bytes of the top-level "metadata" object ("" if none has been seen).
  const std::string& metadata() const { return metadata_; }
  std::size_t items() const { return items_; }
  // True once the top-level "items" member has been seen (an array or null).
  bool saw_items() const { return saw_items_; }

 private:
  enum class state {
    start,   // before the top-level '{'
    key,     // at depth 1, expecting a key or '}'
    in_key,  // inside a key string
    colon,   // after a key
    value,   // expecting a value
    skip,    // inside a value that is skipped or kept (metadata)
    items,   // inside "items": expecting an element, ',' or ']'
    item,    // inside an item
    after,   // after a value at depth 1: ',' or '}'
    done
  };
  static bool space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

  std::size_t max_object_;
  state state_ = state::start;
  std::string key_;
  std::string metadata_;
  bool keep_ = false;      // the value being skipped is "metadata": keep its bytes
  std::string partial_;    // bytes of the item in progress from earlier chunks
  std::size_t depth_ = 0;  // nesting inside the current value or item
  std::size_t size_ = 0;   // bytes of the current item so far
  json_string_state str_;  // strings of the current value or item
  bool key_escape_ = false;
  bool scalar_ = false;  // the skipped value is a scalar (ends at ',' or '}' at depth 1)
  std::size_t items_ = 0;
  bool saw_items_ = false;
};

template <class F>
list_framer::status list_framer::feed(std::string_view data, F&& on_item) {
  std::size_t start = 0;  // where the item in progress begins inside `data` (if it does)
  for (std::size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    switch (state_) {
      case state::start:
        if (space(c)) {
          continue;
        }
        if (c != '{') {
          return status::not_a_list;
        }
        state_ = state::key;
        continue;
      case state::key:
        if (space(c) || c == ',') {
          continue;
        }
        if (c == '}') {
          state_ = state::done;
          continue;
        }
        if (c != '"') {
          return status::not_a_list;
        }
        key_.clear();
        state_ = state::in_key;
        continue;
      case state::in_key:
        if (key_escape_) {
          key_escape_ = false;
        } else if (c == '\\') {
          key_escape_ = true;
        } else if (c == '"') {
          state_ = state::colon;
          continue;
        }
        if (key_.size() < 64) {
          key_.push_back(c);
        }
        continue;
      case state::colon:
        if (space(c)) {
          continue;
        }
        if (c != ':') {
          return status::not_a_list;
        }
        state_ = state::value;
        continue;
      case state::value:
        if (space(c)) {
          continue;
        }
        saw_items_ = saw_items_ || key_ == "items";
        if (key_ == "items" && c == '[') {
          state_ = state::items;
          continue;
        }
        keep_ = key_ == "metadata";
        if (keep_) {
          metadata_.clear();
        }
        state_ = state::skip;
        depth_ = 0;
        scalar_ = !(c == '{' || c == '[');
        [[fallthrough]];
      case state::skip:
        if (!str_.in_string && depth_ == 0 && scalar_ && (c == ',' || c == '}' || space(c))) {
          state_ = c == '}' ? state::done : state::key;
          continue;
        }
        if (keep_) {
          if (metadata_.size() >= max_object_) {
            return status::too_large;
          }
          metadata_.push_back(c);
        }
        if (str_.consume(c)) {
          continue;
        }
        if (c == '{' || c == '[') {
          ++depth_;
        } else if ((c == '}' || c == ']') && depth_ > 0 && --depth_ == 0) {
          state_ = state::after;
        }
        continue;
      case state::after:
        if (space(c)) {
          continue;
        }
        if (c == ',') {
          state_ = state::key;
        } else if (c == '}') {
          state_ = state::done;
        } else {
          return status::not_a_list;
        }
        continue;
      case state::items:
        if (space(c) || c == ',') {
          continue;
        }
        if (c == ']') {
          state_ = state::after;
          continue;
        }
        if (c != '{') {
          return status::not_a_list;
        }
        state_ = state::item;
        depth_ = 1;
        size_ = 1;
        start = i;
        continue;
      case state::item:
        if (++size_ > max_object_) {
          return status::too_large;
        }
        if (str_.consume(c)) {
          continue;
        }
        if (c == '{' || c == '[') {
          ++depth_;
        } else if ((c == '}' || c == ']') && --depth_ == 0) {
          state_ = state::items;
          ++items_;
          bool go_on = true;
          if (partial_.empty()) {
            go_on = on_item(data.substr(start, i + 1 - start));
          } else {
            partial_.append(data.data(), i + 1);
            go_on = on_item(std::string_view(partial_));
            partial_.clear();
          }
          if (!go_on) {
            return status::ok;
          }
        }
        continue;
      case state::done:
        if (!space(c)) {
          return status::not_a_list;
        }
        continue;
    }
  }
  if (state_ == state::item) {
    const std::size_t from = partial_.empty() ? start : 0;
    partial_.append(data.data() + from, data.size() - from);
  }
  return status::ok;
}

}  // namespace ke::kube
