#include "config/yaml_walk.hpp"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <utility>

namespace ke::config::detail {

namespace {

constexpr std::string_view quoting_hint = "Need to wrap values with special characters in quotes";

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return in_quotes(n.Scalar());
    case YAML::NodeType::Null:
      return "null";
    default:
      return "nothing";
  }
}

// A YAML scalar written without quotes (its tag is "?"), which is subject to type resolution.
bool is_plain(const YAML::Node& n) { return n.Tag() == "?" || n.Tag().empty(); }

bool all_of(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_octal(char c) { return c >= '0' && c <= '7'; }

// Parses a decimal (optionally signed) or 0x / 0o prefixed integer.
std::optional<std::int64_t> parse_int(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && all_of(s.substr(2), is_hex)) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O') &&
             all_of(s.substr(2), is_octal)) {
    base = 8;
    s.remove_prefix(2);
  } else if (!all_of(s, is_digit)) {
    return std::nullopt;
  }
  std::uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude, base);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (negative) {
    if (magnitude > max + 1) {
      return std::nullopt;
    }
    return magnitude == max + 1 ? std::numeric_limits<std::int64_t>::min()
                                : -static_cast<std::int64_t>(magnitude);
  }
  if (magnitude > max) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(magnitude);
}

// A plain decimal number: digits with an optional fraction and exponent, optional sign.
std::optional<double> parse_number(std::string_view s) {
  if (s.empty()) {
    return std::nullopt;
  }
  std::string_view body = s;
  if (body[0] == '+') {
    body.remove_prefix(1);
  }
  if (body.empty() || !(is_digit(body[0]) || body[0] == '.' || body[0] == '-')) {
    return std::nullopt;
  }
  double v = 0;
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
  if (ec != std::errc() || ptr != body.data() + body.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

nlohmann::json resolve_plain(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return nullptr;
  }
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  if (auto i = parse_int(s)) {
    return *i;
  }
  const std::string l = lower(s);
  if (l == ".inf" || l == "+.inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (l == "-.inf") {
    return -std::numeric_limits<double>::infinity();
  }
  if (l == ".nan") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const bool looks_numeric =
      std::all_of(s.begin(), s.end(),
                  [](char c) {
                    return is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
                  }) &&
      std::any_of(s.begin(), s.end(), is_digit);
  if (looks_numeric) {
    if (auto d = parse_number(s)) {
      return *d;
    }
  }
  return s;
}

}  // namespace

