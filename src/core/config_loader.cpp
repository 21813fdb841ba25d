#include "core/config_loader.hpp"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "core/yaml_walk.hpp"

namespace ke::config {

namespace {

using detail::child_path;
using detail::field;
using detail::index_path;
using detail::map_entry;
using detail::yaml_walker;

constexpr std::string_view quoting_hint = "Need to wrap values with special characters in quotes";

constexpr std::array<std::string_view, 4> implemented_sinks = {"stdout", "file", "loki", "webhook"};
// resmoio's other sink keys (pkg/sinks/receiver.go), accepted but not implemented.
constexpr std::array<std::string_view, 17> unsupported_sinks = {
    "inMemory",   "pipe",      "syslog", "elasticsearch", "kinesis",    "firehose",
    "opensearch", "opsgenie",  "sqs",    "sns",           "slack",      "kafka",
    "pubsub",     "opscenter", "teams",  "bigquery",      "eventbridge"};

constexpr std::array<std::string_view, 8> log_levels = {"trace", "debug", "info",  "warn",
                                                        "error", "fatal", "panic", "disabled"};

constexpr std::array<std::string_view, 12> rule_keys = {
    "message",   "apiVersion", "kind",   "namespace",   "reason",   "type",
    "component", "host",       "labels", "annotations", "minCount", "receiver"};

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

std::string in_quotes(std::string_view s) {
  std::string out = "\"";
  out.append(s);
  out.push_back('"');
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& a, std::string_view s) {
  return std::find(a.begin(), a.end(), s) != a.end();
}

template <std::size_t N>
std::string join(const std::array<std::string_view, N>& a, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) {
      out.append(sep);
    }
    out.append(a[i]);
  }
  return out;
}

bool valid_metrics_prefix(std::string_view p) {
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (p.size() < 2 || !alpha(p.front()) || p.back() != '_') {
    return false;
  }
  return std::all_of(p.begin(), p.end(), [&](char c) {
    return alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == ':';
  });
}

bool valid_loki_label_name(std::string_view n) {
  if (n.empty() || (n[0] >= '0' && n[0] <= '9')) {
    return false;
  }
  return std::all_of(n.begin(), n.end(), is_alnum_underscore);
}

bool is_http_url(std::string_view u) {
  return (u.rfind("http://", 0) == 0 && u.size() > 7) ||
         (u.rfind("https://", 0) == 0 && u.size() > 8);
}

// RE2's parse error in the words Go's regexp/syntax uses (what resmoio users would see).
std::string regexp_error_text(const RE2& re) {
  switch (re.error_code()) {
    case RE2::ErrorBadEscape:
      return "invalid escape sequence";
    case RE2::ErrorBadCharClass:
      return "invalid character class";
    case RE2::ErrorBadCharRange:
      return "invalid character class range";
    case RE2::ErrorMissingBracket:
      return "missing closing ]";
    case RE2::ErrorMissingParen:
      return "missing closing )";
    case RE2::ErrorUnexpectedParen:
      return "unexpected )";
    case RE2::ErrorTrailingBackslash:
      return "trailing backslash at end of expression";
    case RE2::ErrorRepeatArgument:
      return "missing argument to repetition operator";
    case RE2::ErrorRepeatSize:
      return "invalid repeat count";
    case RE2::ErrorRepeatOp:
      return "invalid nested repetition operator";
    case RE2::ErrorBadPerlOp:
      return "invalid or unsupported Perl syntax";
    case RE2::ErrorBadUTF8:
      return "invalid UTF-8";
    case RE2::ErrorBadNamedCapture:
      return "invalid named capture";
    case RE2::ErrorPatternTooLarge:
      return "expression too large";
    default:
      return re.error();
  }
}

// A rule's receiver reference, checked once all receivers are known.
struct receiver_ref {
  std::string name;
  std::string path;
  YAML::Node node;
};

struct found_sink {
  std::string_view kind;
  std::string path;
  YAML::Node node;
  sink value;
};

class loader {
 public:
  loader(std::string_view text, std::string file_name)
      : w_(text), file_name_(std::move(file_name)) {}

  void load(const YAML::Node& root);
  diagnostics finish() { return w_.take(); }
  config& cfg() { return cfg_; }

