// A problem found in user input (config file, events file), named by its path.
#pragma once
#include <string>
#include <vector>

namespace ke {

struct diagnostic {
  enum class level { warning, error };
  level severity = level::error;
  std::string path;     // e.g. "receivers[1].loki.streamLabel" or "events.jsonl:12"
  std::string message;  // e.g. "unknown key, did you mean streamLabels?"

  // "<path>: <message>" (the form printed to the user, one per line).
  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
};

using diagnostics = std::vector<diagnostic>;

inline bool has_errors(const diagnostics& d) {
  for (const auto& x : d) {
    if (x.severity == diagnostic::level::error) {
      return true;
    }
  }
  return false;
}

}  // namespace ke
