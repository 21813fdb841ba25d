// The sink keys of a receiver: stdout, file, loki, webhook (and the unimplemented resmoio ones).
#include "config/sinks.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <utility>

namespace ke::config::detail {

namespace {

bool is_alnum_underscore(char c) {
  return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
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

void parse_layout(yaml_walker& w, const YAML::Node& n, const std::string& path, layout& out);
void parse_tls(yaml_walker& w, const YAML::Node& n, const std::string& path, tls& out);
stdout_sink parse_stdout(yaml_walker& w, const YAML::Node& n, const std::string& path);
file_sink parse_file(yaml_walker& w, const YAML::Node& n, const std::string& path);
loki_sink parse_loki(yaml_walker& w, const YAML::Node& n, const std::string& path);
webhook_sink parse_webhook(yaml_walker& w, const YAML::Node& n, const std::string& path);

void parse_layout(yaml_walker& w, const YAML::Node& n, const std::string& path, layout& out) {
  if (n.IsNull()) {
    out.reset();
    return;
  }
  if (!n.IsMap()) {
    w.type_error(n, path, "a map (or null for the full event JSON)");
    return;
  }
  out = w.read_json(n, path);
}

void parse_tls(yaml_walker& w, const YAML::Node& n, const std::string& path, tls& out) {
  w.walk_map(n, path,
             {w.bool_field("insecureSkipVerify", out.insecure_skip_verify),
              w.string_field("serverName", out.server_name), w.string_field("caFile", out.ca_file),
              w.string_field("certFile", out.cert_file), w.string_field("keyFile", out.key_file)});
  if (out.cert_file.empty() != out.key_file.empty()) {
    w.error(n, path, "certFile and keyFile must be set together");
  }
}

stdout_sink parse_stdout(yaml_walker& w, const YAML::Node& n, const std::string& path) {
  stdout_sink s;
  w.walk_map(
      n, path,
      {w.bool_field("deDot", s.de_dot), {"layout", [&](const YAML::Node& v, const std::string& p) {
                                           parse_layout(w, v, p, s.layout);
                                         }}});
  return s;
}

file_sink parse_file(yaml_walker& w, const YAML::Node& n, const std::string& path) {
  file_sink s;
  w.walk_map(n, path,
             {w.string_field("path", s.path),
              {"layout",
               [&](const YAML::Node& v, const std::string& p) { parse_layout(w, v, p, s.layout); }},
              w.bool_field("deDot", s.de_dot),
              w.int_field("maxsize", s.max_size_mb, 0, INT_MAX),
              w.int_field("maxage", s.max_age_days, 0, INT_MAX),
              w.int_field("maxbackups", s.max_backups, 0, INT_MAX)});
  if (s.path.empty()) {
    w.error(n, child_path(path, "path"), "required (the file to write, e.g. /dev/stdout)");
  }
  return s;
}

loki_sink parse_loki(yaml_walker& w, const YAML::Node& n, const std::string& path) {
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
  w.walk_map(
      n, path,
      {
          {"url",
           [&](const YAML::Node& v, const std::string& p) {
             url_node = v;
             w.read_string(v, p, s.url);
           }},
          {"streamLabels",
           [&](const YAML::Node& v, const std::string& p) {
             if (!w.read_string_map(v, p, s.stream_labels)) {
               return;
             }
             for (const auto& [k, value] : s.stream_labels) {
               if (!valid_loki_label_name(k)) {
                 w.error(v, child_path(p, k),
                         "invalid Loki label name " + in_quotes(k) +
                             " (must match [a-zA-Z_][a-zA-Z0-9_]*)");
               }
             }
           }},
          w.string_map_field("headers", s.headers),
          {"layout",
           [&](const YAML::Node& v, const std::string& p) { parse_layout(w, v, p, s.layout); }},
          {"tls", [&](const YAML::Node& v, const std::string& p) { parse_tls(w, v, p, s.tls); }},
          w.string_field("tenant", s.tenant),
          {"basicAuth",
           [&](const YAML::Node& v, const std::string& p) {
             auto& b = s.basic_auth;
             w.walk_map(
                 v, p,
                 {w.string_field("username", b.username), w.string_field("password", b.password),
                  w.string_field("passwordFile", b.password_file)});
             if (!b.password.empty() && !b.password_file.empty()) {
               w.error(v, p, "set password or passwordFile, not both");
             }
             if (b.username.empty() && (!b.password.empty() || !b.password_file.empty())) {
               w.error(v, child_path(p, "username"), "required when a password is set");
             }
           }},
          remember(w.string_field("bearerToken", s.bearer_token), bearer_node),
          w.string_field("bearerTokenFile", s.bearer_token_file),
          {"encoding",
           [&](const YAML::Node& v, const std::string& p) {
             std::string e;
             if (!w.read_string(v, p, e) || e.empty()) {
               return;
             }
             encoding_set = true;
             if (e == "protobuf") {
               s.encoding = loki_encoding::protobuf;
             } else if (e == "json") {
               s.encoding = loki_encoding::json;
             } else {
               w.error(v, p, "invalid encoding " + in_quotes(e) + " (expected protobuf or json)");
             }
           }},
          {"gzip",
           [&](const YAML::Node& v, const std::string& p) {
             gzip_node = v;
             w.read_bool(v, p, s.gzip);
           }},
          w.duration_field("batchWait", s.batch_wait),
          remember(w.byte_size_field("batchSize", s.batch_size), batch_size_node),
          remember(w.duration_field("timeout", s.timeout), timeout_node),
          {"minBackoff",
           [&](const YAML::Node& v, const std::string& p) {
             backoff_node = v;
             w.read_duration(v, p, s.min_backoff);
           }},
          w.duration_field("maxBackoff", s.max_backoff),
          w.int_field("maxRetries", s.max_retries, 0, INT_MAX),
          w.duration_field("maxRetryDuration", s.max_retry_duration),
          {"labels",
           [&](const YAML::Node& v, const std::string& p) { w.read_string_list(v, p, s.labels); }},
          {"structuredMetadata",
           [&](const YAML::Node& v, const std::string& p) {
             w.read_string_list(v, p, s.structured_metadata);
           }},
          w.byte_size_field("maxLineSize", s.max_line_size),
          {"maxLineSizePolicy",
           [&](const YAML::Node& v, const std::string& p) {
             std::string e;
             if (!w.read_string(v, p, e) || e.empty()) {
               return;
             }
             if (e == "truncate") {
               s.on_line_too_long = line_too_long::truncate;
             } else if (e == "drop") {
               s.on_line_too_long = line_too_long::drop;
             } else {
               w.error(v, p, "invalid value " + in_quotes(e) + " (expected truncate or drop)");
             }
           }},
          w.byte_size_field("maxQueuedBytes", s.max_queued_bytes),
          {"spool",
           [&](const YAML::Node& v, const std::string& p) {
             w.walk_map(v, p,
                        {w.string_field("dir", s.spool.dir),
                         w.byte_size_field("maxBytes", s.spool.max_bytes),
                         w.byte_size_field("deadLetterMaxBytes", s.spool.dead_letter_max_bytes)});
           }},
      });
  if (s.url.empty()) {
    w.error(url_node.IsDefined() && !url_node.IsNull() ? url_node : n, child_path(path, "url"),
            "required (e.g. http://loki:3100/loki/api/v1/push)");
  } else if (!is_http_url(s.url)) {
    w.error(url_node, child_path(path, "url"),
            "invalid URL " + in_quotes(s.url) + " (expected http:// or https://)");
  }
  if (!s.bearer_token.empty() && !s.bearer_token_file.empty()) {
    w.error(bearer_node, child_path(path, "bearerToken"),
            "set bearerToken or bearerTokenFile, not both");
  }
  if ((!s.bearer_token.empty() || !s.bearer_token_file.empty()) && !s.basic_auth.username.empty()) {
    w.error(bearer_node.IsDefined() && !bearer_node.IsNull() ? bearer_node : n, path,
            "set basicAuth or a bearer token, not both");
  }
  if (s.min_backoff > s.max_backoff) {
    w.error(backoff_node, child_path(path, "minBackoff"), "must not be larger than maxBackoff");
  }
  if (s.timeout.count() == 0) {
    w.error(timeout_node, child_path(path, "timeout"), "must be larger than 0");
  }
  if (s.batch_size == 0) {
    w.error(batch_size_node, child_path(path, "batchSize"), "must be larger than 0");
  }
  if (s.gzip && s.encoding == loki_encoding::protobuf) {
    w.warn(gzip_node, child_path(path, "gzip"),
           std::string("applies to encoding: json only (protobuf is snappy-compressed); ignored") +
               (encoding_set ? "" : " - set encoding: json to use it"));
  }
  if (s.stream_labels.empty() && s.labels.empty()) {
    w.warn(n, path,
           "no streamLabels or labels: Loki rejects streams without labels; add e.g. "
           "streamLabels: {job: kubernetes-event}");
  }
  return s;
}

webhook_sink parse_webhook(yaml_walker& w, const YAML::Node& n, const std::string& path) {
  webhook_sink s;
  YAML::Node endpoint_node;
  w.walk_map(
      n, path,
      {{"endpoint",
        [&](const YAML::Node& v, const std::string& p) {
          endpoint_node = v;
          w.read_string(v, p, s.endpoint);
        }},
       w.string_map_field("headers", s.headers),
       {"layout",
        [&](const YAML::Node& v, const std::string& p) { parse_layout(w, v, p, s.layout); }},
       {"tls", [&](const YAML::Node& v, const std::string& p) { parse_tls(w, v, p, s.tls); }}});
  if (s.endpoint.empty()) {
    w.error(endpoint_node.IsDefined() && !endpoint_node.IsNull() ? endpoint_node : n,
            child_path(path, "endpoint"), "required (the URL to POST to)");
  } else if (!is_http_url(s.endpoint)) {
    w.error(endpoint_node, child_path(path, "endpoint"),
            "invalid URL " + in_quotes(s.endpoint) + " (expected http:// or https://)");
  }
  return s;
}

}  // namespace

sink parse_sink(yaml_walker& w, std::string_view kind, const YAML::Node& n,
                const std::string& path) {
  if (kind == "stdout") {
    return parse_stdout(w, n, path);
  }
  if (kind == "file") {
    return parse_file(w, n, path);
  }
  if (kind == "loki") {
    return parse_loki(w, n, path);
  }
  if (kind == "webhook") {
    return parse_webhook(w, n, path);
  }
  return unsupported_sink{std::string(kind)};
}

void parse_queue(yaml_walker& w, const YAML::Node& n, const std::string& path, queue& out) {
  w.walk_map(n, path,
             {w.int_field("maxRecords", out.max_records, 1, INT64_MAX),
              {"onFull", [&](const YAML::Node& v, const std::string& p) {
                 std::string s;
                 if (!w.read_string(v, p, s) || s.empty()) {
                   return;
                 }
                 if (s == "block") {
                   out.on_full = overflow_policy::block;
                 } else if (s == "drop") {
                   out.on_full = overflow_policy::drop;
                 } else {
                   w.error(v, p, "invalid value " + in_quotes(s) + " (expected block or drop)");
                 }
               }}});
}

}  // namespace ke::config::detail
