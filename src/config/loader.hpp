// Loads config.yaml the way resmoio does (os.ExpandEnv over the whole text, then YAML), and
// validates it loudly: every problem is a diagnostic naming its YAML path.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/diagnostic.hpp"

namespace ke::config {

// Go's os.ExpandEnv: $VAR and ${VAR} replaced by lookup(VAR), undefined -> "". Follows
// os.Expand's rules exactly ($$ -> "$"? no: Go keeps special-var names like $1, $@; a lone "$"
// at the end stays "$"; "${" without "}" is dropped; see os/env.go).
using env_lookup = std::function<std::optional<std::string>(std::string_view)>;
std::string expand_env(std::string_view text, const env_lookup& lookup);
std::string expand_env(std::string_view text);  // uses ::getenv

struct load_result {
  config cfg;
  diagnostics problems;  // warnings and errors, in document order
  bool ok() const { return !has_errors(problems); }
};

// file_name is used in messages. Never throws on bad input: problems go to load_result.problems.
load_result load_string(std::string_view yaml_text, std::string_view file_name,
                        const env_lookup& lookup);
load_result load_file(const std::string& path);  // expands with ::getenv; unreadable file -> error

// The config as JSON (resmoio key names) with secrets replaced by "<redacted>": header values,
// passwords, tokens. Safe to log.
std::string redacted_json(const config& cfg);

}  // namespace ke::config