std::string in_quotes(std::string_view s) {
  std::string out = "\"";
  out.append(s);
  out.push_back('"');
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string child_path(const std::string& path, std::string_view key) {
  if (path.empty()) {
    return std::string(key);
  }
  std::string out = path;
  out.push_back('.');
  out.append(key);
  return out;
}

std::string index_path(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1);
  std::vector<std::size_t> cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string> closest_key(std::string_view unknown,
                                       const std::vector<std::string_view>& known) {
  const std::string u = lower(unknown);
  for (auto k : known) {
    if (lower(k) == u) {
      return std::string(k);
    }
  }
  std::optional<std::string> best;
  std::size_t best_distance = 4;
  for (auto k : known) {
    const std::size_t d = edit_distance(u, lower(k));
    if (d < best_distance && d < unknown.size()) {
      best_distance = d;
      best = std::string(k);
    }
  }
  return best;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* error) {
  const auto fail = [&](std::string why) -> std::optional<std::chrono::milliseconds> {
    *error = std::move(why);
    return std::nullopt;
  };
  if (text.empty()) {
    return fail("empty duration");
  }
  if (text[0] == '-') {
    return fail("must not be negative");
  }
  double ns = 0;
  if (auto seconds = parse_number(text)) {
    ns = *seconds * 1e9;
  } else {
    std::string_view s = text;
    if (s[0] == '+') {
      s.remove_prefix(1);
    }
    static const std::vector<std::pair<std::string_view, double>> units = {
        {"ns", 1.0}, {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3},
        {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
    if (s.empty()) {
      return fail("empty duration");
    }
    while (!s.empty()) {
      std::size_t n = 0;
      while (n < s.size() && (is_digit(s[n]) || s[n] == '.')) {
        ++n;
      }
      if (n == 0) {
        return fail("expected a number before the unit");
      }
      auto number = parse_number(s.substr(0, n));
      if (!number) {
        return fail("invalid number " + in_quotes(s.substr(0, n)));
      }
      s.remove_prefix(n);
      std::size_t u = 0;
      while (u < s.size() && !is_digit(s[u]) && s[u] != '.') {
        ++u;
      }
      const std::string_view unit = s.substr(0, u);
      auto it =
          std::find_if(units.begin(), units.end(), [&](const auto& p) { return p.first == unit; });
      if (it == units.end()) {
        return fail(unit.empty() ? std::string("missing unit (use ms, s, m or h)")
                                 : "unknown unit " + in_quotes(unit) + " (use ms, s, m or h)");
      }
      ns += *number * it->second;
      s.remove_prefix(u);
    }
  }
  if (ns > 9.2e18) {
    return fail("too large");
  }
  auto ms = static_cast<std::int64_t>(std::llround(ns / 1e6));
  if (ms == 0 && ns > 0) {
    ms = 1;
  }
  return std::chrono::milliseconds(ms);
}

std::optional<std::uint64_t> parse_byte_size(std::string_view text, std::string* error) {
  const auto fail = [&](std::string why) -> std::optional<std::uint64_t> {
    *error = std::move(why);
    return std::nullopt;
  };
  std::size_t n = 0;
  while (n < text.size() && (is_digit(text[n]) || text[n] == '.' || text[n] == '+')) {
    ++n;
  }
  if (!text.empty() && text[0] == '-') {
    return fail("must not be negative");
  }
  auto number = parse_number(text.substr(0, n));
  if (!number) {
    return fail("expected a number of bytes, optionally with a unit (KB, MB, KiB, MiB, ...)");
  }
  std::string_view unit = text.substr(n);
  while (!unit.empty() && unit.front() == ' ') {
    unit.remove_prefix(1);
  }
  static const std::unordered_map<std::string_view, double> units = {{"", 1.0},
                                                                     {"B", 1.0},
                                                                     {"K", 1e3},
                                                                     {"k", 1e3},
                                                                     {"KB", 1e3},
                                                                     {"kB", 1e3},
                                                                     {"M", 1e6},
                                                                     {"MB", 1e6},
                                                                     {"G", 1e9},
                                                                     {"GB", 1e9},
                                                                     {"T", 1e12},
                                                                     {"TB", 1e12},
                                                                     {"Ki", 1024.0},
                                                                     {"KiB", 1024.0},
                                                                     {"Mi", 1048576.0},
                                                                     {"MiB", 1048576.0},
                                                                     {"Gi", 1073741824.0},
                                                                     {"GiB", 1073741824.0},
                                                                     {"Ti", 1099511627776.0},
                                                                     {"TiB", 1099511627776.0}};
  auto it = units.find(unit);
  if (it == units.end()) {
    return fail("unknown unit " + in_quotes(unit) + " (use B, KB, MB, GB, KiB, MiB or GiB)");
  }
  const double bytes = *number * it->second;
  if (bytes >= 1.8e19) {
    return fail("too large");
  }
  return static_cast<std::uint64_t>(bytes);
}

yaml_walker::yaml_walker(std::string_view text) {
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    lines_.push_back(line);
    start = end + 1;
  }
}

std::string_view yaml_walker::line_text(int line) const {
  if (line < 0 || static_cast<std::size_t>(line) >= lines_.size()) {
    return {};
  }
  return lines_[static_cast<std::size_t>(line)];
}

void yaml_walker::add(diagnostic::level severity, const YAML::Node& at, const std::string& path,
                      std::string message) {
  int line = current_line_;
  int column = current_column_;
  if (at.IsDefined() && !at.IsNull() && at.Mark().line >= 0) {
    line = at.Mark().line;
    column = at.Mark().column;
  }
  found_.push_back({line, column, diagnostic{severity, path, std::move(message)}});
}

void yaml_walker::warn(const YAML::Node& at, const std::string& path, std::string message) {
  add(diagnostic::level::warning, at, path, std::move(message));
}

void yaml_walker::error(const YAML::Node& at, const std::string& path, std::string message) {
  add(diagnostic::level::error, at, path, std::move(message));
}

void yaml_walker::add_last(diagnostic::level severity, const std::string& path,
                           std::string message) {
  found_.push_back({INT_MAX, INT_MAX, diagnostic{severity, path, std::move(message)}});
}

diagnostics yaml_walker::take() {
  std::stable_sort(found_.begin(), found_.end(), [](const positioned& a, const positioned& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  diagnostics out;
  out.reserve(found_.size());
  for (auto& p : found_) {
    out.push_back(std::move(p.d));
  }
  found_.clear();
  return out;
}

void yaml_walker::type_error(const YAML::Node& n, const std::string& path, std::string_view what) {
  std::string message = "expected ";
  message.append(what);
  message.append(", got ");
  message.append(describe(n));
  if ((n.IsMap() || n.IsSequence()) && line_text(n.Mark().line).find("{{") != std::string::npos) {
    message.append(" (");
    message.append(quoting_hint);
    message.append(")");
  }
  error(n, path, std::move(message));
}

std::vector<map_entry> yaml_walker::entries(const YAML::Node& map, const std::string& path) {
  std::vector<map_entry> out;
  if (!map.IsDefined() || map.IsNull()) {
    return out;
  }
  if (!map.IsMap()) {
    type_error(map, path, "a map");
    return out;
  }
  std::unordered_map<std::string, int> seen;
  for (const auto& kv : map) {
    const YAML::Node& key = kv.first;
    if (!key.IsScalar() && !key.IsNull()) {
      type_error(key, path, "a string map key");
      continue;
    }
    std::string name = key.IsScalar() ? key.Scalar() : std::string();
    auto [it, inserted] = seen.emplace(name, key.Mark().line + 1);
    if (!inserted) {
      error(key, child_path(path, name),
            "duplicate key (first defined on line " + std::to_string(it->second) + ")");
      continue;
    }
    out.push_back({std::move(name), key, kv.second});
  }
  return out;
}

void yaml_walker::unknown_key(const map_entry& e, const std::string& path,
                              const std::vector<std::string_view>& known) {
  std::string message = "unknown key";
  if (auto best = closest_key(e.key, known)) {
    message += ", did you mean " + *best + "?";
  }
  warn(e.key_node, child_path(path, e.key), std::move(message));
}

void yaml_walker::walk_map(
    const YAML::Node& map, const std::string& path, const std::vector<field>& fields,
    const std::function<bool(const map_entry&, const std::string&)>& on_unknown) {
  for (const auto& e : entries(map, path)) {
    const int saved_line = current_line_;
    const int saved_column = current_column_;
    if (e.key_node.Mark().line >= 0) {
      current_line_ = e.key_node.Mark().line;
      current_column_ = e.key_node.Mark().column;
    }
    auto it =
        std::find_if(fields.begin(), fields.end(), [&](const field& f) { return f.key == e.key; });
    if (it != fields.end()) {
      it->read(e.value, child_path(path, e.key));
    } else if (!on_unknown || !on_unknown(e, path)) {
      std::vector<std::string_view> known;
      known.reserve(fields.size());
      for (const auto& f : fields) {
        known.push_back(f.key);
      }
      unknown_key(e, path, known);
    }
    current_line_ = saved_line;
    current_column_ = saved_column;
  }
}

field yaml_walker::string_field(std::string_view key, std::string& out) {
  return {key, [this, &out](const YAML::Node& v, const std::string& p) { read_string(v, p, out); }};
}

field yaml_walker::bool_field(std::string_view key, bool& out) {
  return {key, [this, &out](const YAML::Node& v, const std::string& p) { read_bool(v, p, out); }};
}

field yaml_walker::duration_field(std::string_view key, std::chrono::milliseconds& out) {
  return {key,
          [this, &out](const YAML::Node& v, const std::string& p) { read_duration(v, p, out); }};
}

field yaml_walker::string_map_field(std::string_view key, string_pairs& out) {
  return {key,
          [this, &out](const YAML::Node& v, const std::string& p) { read_string_map(v, p, out); }};
}

bool yaml_walker::read_string(const YAML::Node& n, const std::string& path, std::string& out) {
  if (n.IsNull()) {
    return true;
  }
  if (!n.IsScalar()) {
    type_error(n, path, "a string");
    return false;
  }
  out = n.Scalar();
  return true;
}

bool yaml_walker::read_bool(const YAML::Node& n, const std::string& path, bool& out) {
  if (n.IsNull()) {
    return true;
  }
  if (n.IsScalar()) {
    const std::string v = lower(n.Scalar());
    if (v == "true" || v == "yes" || v == "on") {
      out = true;
      return true;
    }
    if (v == "false" || v == "no" || v == "off") {
      out = false;
      return true;
    }
  }
  type_error(n, path, "a boolean (true or false)");
  return false;
}

bool yaml_walker::read_int(const YAML::Node& n, const std::string& path, std::int64_t& out,
                           std::int64_t min, std::int64_t max) {
  if (n.IsNull()) {
    return true;
  }
  if (!n.IsScalar()) {
    type_error(n, path, "an integer");
    return false;
  }
  auto v = parse_int(n.Scalar());
  if (!v) {
    type_error(n, path, "an integer");
    return false;
  }
  if (*v < min || *v > max) {
    error(n, path,
          "value " + std::to_string(*v) + " out of range [" + std::to_string(min) + ", " +
              std::to_string(max) + "]");
    return false;
  }
  out = *v;
  return true;
}

bool yaml_walker::read_double(const YAML::Node& n, const std::string& path, double& out) {
  if (n.IsNull()) {
    return true;
  }
  std::optional<double> v;
  if (n.IsScalar()) {
    v = parse_number(n.Scalar());
  }
  if (!v) {
    type_error(n, path, "a number");
    return false;
  }
  out = *v;
  return true;
}

bool yaml_walker::read_duration(const YAML::Node& n, const std::string& path,
                                std::chrono::milliseconds& out) {
  if (n.IsNull()) {
    return true;
  }
  if (!n.IsScalar()) {
    type_error(n, path, "a duration");
    return false;
  }
  std::string why;
  auto v = parse_duration(n.Scalar(), &why);
  if (!v) {
    error(n, path,
          "invalid duration " + in_quotes(n.Scalar()) + ": " + why +
              " (examples: 500ms, 10s, 5m, or a number of seconds)");
    return false;
  }
  out = *v;
  return true;
}

bool yaml_walker::read_byte_size(const YAML::Node& n, const std::string& path, std::uint64_t& out) {
  if (n.IsNull()) {
    return true;
  }
  if (!n.IsScalar()) {
    type_error(n, path, "a size in bytes");
    return false;
  }
  std::string why;
  auto v = parse_byte_size(n.Scalar(), &why);
  if (!v) {
    error(n, path, "invalid size " + in_quotes(n.Scalar()) + ": " + why);
    return false;
  }
  out = *v;
  return true;
}

bool yaml_walker::read_string_map(const YAML::Node& n, const std::string& path, string_pairs& out) {
  if (n.IsNull()) {
    return true;
  }
  if (!n.IsMap()) {
    type_error(n, path, "a map of strings");
    return false;
  }
  bool ok = true;
  string_pairs result;
  for (const auto& e : entries(n, path)) {
    std::string value;
    if (read_string(e.value, child_path(path, e.key), value)) {
      result.emplace_back(e.key, std::move(value));
    } else {
      ok = false;
    }
  }
  out = std::move(result);
  return ok;
}

bool yaml_walker::read_string_list(const YAML::Node& n, const std::string& path,
                                   std::vector<std::string>& out) {
  if (n.IsNull()) {
    return true;
  }
  if (!n.IsSequence()) {
    type_error(n, path, "a list of strings");
    return false;
  }
  bool ok = true;
  std::vector<std::string> result;
  for (std::size_t i = 0; i < n.size(); ++i) {
    std::string value;
    if (read_string(n[i], index_path(path, i), value)) {
      result.push_back(std::move(value));
    } else {
      ok = false;
    }
  }
  out = std::move(result);
  return ok;
}

std::optional<nlohmann::json> yaml_walker::read_json(const YAML::Node& n, const std::string& path,
                                                     int depth) {
  if (json_aborted_) {
    return std::nullopt;
  }
  if (depth > max_depth) {
    json_aborted_ = true;
    error(n, path, "nested too deeply (more than " + std::to_string(max_depth) + " levels)");
    return std::nullopt;
  }
  if (++json_nodes_ > max_json_nodes) {
    json_aborted_ = true;
    error(n, path, "too large (more than " + std::to_string(max_json_nodes) + " nodes)");
    return std::nullopt;
  }
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return nlohmann::json(nullptr);
    case YAML::NodeType::Scalar:
      if (is_plain(n)) {
        return resolve_plain(n.Scalar());
      }
      return nlohmann::json(n.Scalar());
    case YAML::NodeType::Sequence: {
      nlohmann::json arr = nlohmann::json::array();
      bool ok = true;
      for (std::size_t i = 0; i < n.size(); ++i) {
        auto v = read_json(n[i], index_path(path, i), depth + 1);
        if (v) {
          arr.push_back(std::move(*v));
        } else {
          ok = false;
        }
      }
      return ok ? std::optional<nlohmann::json>(std::move(arr)) : std::nullopt;
    }
    case YAML::NodeType::Map: {
      nlohmann::json obj = nlohmann::json::object();
      bool ok = true;
      const std::size_t before = found_.size();
      for (const auto& e : entries(n, path)) {
        auto v = read_json(e.value, child_path(path, e.key), depth + 1);
        if (v) {
          obj[e.key] = std::move(*v);
        } else {
          ok = false;
        }
      }
      if (found_.size() != before) {
        ok = false;  // a bad or duplicate key was reported
      }
      return ok ? std::optional<nlohmann::json>(std::move(obj)) : std::nullopt;
    }
    default:
      return nlohmann::json(nullptr);
  }
}

}  // namespace ke::config::detail
