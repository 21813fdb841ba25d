// libFuzzer target for the stream framers (kube/json_framer.hpp) under arbitrary chunk splits:
// the watch stream framer and the list framer, on the same bytes. Input: byte 0 picks the object
// size limit, byte 1 seeds the chunk sizes, the rest is the stream. Invariants: the stream fed
// whole and fed in chunks yields the same objects and the same final status (list: the same
// metadata and completeness); every object starts with '{', ends with '}' or ']' and fits the
// limit; the watch framer never buffers more than the limit, the list framer's metadata never
// exceeds it. A broken invariant aborts.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "kube/json_framer.hpp"

namespace {

using ke::kube::json_framer;
using ke::kube::list_framer;

template <class Framer>
struct outcome {
  std::vector<std::string> objects;
  typename Framer::status status = Framer::status::ok;
  bool in_object = false;  // watch: the stream ended inside an object
  bool complete = false;   // list: the whole list was read
  std::string metadata;    // list
  bool operator==(const outcome&) const = default;
};

// The framer counts '{' '[' against '}' ']' without matching their kinds (the JSON parser
// after it rejects "{]"), so an object may end with either closing byte.
void check_object(std::string_view obj, std::size_t limit) {
  if (obj.size() < 2 || obj.front() != '{' || (obj.back() != '}' && obj.back() != ']') ||
      obj.size() > limit) {
    std::abort();
  }
}

// Feeds `stream` in chunks whose sizes come from `seed` (0: one chunk), stopping at the first
// status other than ok (the framer must not be fed again after it).
template <class Framer>
outcome<Framer> run(std::string_view stream, std::size_t limit, std::uint8_t seed) {
  outcome<Framer> out;
  Framer f(limit);
  std::uint32_t state = seed;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    std::size_t n = stream.size() - pos;
    if (seed != 0) {
      state = state * 1103515245u + 12345u;
      n = std::min<std::size_t>(n, 1 + (state >> 16) % 23);
    }
    out.status = f.feed(stream.substr(pos, n), [&](std::string_view obj) {
      check_object(obj, limit);
      out.objects.emplace_back(obj);
      return true;
    });
    pos += n;
    if constexpr (std::is_same_v<Framer, json_framer>) {
      if (f.buffered() > limit) {
        std::abort();
      }
    } else if (f.metadata().size() > limit) {
      std::abort();
    }
    if (out.status != Framer::status::ok) {
      return out;
    }
  }
  if constexpr (std::is_same_v<Framer, json_framer>) {
    out.in_object = f.in_object();
  } else {
    out.complete = f.complete();
    out.metadata = f.metadata();
  }
  return out;
}

template <class Framer>
void check(std::string_view stream, std::size_t limit, std::uint8_t seed) {
  if (!(run<Framer>(stream, limit, 0) == run<Framer>(stream, limit, seed))) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  constexpr std::array<std::size_t, 4> limits = {8, 64, 4096, 1u << 20};
  const std::size_t limit = limits.at(data[0] % limits.size());
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  const auto seed = static_cast<std::uint8_t>(data[1] | 1u);
  check<json_framer>(stream, limit, seed);
  check<list_framer>(stream, limit, seed);
  return 0;
}
