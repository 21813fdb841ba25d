// Private helpers of core/config_loader.cpp: a YAML walker that reads typed values out of a
// yaml-cpp tree and records every problem as a diagnostic named by its YAML path.
#pragma once
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.hpp"
#include "core/record.hpp"

namespace ke::config::detail {

// "\"s\"" (no escaping: for messages).
std::string in_quotes(std::string_view s);
// ASCII lower case.
std::string lower(std::string_view s);

// "a.b" / "a[3]" path builders.
std::string child_path(const std::string& path, std::string_view key);
std::string index_path(const std::string& path, std::size_t i);

// Levenshtein distance (bytes).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The known key closest to `unknown`: a case-insensitive match, else the one with the smallest
// edit distance when that distance is <= 3 and smaller than unknown's length.
std::optional<std::string> closest_key(std::string_view unknown,
                                       const std::vector<std::string_view>& known);

// Go-style durations ("500ms", "1s", "1m30s", "1.5h") or a bare number of seconds ("2", "0.5").
// Negative values are rejected. On failure returns nullopt and sets *error.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* error);

// A byte count: a plain integer, or a number with a unit: B, KB/kB/K (1000), MB/M, GB/G, TB/T,
// KiB/Ki (1024), MiB/Mi, GiB/Gi, TiB/Ti. On failure returns nullopt and sets *error.
std::optional<std::uint64_t> parse_byte_size(std::string_view text, std::string* error);

// Converts a YAML tree to JSON: quoted scalars stay strings, plain scalars are resolved like
// YAML 1.2 core schema (null, bool, int, float, else string). Maps need scalar keys.
class yaml_walker;

// One key/value pair of a YAML map, in document order.
struct map_entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

// A handler for one known key of a map: gets the value node and its full path.
struct field {
  std::string_view key;
  std::function<void(const YAML::Node&, const std::string&)> read;
};

class yaml_walker {
 public:
  explicit yaml_walker(std::string_view text);

  void warn(const YAML::Node& at, const std::string& path, std::string message);
  void error(const YAML::Node& at, const std::string& path, std::string message);
  // A problem with no particular place in the document: sorted after everything else.
  void add_last(diagnostic::level severity, const std::string& path, std::string message);
  // The diagnostics sorted by position in the document (stable).
  diagnostics take();

  // The entries of a map in document order. Non-scalar and duplicate keys are reported and
  // skipped. A null node has no entries; a non-map is a type error (returns empty).
  std::vector<map_entry> entries(const YAML::Node& map, const std::string& path);

  // Walks a map with a table of known keys; unknown keys are warned about with the closest known
  // key (also considering extra_known). `on_unknown`, if set, is asked first and returns true when
  // it handled (reported) the key itself.
  void walk_map(const YAML::Node& map, const std::string& path, const std::vector<field>& fields,
                const std::function<bool(const map_entry&, const std::string&)>& on_unknown = {});

  // Reports an unknown key with a did-you-mean suggestion.
  void unknown_key(const map_entry& e, const std::string& path,
                   const std::vector<std::string_view>& known);

  // Typed readers. Each returns false (and reports an error) on a type mismatch, leaving `out`
  // unchanged; null leaves `out` unchanged and returns true.
  bool read_string(const YAML::Node& n, const std::string& path, std::string& out);
  bool read_bool(const YAML::Node& n, const std::string& path, bool& out);
  bool read_int(const YAML::Node& n, const std::string& path, std::int64_t& out, std::int64_t min,
                std::int64_t max);
  bool read_double(const YAML::Node& n, const std::string& path, double& out);
  bool read_duration(const YAML::Node& n, const std::string& path, std::chrono::milliseconds& out);
  bool read_byte_size(const YAML::Node& n, const std::string& path, std::uint64_t& out);
  // map of scalar -> scalar (null value -> "").
  bool read_string_map(const YAML::Node& n, const std::string& path, string_pairs& out);
  // list of scalars.
  bool read_string_list(const YAML::Node& n, const std::string& path,
                        std::vector<std::string>& out);
  // Any YAML value as JSON (see above). Returns nullopt after reporting a problem.
  // Nesting deeper than max_depth (e.g. a cyclic alias) is an error.
  std::optional<nlohmann::json> read_json(const YAML::Node& n, const std::string& path,
                                          int depth = 0);
  static constexpr int max_depth = 64;
  // At most this many nodes are converted by read_json in one document (aliases can make a
  // small document expand exponentially).
  static constexpr std::size_t max_json_nodes = 20000;

  // Integer reader for any integral type with its natural range (or a tighter one).
  template <typename T>
  bool read_integral(const YAML::Node& n, const std::string& path, T& out, std::int64_t min,
                     std::int64_t max) {
    std::int64_t v = static_cast<std::int64_t>(out);
    if (!read_int(n, path, v, min, max)) {
      return false;
    }
    out = static_cast<T>(v);
    return true;
  }

  // Field factories for walk_map tables: each reads the key's value into `out`.
  field string_field(std::string_view key, std::string& out);
  field bool_field(std::string_view key, bool& out);
  field duration_field(std::string_view key, std::chrono::milliseconds& out);
  field string_map_field(std::string_view key, string_pairs& out);
  template <typename T>
  field int_field(std::string_view key, T& out, std::int64_t min, std::int64_t max) {
    return {key, [this, &out, min, max](const YAML::Node& v, const std::string& p) {
              read_integral(v, p, out, min, max);
            }};
  }
  template <typename T>
  field byte_size_field(std::string_view key, T& out) {
    return {key, [this, &out](const YAML::Node& v, const std::string& p) {
              std::uint64_t bytes = out;
              if (read_byte_size(v, p, bytes)) {
                out = static_cast<T>(bytes);
              }
            }};
  }

  // "expected <what>, got <description of n>" (+ the quoting hint when the line has "{{").
  void type_error(const YAML::Node& n, const std::string& path, std::string_view what);

  // The text of a 0-based line of the document ("" if out of range).
  std::string_view line_text(int line) const;

 private:
  struct positioned {
    int line;
    int column;
    diagnostic d;
  };
  void add(diagnostic::level severity, const YAML::Node& at, const std::string& path,
           std::string message);

  std::vector<std::string_view> lines_;
  std::vector<positioned> found_;
  // Position of the key currently being read: used for nodes without a usable mark (null).
  std::size_t json_nodes_ = 0;
  bool json_aborted_ = false;  // a limit was hit and reported: convert nothing more
  int current_line_ = 0;
  int current_column_ = 0;
};

}  // namespace ke::config::detail
