// redacted_json: the loaded config as JSON with resmoio key names, secrets replaced.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

#include "config/loader.hpp"

namespace ke::config {

namespace {

using ordered = nlohmann::ordered_json;

constexpr const char* redacted = "<redacted>";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

// Durations are shown the way they can be written back: "5m" style units are not needed.
std::string format_duration(milliseconds d) {
  if (d.count() != 0 && d.count() % 1000 == 0) {
    return std::to_string(d.count() / 1000) + "s";
  }
  return std::to_string(d.count()) + "ms";
}

ordered pairs_json(const string_pairs& p) {
  ordered out = ordered::object();
  for (const auto& [k, v] : p) {
    out[k] = v;
  }
  return out;
}

ordered layout_json(const layout& l) {
  if (!l) {
    return nullptr;
  }
  return ordered::parse(l->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

ordered rule_json(const rule& r) {
  ordered out = ordered::object();
  const auto put = [&](const char* key, const std::string& v) {
    if (!v.empty()) {
      out[key] = v;
    }
  };
  put("message", r.message);
  put("apiVersion", r.api_version);
  put("kind", r.kind);
  put("namespace", r.namespace_);
  put("reason", r.reason);
  put("type", r.type);
  put("component", r.component);
  put("host", r.host);
  if (!r.labels.empty()) {
    out["labels"] = pairs_json(r.labels);
  }
  if (!r.annotations.empty()) {
    out["annotations"] = pairs_json(r.annotations);
  }
  if (r.min_count != 0) {
    out["minCount"] = r.min_count;
  }
  put("receiver", r.receiver);
  return out;
}

ordered route_json(const route& r) {
  ordered out = ordered::object();
  if (!r.drop.empty()) {
    out["drop"] = ordered::array();
    for (const auto& x : r.drop) {
      out["drop"].push_back(rule_json(x));
    }
  }
  if (!r.match.empty()) {
    out["match"] = ordered::array();
    for (const auto& x : r.match) {
      out["match"].push_back(rule_json(x));
    }
  }
  if (!r.routes.empty()) {
    out["routes"] = ordered::array();
    for (const auto& x : r.routes) {
      out["routes"].push_back(route_json(x));
    }
  }
  return out;
}

ordered tls_json(const tls& t) {
  return ordered{{"insecureSkipVerify", t.insecure_skip_verify},
                 {"serverName", t.server_name},
                 {"caFile", t.ca_file},
                 {"certFile", t.cert_file},
                 {"keyFile", t.key_file}};
}

std::pair<std::string, ordered> sink_json(const sink& s) {
  return std::visit(
      [](const auto& v) -> std::pair<std::string, ordered> {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, stdout_sink>) {
          return {"stdout", ordered{{"deDot", v.de_dot}, {"layout", layout_json(v.layout)}}};
        } else if constexpr (std::is_same_v<T, file_sink>) {
          return {"file", ordered{{"path", v.path},
                                  {"layout", layout_json(v.layout)},
                                  {"deDot", v.de_dot},
                                  {"maxsize", v.max_size_mb},
                                  {"maxage", v.max_age_days},
                                  {"maxbackups", v.max_backups}}};
        } else if constexpr (std::is_same_v<T, loki_sink>) {
          ordered o = ordered::object();
          o["url"] = v.url;
          o["streamLabels"] = pairs_json(v.stream_labels);
          o["headers"] = pairs_json(v.headers);
          o["layout"] = layout_json(v.layout);
          o["tls"] = tls_json(v.tls);
          o["tenant"] = v.tenant;
          o["basicAuth"] = ordered{{"username", v.basic_auth.username},
                                   {"password", v.basic_auth.password},
                                   {"passwordFile", v.basic_auth.password_file}};
          o["bearerToken"] = v.bearer_token;
          o["bearerTokenFile"] = v.bearer_token_file;
          o["encoding"] = v.encoding == loki_encoding::json ? "json" : "protobuf";
          o["gzip"] = v.gzip;
          o["batchWait"] = format_duration(v.batch_wait);
          o["batchSize"] = v.batch_size;
          o["timeout"] = format_duration(v.timeout);
          o["minBackoff"] = format_duration(v.min_backoff);
          o["maxBackoff"] = format_duration(v.max_backoff);
          o["maxRetries"] = v.max_retries;
          o["maxRetryDuration"] = format_duration(v.max_retry_duration);
          o["labels"] = v.labels;
          o["structuredMetadata"] = v.structured_metadata;
          o["maxLineSize"] = v.max_line_size;
          o["maxLineSizePolicy"] = v.on_line_too_long == line_too_long::drop ? "drop" : "truncate";
          o["maxQueuedBytes"] = v.max_queued_bytes;
          o["spool"] = ordered{{"dir", v.spool.dir},
                               {"maxBytes", v.spool.max_bytes},
                               {"deadLetterMaxBytes", v.spool.dead_letter_max_bytes}};
          return {"loki", std::move(o)};
        } else if constexpr (std::is_same_v<T, webhook_sink>) {
          return {"webhook", ordered{{"endpoint", v.endpoint},
                                     {"headers", pairs_json(v.headers)},
                                     {"layout", layout_json(v.layout)},
                                     {"tls", tls_json(v.tls)}}};
        } else {
          return {v.kind, ordered::object()};
        }
      },
      s);
}

bool is_secret_key(std::string_view key) {
  const std::string k = lower(key);
  const bool file_path = k.size() >= 4 && k.compare(k.size() - 4, 4, "file") == 0;
  return !file_path &&
         (k.find("token") != std::string::npos || k.find("password") != std::string::npos ||
          k.find("secret") != std::string::npos);
}

// "https://user:pass@host/..." -> "https://<redacted>@host/...".
std::string redact_userinfo(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) {
    return url;
  }
  const auto start = scheme + 3;
  const auto end = url.find_first_of("/?#", start);
  const auto at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < start) {
    return url;
  }
  return url.substr(0, start) + redacted + url.substr(at);
}

void redact(ordered& node) {
  if (node.is_array()) {
    for (auto& x : node) {
      redact(x);
    }
    return;
  }
  if (!node.is_object()) {
    return;
  }
  for (auto& [key, value] : node.items()) {
    if (key == "headers" && value.is_object()) {
      for (auto& [h, v] : value.items()) {
        v = redacted;
      }
    } else if (is_secret_key(key) && !value.is_null() &&
               !(value.is_string() && value.get_ref<const std::string&>().empty())) {
      value = redacted;
    } else if ((key == "url" || key == "endpoint") && value.is_string()) {
      value = redact_userinfo(value.get<std::string>());
    } else {
      redact(value);
    }
  }
}

}  // namespace