 private:
  void check_regex(const YAML::Node& at, const std::string& path, const std::string& pattern);
  void parse_route(const YAML::Node& n, const std::string& path, route& r, int depth = 0);
  void parse_rules(const YAML::Node& n, const std::string& path, std::vector<rule>& out, bool drop);
  void parse_rule(const YAML::Node& n, const std::string& path, rule& r, bool drop);
  void parse_receivers(const YAML::Node& n, const std::string& path);
  void parse_receiver(const YAML::Node& n, const std::string& path);
  sink parse_sink(std::string_view kind, const YAML::Node& n, const std::string& path);
  void parse_layout(const YAML::Node& n, const std::string& path, layout& out);
  void parse_tls(const YAML::Node& n, const std::string& path, tls& out);
  void parse_queue(const YAML::Node& n, const std::string& path, queue& out);
  stdout_sink parse_stdout(const YAML::Node& n, const std::string& path);
  file_sink parse_file(const YAML::Node& n, const std::string& path);
  loki_sink parse_loki(const YAML::Node& n, const std::string& path);
  webhook_sink parse_webhook(const YAML::Node& n, const std::string& path);
  void check_receiver_refs();

  field str(std::string_view key, std::string& out) {
    return {key,
            [this, &out](const YAML::Node& v, const std::string& p) { w_.read_string(v, p, out); }};
  }
  field boolean(std::string_view key, bool& out) {
    return {key,
            [this, &out](const YAML::Node& v, const std::string& p) { w_.read_bool(v, p, out); }};
  }
  template <typename T>
  field integer(std::string_view key, T& out, std::int64_t min, std::int64_t max) {
    return {key, [this, &out, min, max](const YAML::Node& v, const std::string& p) {
              w_.read_integral(v, p, out, min, max);
            }};
  }
  field duration(std::string_view key, milliseconds& out) {
    return {key, [this, &out](const YAML::Node& v, const std::string& p) {
              w_.read_duration(v, p, out);
            }};
  }
  template <typename T>
  field byte_size(std::string_view key, T& out) {
    return {key, [this, &out](const YAML::Node& v, const std::string& p) {
              std::uint64_t bytes = out;
              if (w_.read_byte_size(v, p, bytes)) {
                out = static_cast<T>(bytes);
              }
            }};
  }
  field string_map(std::string_view key, string_pairs& out) {
    return {key, [this, &out](const YAML::Node& v, const std::string& p) {
              w_.read_string_map(v, p, out);
            }};
  }

  yaml_walker w_;
  std::string file_name_;
  config cfg_;
  std::vector<receiver_ref> refs_;
  std::map<std::string, std::string> receiver_paths_;  // name -> first path
  // Aliases can make a small document describe a huge (or cyclic) route tree.
  static constexpr std::size_t max_routes = 5000;
  std::size_t route_count_ = 0;
  bool routes_aborted_ = false;  // a limit was hit and reported: read no more routes
};

