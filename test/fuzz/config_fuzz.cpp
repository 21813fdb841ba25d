// libFuzzer target for the config loader (config/loader.hpp): YAML text -> config + diagnostics.
// load_string promises never to throw on bad input; an exception escaping it, a crash or a
// diagnostic without a message, or a loaded config that redacted_json cannot print is a failure.
// ${VAR} forms expand to fixed values, so the input alone decides the outcome.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "config/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto lookup = [](std::string_view name) -> std::optional<std::string> {
    if (name == "UNSET") {
      return std::nullopt;
    }
    return "v-" + std::string(name);
  };
  const auto r = ke::config::load_string(text, "fuzz.yaml", lookup);
  for (const auto& d : r.problems) {
    if (d.message.empty()) {
      std::abort();  // every diagnostic says what is wrong
    }
  }
  if (r.ok()) {
    const std::string json = ke::config::redacted_json(r.cfg);
    if (json.empty() || json.front() != '{') {
      std::abort();
    }
  }
  return 0;
}