std::string redacted_json(const config& cfg) {
  ordered out = ordered::object();
  out["logLevel"] = cfg.log_level;
  out["logFormat"] = cfg.log_format;
  out["maxEventAgeSeconds"] = cfg.max_event_age_seconds;
  out["clusterName"] = cfg.cluster_name;
  out["namespace"] = cfg.namespace_;
  out["leaderElection"] = ordered{{"enabled", cfg.leader_election.enabled},
                                  {"leaderElectionID", cfg.leader_election.leader_election_id}};
  if (cfg.checkpoint.enabled()) {
    const auto& c = cfg.checkpoint;
    out["checkpoint"] = ordered{{"file", c.file},
                                {"configMap", c.config_map},
                                {"namespace", c.namespace_},
                                {"interval", std::to_string(c.interval.count()) + "ms"},
                                {"maxEntries", c.max_entries}};
  }
  out["route"] = route_json(cfg.route);
  out["receivers"] = ordered::array();
  for (const auto& r : cfg.receivers) {
    ordered o = ordered::object();
    o["name"] = r.name;
    auto [kind, body] = sink_json(r.sink);
    o[kind] = std::move(body);
    o["queue"] = ordered{{"maxRecords", r.queue.max_records},
                         {"onFull", r.queue.on_full == overflow_policy::drop ? "drop" : "block"}};
    out["receivers"].push_back(std::move(o));
  }
  out["kubeQPS"] = cfg.kube_qps;
  out["kubeBurst"] = cfg.kube_burst;
  out["metricsNamePrefix"] = cfg.metrics_name_prefix;
  out["omitLookup"] = cfg.omit_lookup;
  out["cacheSize"] = cfg.cache_size;
  out["eventsAPIVersion"] = cfg.events_api_version;
  out["exportRepeatedEvents"] = cfg.export_repeated_events;
  redact(out);
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ke::config