void loader::load(const YAML::Node& root) {
  if (root.IsDefined() && !root.IsNull() && !root.IsMap()) {
    w_.type_error(root, file_name_, "a map at the top level");
    return;
  }
  std::string log_level;
  std::string log_format;
  std::int64_t throttle_period = 0;
  std::int64_t max_event_age = 0;
  YAML::Node throttle_node;
  YAML::Node prefix_node;
  bool prefix_set = false;
  bool prefix_bad = false;
  double qps = 0;
  std::int64_t burst = 0;
  std::int64_t cache_size = 0;

  w_.walk_map(
      root, "",
      {
          {"logLevel",
           [&](const YAML::Node& v, const std::string& p) {
             if (!w_.read_string(v, p, log_level)) {
               return;
             }
             const std::string l = lower(log_level);
             if (!log_level.empty() && !contains(log_levels, l)) {
               w_.error(v, p,
                        "invalid log level " + in_quotes(log_level) + " (expected one of " +
                            join(log_levels, ", ") + ")");
               log_level.clear();
             } else {
               log_level = l;
             }
           }},
          {"logFormat",
           [&](const YAML::Node& v, const std::string& p) {
             if (!w_.read_string(v, p, log_format)) {
               return;
             }
             if (!log_format.empty() && log_format != "json" && log_format != "pretty") {
               w_.error(
                   v, p,
                   "invalid log format " + in_quotes(log_format) + " (expected json or pretty)");
               log_format.clear();
             }
           }},
          {"throttlePeriod",
           [&](const YAML::Node& v, const std::string& p) {
             throttle_node = v;
             w_.read_int(v, p, throttle_period, 0, INT64_MAX);
           }},
          {"maxEventAgeSeconds",
           [&](const YAML::Node& v, const std::string& p) {
             w_.read_int(v, p, max_event_age, 0, INT64_MAX);
           }},
          str("clusterName", cfg_.cluster_name),
          str("namespace", cfg_.namespace_),
          {"leaderElection",
           [&](const YAML::Node& v, const std::string& p) {
             w_.walk_map(v, p,
                         {boolean("enabled", cfg_.leader_election_.enabled),
                          str("leaderElectionID", cfg_.leader_election_.leader_election_id)});
           }},
          {"route",
           [&](const YAML::Node& v, const std::string& p) { parse_route(v, p, cfg_.route_); }},
          {"receivers", [&](const YAML::Node& v, const std::string& p) { parse_receivers(v, p); }},
          {"kubeQPS",
           [&](const YAML::Node& v, const std::string& p) {
             if (w_.read_double(v, p, qps) && qps < 0) {
               w_.error(v, p, "must not be negative");
               qps = 0;
             }
           }},
          {"kubeBurst", [&](const YAML::Node& v,
                            const std::string& p) { w_.read_int(v, p, burst, 0, INT_MAX); }},
          {"metricsNamePrefix",
           [&](const YAML::Node& v, const std::string& p) {
             prefix_node = v;
             prefix_set = true;
             if (!w_.read_string(v, p, cfg_.metrics_name_prefix)) {
               prefix_bad = true;
             } else if (!cfg_.metrics_name_prefix.empty() &&
                        !valid_metrics_prefix(cfg_.metrics_name_prefix)) {
               w_.error(v, p,
                        "invalid value " + in_quotes(cfg_.metrics_name_prefix) +
                            ": must match ^[a-zA-Z][a-zA-Z0-9_:]*_$ (e.g. event_exporter_)");
               cfg_.metrics_name_prefix.clear();
               prefix_bad = true;
             }
           }},
          boolean("omitLookup", cfg_.omit_lookup),
          {"cacheSize", [&](const YAML::Node& v,
                            const std::string& p) { w_.read_int(v, p, cache_size, 0, INT_MAX); }},
      });

  // Defaults and cross-field rules (resmoio main.go / config.go).
  cfg_.log_level = log_level.empty() ? "info" : log_level;
  cfg_.log_format = log_format;
  if (throttle_period != 0 && max_event_age != 0) {
    w_.error(throttle_node, "throttlePeriod",
             "cannot set both throttlePeriod (deprecated) and maxEventAgeSeconds");
    cfg_.max_event_age_seconds = max_event_age;
  } else if (throttle_period != 0) {
    w_.warn(throttle_node, "throttlePeriod",
            "deprecated, use maxEventAgeSeconds instead (maxEventAgeSeconds=" +
                std::to_string(throttle_period) + ")");
    cfg_.max_event_age_seconds = throttle_period;
  } else {
    cfg_.max_event_age_seconds = max_event_age == 0 ? 5 : max_event_age;
  }
  cfg_.kube_qps = qps == 0 ? 5 : qps;
  cfg_.kube_burst = burst == 0 ? 10 : static_cast<int>(burst);
  cfg_.cache_size = cache_size == 0 ? 1024 : static_cast<int>(cache_size);
  if (cfg_.leader_election_.leader_election_id.empty()) {
    cfg_.leader_election_.leader_election_id = "kubernetes-event-exporter";
  }
  if (cfg_.metrics_name_prefix.empty() && !prefix_bad) {
    const std::string message = "setting config.metricsNamePrefix='event_exporter_' is recommended";
    if (prefix_set) {
      w_.warn(prefix_node, "metricsNamePrefix", message);
    } else {
      w_.add_last(diagnostic::level::warning, "metricsNamePrefix", message);
    }
  }
  if (cfg_.route_.path.empty()) {
    cfg_.route_.path = "route";
  }
  check_receiver_refs();
}

void loader::check_regex(const YAML::Node& at, const std::string& path,
                         const std::string& pattern) {
  if (pattern.empty()) {
    return;
  }
  RE2 re(pattern, RE2::Quiet);
  if (!re.ok()) {
    std::string message =
        "invalid regular expression " + in_quotes(pattern) + ": " + regexp_error_text(re);
    if (!re.error_arg().empty()) {
      message += ": " + re.error_arg();
    }
    w_.error(at, path, std::move(message));
  }
}

