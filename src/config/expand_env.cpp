// expand_env: Go's os.Expand / os.ExpandEnv (src/os/env.go), byte for byte.
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include "config/loader.hpp"

namespace ke::config {

namespace {

// Go's os.Expand: isShellSpecialVar.
bool is_shell_special(char c) {
  switch (c) {
    case '*':
    case '#':
    case '$':
    case '@':
    case '!':
    case '?':
    case '-':
      return true;
    default:
      return c >= '0' && c <= '9';
  }
}

bool is_alnum_underscore(char c) {
  return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Go's os.Expand getShellName: the name after '$' and the number of bytes it used. An empty
// name with a non-zero width is bad syntax (the bytes are dropped).
std::pair<std::string_view, std::size_t> shell_name(std::string_view s) {
  if (s[0] == '{') {
    if (s.size() > 2 && is_shell_special(s[1]) && s[2] == '}') {
      return {s.substr(1, 1), 3};
    }
    for (std::size_t i = 1; i < s.size(); ++i) {
      if (s[i] == '}') {
        if (i == 1) {
          return {{}, 2};  // "${}"
        }
        return {s.substr(1, i - 1), i + 1};
      }
    }
    return {{}, 1};  // "${" without "}"
  }
  if (is_shell_special(s[0])) {
    return {s.substr(0, 1), 1};
  }
  std::size_t i = 0;
  while (i < s.size() && is_alnum_underscore(s[i])) {
    ++i;
  }
  return {s.substr(0, i), i};
}

}  // namespace

std::string expand_env(std::string_view text, const env_lookup& lookup) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;  // start of the literal text not yet copied
  for (std::size_t j = 0; j < text.size(); ++j) {
    if (text[j] != '$' || j + 1 >= text.size()) {
      continue;
    }
    out.append(text.substr(i, j - i));
    auto [name, width] = shell_name(text.substr(j + 1));
    if (name.empty() && width > 0) {
      // Bad syntax ("${" or "${}"): Go drops these bytes.
    } else if (name.empty()) {
      out.push_back('$');  // "$" not followed by a name stays
    } else if (auto value = lookup(name)) {
      out.append(*value);
    }
    j += width;
    i = j + 1;
  }
  out.append(text.substr(std::min(i, text.size())));
  return out;
}

std::string expand_env(std::string_view text) {
  return expand_env(text, [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) {
      return std::nullopt;
    }
    return std::string(v);
  });
}

}  // namespace ke::config
