// libFuzzer target for the delivery checkpoint's decoder (watch/checkpoint.hpp): text read back
// from a file or a ConfigMap anyone with access may have edited. decode() never throws; a set it
// accepts must encode and decode again to the same set (size, complete_since, every entry).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "watch/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto s = ke::watch::checkpoint_set::decode(text, &error);
  if (!s) {
    if (error.empty()) {
      std::abort();  // a refusal says why
    }
    return 0;
  }
  const auto again = ke::watch::checkpoint_set::decode(s->encode(), &error);
  if (!again || again->size() != s->size() || again->complete_since() != s->complete_since()) {
    std::abort();
  }
  return 0;
}