void loader::parse_route(const YAML::Node& n, const std::string& path, route& r, int depth) {
  r.path = path;
  if (routes_aborted_) {
    return;
  }
  if (depth > yaml_walker::max_depth) {
    routes_aborted_ = true;
    w_.error(n, path,
             "routes nested too deeply (more than " + std::to_string(yaml_walker::max_depth) +
                 " levels)");
    return;
  }
  if (++route_count_ > max_routes) {
    routes_aborted_ = true;
    w_.error(n, path, "too many routes (more than " + std::to_string(max_routes) + ")");
    return;
  }
  w_.walk_map(
      n, path,
      {
          {"drop",
           [&](const YAML::Node& v, const std::string& p) { parse_rules(v, p, r.drop, true); }},
          {"match",
           [&](const YAML::Node& v, const std::string& p) { parse_rules(v, p, r.match, false); }},
          {"routes",
           [&](const YAML::Node& v, const std::string& p) {
             if (v.IsNull()) {
               return;
             }
             if (!v.IsSequence()) {
               w_.type_error(v, p, "a list of routes");
               return;
             }
             for (std::size_t i = 0; i < v.size(); ++i) {
               route child;
               parse_route(v[i], index_path(p, i), child, depth + 1);
               r.routes.push_back(std::move(child));
             }
           }},
      },
      [&](const map_entry& e, const std::string& p) {
        if (e.key == "receivers") {
          w_.warn(e.key_node, child_path(p, e.key),
                  "receivers must be a top-level key, not inside a route (check the "
                  "indentation); ignored");
          return true;
        }
        if (contains(rule_keys, e.key)) {
          w_.warn(e.key_node, child_path(p, e.key),
                  "\"" + e.key +
                      "\" is a rule key, not a route key: rules go in a match or drop list, "
                      "e.g. match: [{" +
                      e.key + ": ...}]; ignored");
          return true;
        }
        return false;
      });
}

void loader::parse_rules(const YAML::Node& n, const std::string& path, std::vector<rule>& out,
                         bool drop) {
  if (n.IsNull()) {
    return;
  }
  if (!n.IsSequence()) {
    w_.type_error(n, path, "a list of rules");
    return;
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    rule r;
    parse_rule(n[i], index_path(path, i), r, drop);
    out.push_back(std::move(r));
  }
}

void loader::parse_rule(const YAML::Node& n, const std::string& path, rule& r, bool drop) {
  r.path = path;
  const auto pattern = [this](std::string_view key, std::string& out) {
    return field{key, [this, &out](const YAML::Node& v, const std::string& p) {
                   if (w_.read_string(v, p, out)) {
                     check_regex(v, p, out);
                   }
                 }};
  };
  const auto pattern_map = [this](std::string_view key, string_pairs& out) {
    return field{key, [this, &out](const YAML::Node& v, const std::string& p) {
                   if (w_.read_string_map(v, p, out)) {
                     for (const auto& [k, value] : out) {
                       check_regex(v, child_path(p, k), value);
                     }
                   }
                 }};
  };
  YAML::Node receiver_node;
  w_.walk_map(
      n, path,
      {
          pattern("message", r.message),
          pattern("apiVersion", r.api_version),
          pattern("kind", r.kind),
          pattern("namespace", r.namespace_),
          pattern("reason", r.reason),
          pattern("type", r.type),
          pattern("component", r.component),
          pattern("host", r.host),
          pattern_map("labels", r.labels),
          pattern_map("annotations", r.annotations),
          integer("minCount", r.min_count, INT32_MIN, INT32_MAX),
          {"receiver",
           [&](const YAML::Node& v, const std::string& p) {
             receiver_node = v;
             w_.read_string(v, p, r.receiver);
           }},
      },
      [&](const map_entry& e, const std::string& p) {
        if (e.key == "drop" && !drop) {
          w_.warn(e.key_node, child_path(p, e.key),
                  "\"drop\" inside a match rule is ignored, so this rule matches as if it were "
                  "absent (resmoio #232); put drop: next to match:, at the route level");
          return true;
        }
        if (e.key == "match" || e.key == "routes" || e.key == "drop") {
          w_.warn(
              e.key_node, child_path(p, e.key),
              "\"" + e.key + "\" is a route key, not a rule key; ignored (check the indentation)");
          return true;
        }
        return false;
      });
  if (drop) {
    if (!r.receiver.empty()) {
      w_.warn(receiver_node, child_path(path, "receiver"), "has no effect in a drop rule");
    }
    const bool empty = r.message.empty() && r.api_version.empty() && r.kind.empty() &&
                       r.namespace_.empty() && r.reason.empty() && r.type.empty() &&
                       r.component.empty() && r.host.empty() && r.labels.empty() &&
                       r.annotations.empty() && r.min_count == 0;
    if (empty) {
      w_.warn(n, path, "drop rule without conditions drops every event reaching this route");
    }
  } else if (!r.receiver.empty()) {
    refs_.push_back({r.receiver, child_path(path, "receiver"), receiver_node});
  }
}

