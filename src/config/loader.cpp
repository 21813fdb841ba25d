#include "config/loader.hpp"

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

#include "config/defaults.hpp"
#include "config/ingest.hpp"
#include "config/sinks.hpp"
#include "config/yaml_walk.hpp"

namespace ke::config {

namespace {

using detail::child_path;
using detail::field;
using detail::implemented_sinks;
using detail::in_quotes;
using detail::index_path;
using detail::lower;
using detail::map_entry;
using detail::unsupported_sinks;
using detail::yaml_walker;

constexpr std::string_view quoting_hint = "Need to wrap values with special characters in quotes";

constexpr std::array<std::string_view, 8> log_levels = {"trace", "debug", "info",  "warn",
                                                        "error", "fatal", "panic", "disabled"};

constexpr std::array<std::string_view, 12> rule_keys = {
    "message",   "apiVersion", "kind",   "namespace",   "reason",   "type",
    "component", "host",       "labels", "annotations", "minCount", "receiver"};

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
  void check_receiver_refs();

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
          w_.string_field("clusterName", cfg_.cluster_name),
          w_.string_field("namespace", cfg_.namespace_),
          {"leaderElection",
           [&](const YAML::Node& v, const std::string& p) {
             w_.walk_map(
                 v, p,
                 {w_.bool_field("enabled", cfg_.leader_election.enabled),
                  w_.string_field("leaderElectionID", cfg_.leader_election.leader_election_id)});
           }},
          {"checkpoint",
           [&](const YAML::Node& v, const std::string& p) {
             auto& c = cfg_.checkpoint;
             w_.walk_map(
                 v, p,
                 {w_.string_field("file", c.file), w_.string_field("configMap", c.config_map),
                  w_.string_field("namespace", c.namespace_),
                  w_.duration_field("interval", c.interval),
                  w_.int_field("maxEntries", c.max_entries, 100, 1000000)});
             if (!c.file.empty() && !c.config_map.empty()) {
               w_.error(v, p, "set either file or configMap, not both");
             }
             if (c.interval <= std::chrono::milliseconds(0)) {
               w_.error(v, p + ".interval", "must be positive");
               c.interval = std::chrono::milliseconds(1000);
             }
           }},
          {"route",
           [&](const YAML::Node& v, const std::string& p) { parse_route(v, p, cfg_.route); }},
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
          w_.bool_field("omitLookup", cfg_.omit_lookup),
          {"cacheSize", [&](const YAML::Node& v,
                            const std::string& p) { w_.read_int(v, p, cache_size, 0, INT_MAX); }},
          // Additions for the Kubernetes watch.
          {"eventsAPIVersion",
           [&](const YAML::Node& v, const std::string& p) {
             std::string api;
             if (!w_.read_string(v, p, api) || api.empty()) {
               return;
             }
             if (api != "v1" && api != "events.k8s.io/v1") {
               w_.error(v, p,
                        "invalid value " + in_quotes(api) +
                            " (expected v1 (core/v1 Events) or events.k8s.io/v1)");
               return;
             }
             cfg_.events_api_version = api;
           }},
          w_.bool_field("exportRepeatedEvents", cfg_.export_repeated_events),
          // kube-bench ingest.
          {"ingest", [&](const YAML::Node& v,
                         const std::string& p) { detail::parse_ingest(w_, v, p, cfg_.ingest); }},
          {"kubeBench",
           [&](const YAML::Node& v, const std::string& p) {
             detail::parse_kube_bench(w_, v, p, cfg_.kube_bench);
           }},
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
    cfg_.max_event_age_seconds =
        max_event_age == 0 ? defaults::max_event_age_seconds : max_event_age;
  }
  cfg_.kube_qps = qps == 0 ? defaults::kube_qps : qps;
  cfg_.kube_burst = burst == 0 ? defaults::kube_burst : static_cast<int>(burst);
  cfg_.cache_size = cache_size == 0 ? defaults::cache_size : static_cast<int>(cache_size);
  if (cfg_.leader_election.leader_election_id.empty()) {
    cfg_.leader_election.leader_election_id = defaults::leader_election_id;
  }
  if (cfg_.metrics_name_prefix.empty() && !prefix_bad) {
    const std::string message = "setting config.metricsNamePrefix='event_exporter_' is recommended";
    if (prefix_set) {
      w_.warn(prefix_node, "metricsNamePrefix", message);
    } else {
      w_.add_last(diagnostic::level::warning, "metricsNamePrefix", message);
    }
  }
  if (cfg_.route.path.empty()) {
    cfg_.route.path = "route";
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
          w_.int_field("minCount", r.min_count, INT32_MIN, INT32_MAX),
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
      {"queue",
       [&](const YAML::Node& v, const std::string& p) { detail::parse_queue(w_, v, p, r.queue); }},
  };
  const auto add_sink_field = [&](std::string_view kind) {
    fields.push_back({kind, [&, kind](const YAML::Node& v, const std::string& p) {
                        sinks.push_back({kind, p, v, detail::parse_sink(w_, kind, v, p)});
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
    r.sink = std::move(sinks.front().value);
  }
  cfg_.receivers.push_back(std::move(r));
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
