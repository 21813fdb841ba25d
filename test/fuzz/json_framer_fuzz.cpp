// libFuzzer target for the watch stream framer (kube/json_framer.hpp) under arbitrary chunk
// splits. Input: byte 0 picks the object size limit, byte 1 seeds the chunk sizes, the rest is
// the stream. Invariants: the stream fed whole and fed in chunks yields the same objects and the
// same final status; every object starts with '{', ends with '}' or ']' and fits the limit; the
// framer never buffers more than the limit. A broken invariant aborts.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "kube/json_framer.hpp"

namespace {

using ke::kube::json_framer;

struct outcome {
  std::vector<std::string> objects;
  json_framer::status status = json_framer::status::ok;
  bool in_object = false;
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
outcome run(std::string_view stream, std::size_t limit, std::uint8_t seed) {
  outcome out;
  json_framer f(limit);
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
    if (f.buffered() > limit) {
      std::abort();
    }
    if (out.status != json_framer::status::ok) {
      return out;
    }
  }
  out.in_object = f.in_object();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  constexpr std::array<std::size_t, 4> limits = {8, 64, 4096, 1u << 20};
  const std::size_t limit = limits.at(data[0] % limits.size());
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  const outcome whole = run(stream, limit, 0);
  const outcome split = run(stream, limit, static_cast<std::uint8_t>(data[1] | 1u));
  if (whole.objects != split.objects || whole.status != split.status ||
      whole.in_object != split.in_object) {
    std::abort();
  }
  return 0;
}