void loader::parse_receivers(const YAML::Node& n, const std::string& path) {
  if (n.IsNull()) {
    return;
  }
  if (!n.IsSequence()) {
    w_.type_error(n, path, "a list of receivers");
    return;
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    parse_receiver(n[i], index_path(path, i));
  }
}

void loader::parse_receiver(const YAML::Node& n, const std::string& path) {
  receiver r;
  r.path = path;
  if (!n.IsMap()) {
    w_.type_error(n, path, "a receiver (a map with a name and one sink)");
    return;
  }
  bool has_name = false;
  YAML::Node name_node;
  std::vector<found_sink> sinks;
  std::vector<field> fields = {
      {"name",
       [&](const YAML::Node& v, const std::string& p) {
         has_name = true;
         name_node = v;
         w_.read_string(v, p, r.name);
       }},
      {"queue", [&](const YAML::Node& v, const std::string& p) { parse_queue(v, p, r.queue_); }},
  };
  const auto add_sink_field = [&](std::string_view kind) {
    fields.push_back({kind, [&, kind](const YAML::Node& v, const std::string& p) {
                        sinks.push_back({kind, p, v, parse_sink(kind, v, p)});
                      }});
  };
  for (auto k : implemented_sinks) {
    add_sink_field(k);
  }
  for (auto k : unsupported_sinks) {
    add_sink_field(k);
  }
  w_.walk_map(n, path, fields);

  if (!has_name) {
    w_.error(n, child_path(path, "name"), "required");
  } else if (r.name.empty()) {
    w_.error(name_node, child_path(path, "name"), "must not be empty");
  } else {
    auto [it, inserted] = receiver_paths_.emplace(r.name, path);
    if (!inserted) {
      w_.error(
          name_node, child_path(path, "name"),
          "duplicate receiver name " + in_quotes(r.name) + " (also defined at " + it->second + ")");
    }
  }
  if (sinks.empty()) {
    w_.error(n, path,
             "no sink configured (expected one of " + join(implemented_sinks, ", ") +
                 "; other resmoio sinks are accepted but not implemented)");
  } else if (sinks.size() > 1) {
    std::string names;
    for (std::size_t i = 0; i < sinks.size(); ++i) {
      names += (i == 0 ? "" : i + 1 == sinks.size() ? " and " : ", ");
      names += sinks[i].kind;
    }
    w_.error(n, path, "more than one sink configured: " + names + " (a receiver has exactly one)");
  }
  for (const auto& s : sinks) {
    if (std::holds_alternative<unsupported_sink>(s.value)) {
      w_.warn(s.node.IsNull() ? n : s.node, s.path,
              "sink not implemented by kube-event-exporter; records routed to " +
                  in_quotes(r.name) + " are dropped and counted");
    }
  }
  if (!sinks.empty()) {
    r.sink_ = std::move(sinks.front().value);
  }
  cfg_.receivers.push_back(std::move(r));
}

sink loader::parse_sink(std::string_view kind, const YAML::Node& n, const std::string& path) {
  if (kind == "stdout") {
    return parse_stdout(n, path);
  }
  if (kind == "file") {
    return parse_file(n, path);
  }
  if (kind == "loki") {
    return parse_loki(n, path);
  }
  if (kind == "webhook") {
    return parse_webhook(n, path);
  }
  return unsupported_sink{std::string(kind)};
}

void loader::parse_layout(const YAML::Node& n, const std::string& path, layout& out) {
  if (n.IsNull()) {
    out.reset();
    return;
  }
  if (!n.IsMap()) {
    w_.type_error(n, path, "a map (or null for the full event JSON)");
    return;
  }
  out = w_.read_json(n, path);
}

void loader::parse_tls(const YAML::Node& n, const std::string& path, tls& out) {
  w_.walk_map(
      n, path,
      {boolean("insecureSkipVerify", out.insecure_skip_verify), str("serverName", out.server_name),
       str("caFile", out.ca_file), str("certFile", out.cert_file), str("keyFile", out.key_file)});
  if (out.cert_file.empty() != out.key_file.empty()) {
    w_.error(n, path, "certFile and keyFile must be set together");
  }
}

void loader::parse_queue(const YAML::Node& n, const std::string& path, queue& out) {
  w_.walk_map(n, path,
              {integer("maxRecords", out.max_records, 1, INT64_MAX),
               {"onFull", [&](const YAML::Node& v, const std::string& p) {
                  std::string s;
                  if (!w_.read_string(v, p, s) || s.empty()) {
                    return;
                  }
                  if (s == "block") {
                    out.on_full = overflow_policy::block;
                  } else if (s == "drop") {
                    out.on_full = overflow_policy::drop;
                  } else {
                    w_.error(v, p, "invalid value " + in_quotes(s) + " (expected block or drop)");
                  }
                }}});
}

stdout_sink loader::parse_stdout(const YAML::Node& n, const std::string& path) {
  stdout_sink s;
  w_.walk_map(
      n, path,
      {boolean("deDot", s.de_dot), {"layout", [&](const YAML::Node& v, const std::string& p) {
                                      parse_layout(v, p, s.layout_);
                                    }}});
  return s;
}

file_sink loader::parse_file(const YAML::Node& n, const std::string& path) {
  file_sink s;
  w_.walk_map(n, path,
              {str("path", s.path),
               {"layout",
                [&](const YAML::Node& v, const std::string& p) { parse_layout(v, p, s.layout_); }},
               boolean("deDot", s.de_dot),
               integer("maxsize", s.max_size_mb, 0, INT_MAX),
               integer("maxage", s.max_age_days, 0, INT_MAX),
               integer("maxbackups", s.max_backups, 0, INT_MAX)});
  if (s.path.empty()) {
    w_.error(n, child_path(path, "path"), "required (the file to write, e.g. /dev/stdout)");
  }
  return s;
}

loki_sink loader::parse_loki(const YAML::Node& n, const std::string& path) {
  loki_sink s;
  YAML::Node url_node;
  YAML::Node gzip_node;
  YAML::Node backoff_node;
  YAML::Node timeout_node;
  YAML::Node batch_size_node;
  YAML::Node bearer_node;
  bool encoding_set = false;
  // Keeps the value node of a field, to place cross-field diagnostics at it.
  const auto remember = [](field f, YAML::Node& slot) {
    return field{f.key,
                 [read = std::move(f.read), &slot](const YAML::Node& v, const std::string& p) {
                   slot = v;
                   read(v, p);
                 }};
  };
  w_.walk_map(
      n, path,
      {
          {"url",
           [&](const YAML::Node& v, const std::string& p) {
             url_node = v;
             w_.read_string(v, p, s.url);
           }},
          {"streamLabels",
           [&](const YAML::Node& v, const std::string& p) {
             if (!w_.read_string_map(v, p, s.stream_labels)) {
               return;
             }
             for (const auto& [k, value] : s.stream_labels) {
               if (!valid_loki_label_name(k)) {
                 w_.error(v, child_path(p, k),
                          "invalid Loki label name " + in_quotes(k) +
                              " (must match [a-zA-Z_][a-zA-Z0-9_]*)");
               }
             }
           }},
          string_map("headers", s.headers),
          {"layout",
           [&](const YAML::Node& v, const std::string& p) { parse_layout(v, p, s.layout_); }},
          {"tls", [&](const YAML::Node& v, const std::string& p) { parse_tls(v, p, s.tls_); }},
          str("tenant", s.tenant),
          {"basicAuth",
           [&](const YAML::Node& v, const std::string& p) {
             auto& b = s.basic_auth_;
             w_.walk_map(v, p,
                         {str("username", b.username), str("password", b.password),
                          str("passwordFile", b.password_file)});
             if (!b.password.empty() && !b.password_file.empty()) {
               w_.error(v, p, "set password or passwordFile, not both");
             }
             if (b.username.empty() && (!b.password.empty() || !b.password_file.empty())) {
               w_.error(v, child_path(p, "username"), "required when a password is set");
             }
           }},
          remember(str("bearerToken", s.bearer_token), bearer_node),
          str("bearerTokenFile", s.bearer_token_file),
          {"encoding",
           [&](const YAML::Node& v, const std::string& p) {
             std::string e;
             if (!w_.read_string(v, p, e) || e.empty()) {
               return;
             }
             encoding_set = true;
             if (e == "protobuf") {
               s.encoding = loki_encoding::protobuf;
             } else if (e == "json") {
               s.encoding = loki_encoding::json;
             } else {
               w_.error(v, p, "invalid encoding " + in_quotes(e) + " (expected protobuf or json)");
             }
           }},
          {"gzip",
           [&](const YAML::Node& v, const std::string& p) {
             gzip_node = v;
             w_.read_bool(v, p, s.gzip);
           }},
          duration("batchWait", s.batch_wait),
          remember(byte_size("batchSize", s.batch_size), batch_size_node),
          remember(duration("timeout", s.timeout), timeout_node),
          {"minBackoff",
           [&](const YAML::Node& v, const std::string& p) {
             backoff_node = v;
             w_.read_duration(v, p, s.min_backoff);
           }},
          duration("maxBackoff", s.max_backoff),
          integer("maxRetries", s.max_retries, 0, INT_MAX),
          {"labels",
           [&](const YAML::Node& v, const std::string& p) { w_.read_string_list(v, p, s.labels); }},
          {"structuredMetadata",
           [&](const YAML::Node& v, const std::string& p) {
             w_.read_string_list(v, p, s.structured_metadata);
           }},
          byte_size("maxLineSize", s.max_line_size),
          {"maxLineSizePolicy",
           [&](const YAML::Node& v, const std::string& p) {
             std::string e;
             if (!w_.read_string(v, p, e) || e.empty()) {
               return;
             }
             if (e == "truncate") {
               s.on_line_too_long = line_too_long::truncate;
             } else if (e == "drop") {
               s.on_line_too_long = line_too_long::drop;
             } else {
               w_.error(v, p, "invalid value " + in_quotes(e) + " (expected truncate or drop)");
             }
           }},
          byte_size("maxQueuedBytes", s.max_queued_bytes),
          {"spool",
           [&](const YAML::Node& v, const std::string& p) {
             w_.walk_map(v, p,
                         {str("dir", s.spool_.dir), byte_size("maxBytes", s.spool_.max_bytes)});
           }},
      });
  if (s.url.empty()) {
    w_.error(url_node.IsDefined() && !url_node.IsNull() ? url_node : n, child_path(path, "url"),
             "required (e.g. http://loki:3100/loki/api/v1/push)");
  } else if (!is_http_url(s.url)) {
    w_.error(url_node, child_path(path, "url"),
             "invalid URL " + in_quotes(s.url) + " (expected http:// or https://)");
  }
  if (!s.bearer_token.empty() && !s.bearer_token_file.empty()) {
    w_.error(bearer_node, child_path(path, "bearerToken"),
             "set bearerToken or bearerTokenFile, not both");
  }
  if ((!s.bearer_token.empty() || !s.bearer_token_file.empty()) &&
      !s.basic_auth_.username.empty()) {
    w_.error(bearer_node.IsDefined() && !bearer_node.IsNull() ? bearer_node : n, path,
             "set basicAuth or a bearer token, not both");
  }
  if (s.min_backoff > s.max_backoff) {
    w_.error(backoff_node, child_path(path, "minBackoff"), "must not be larger than maxBackoff");
  }
  if (s.timeout.count() == 0) {
    w_.error(timeout_node, child_path(path, "timeout"), "must be larger than 0");
  }
  if (s.batch_size == 0) {
    w_.error(batch_size_node, child_path(path, "batchSize"), "must be larger than 0");
  }
  if (s.gzip && s.encoding == loki_encoding::protobuf) {
    w_.warn(gzip_node, child_path(path, "gzip"),
            std::string("applies to encoding: json only (protobuf is snappy-compressed); ignored") +
                (encoding_set ? "" : " - set encoding: json to use it"));
  }
  if (s.stream_labels.empty() && s.labels.empty()) {
    w_.warn(n, path,
            "no streamLabels or labels: Loki rejects streams without labels; add e.g. "
            "streamLabels: {job: kubernetes-event}");
  }
  return s;
}

webhook_sink loader::parse_webhook(const YAML::Node& n, const std::string& path) {
  webhook_sink s;
  YAML::Node endpoint_node;
  w_.walk_map(
      n, path,
      {{"endpoint",
        [&](const YAML::Node& v, const std::string& p) {
          endpoint_node = v;
          w_.read_string(v, p, s.endpoint);
        }},
       string_map("headers", s.headers),
       {"layout",
        [&](const YAML::Node& v, const std::string& p) { parse_layout(v, p, s.layout_); }},
       {"tls", [&](const YAML::Node& v, const std::string& p) { parse_tls(v, p, s.tls_); }}});
  if (s.endpoint.empty()) {
    w_.error(endpoint_node.IsDefined() && !endpoint_node.IsNull() ? endpoint_node : n,
             child_path(path, "endpoint"), "required (the URL to POST to)");
  } else if (!is_http_url(s.endpoint)) {
    w_.error(endpoint_node, child_path(path, "endpoint"),
             "invalid URL " + in_quotes(s.endpoint) + " (expected http:// or https://)");
  }
  return s;
}

void loader::check_receiver_refs() {
  for (const auto& ref : refs_) {
    if (receiver_paths_.count(ref.name) != 0) {
      continue;
    }
    std::string message = "undefined receiver " + in_quotes(ref.name);
    std::vector<std::string_view> names;
    for (const auto& [name, p] : receiver_paths_) {
      names.push_back(name);
    }
    if (auto best = detail::closest_key(ref.name, names)) {
      message += ", did you mean " + in_quotes(*best) + "?";
    } else if (names.empty()) {
      message += " (no receivers are defined)";
    } else {
      message += " (defined:";
      for (std::size_t i = 0; i < names.size(); ++i) {
        message += (i == 0 ? " " : ", ") + in_quotes(names[i]);
      }
      message += ")";
    }
    w_.error(ref.node, ref.path, std::move(message));
  }
}

diagnostic syntax_error(const YAML::Exception& e, std::string_view file_name,
                        const std::string& text) {
  std::string path(file_name);
  std::string line_text;
  if (e.mark.line >= 0) {
    path += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    std::istringstream in(text);
    std::string line;
    for (int i = 0; std::getline(in, line); ++i) {
      if (i == e.mark.line) {
        line_text = line;
        break;
      }
    }
  }
  std::string message = "invalid YAML: " + e.msg;
  if (!line_text.empty()) {
    std::string shown = line_text;
    if (!shown.empty() && shown.back() == '\r') {
      shown.pop_back();
    }
    if (shown.size() > 120) {
      shown = shown.substr(0, 117) + "...";
    }
    message += " in line " + in_quotes(shown);
  }
  if (line_text.find("{{") != std::string::npos) {
    message += ". ";
    message += quoting_hint;
  }
  return diagnostic{diagnostic::level::error, std::move(path), std::move(message)};
}

std::optional<std::string> process_env(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  if (v == nullptr) {
    return std::nullopt;
  }
  return std::string(v);
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

std::string expand_env(std::string_view text) { return expand_env(text, process_env); }

load_result load_string(std::string_view yaml_text, std::string_view file_name,
                        const env_lookup& lookup) {
  load_result result;
  try {
    const std::string text = expand_env(yaml_text, lookup);
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      result.problems.push_back(syntax_error(e, file_name, text));
      return result;
    }
    loader l(text, std::string(file_name));
    l.load(root);
    result.cfg = std::move(l.cfg());
    result.problems = l.finish();
  } catch (const std::exception& e) {
    result.problems.push_back(
        {diagnostic::level::error, std::string(file_name),
         std::string("internal error while reading the configuration: ") + e.what()});
  }
  return result;
}

load_result load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    load_result result;
    result.problems.push_back({diagnostic::level::error, path,
                               std::string("cannot read config file: ") + std::strerror(errno)});
    return result;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    load_result result;
    result.problems.push_back({diagnostic::level::error, path, "cannot read config file"});
    return result;
  }
  return load_string(buf.str(), path, process_env);
}

}  // namespace ke::config
