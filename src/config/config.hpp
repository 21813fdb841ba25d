// Configuration structs with their defaults. Filled only by config/loader.cpp from YAML.
// Key names in comments are the YAML keys (resmoio's, plus our documented additions).
#pragma once
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/defaults.hpp"
#include "core/record.hpp"
#include "core/tls_options.hpp"

namespace ke::config {

using std::chrono::milliseconds;

// A route rule (resmoio Rule). Empty string = "any". Patterns are RE2, unanchored.
struct rule {
  std::string message;         // message
  std::string api_version;     // apiVersion (involvedObject)
  std::string kind;            // kind (involvedObject)
  std::string namespace_;      // namespace (the event's own)
  std::string reason;          // reason
  std::string type;            // type
  std::string component;       // component (source.component)
  std::string host;            // host (source.host)
  string_pairs labels;         // labels: every key must exist, value must match
  string_pairs annotations;    // annotations: same
  std::int32_t min_count = 0;  // minCount
  std::string receiver;        // receiver
  std::string path;            // YAML path of this rule, e.g. "route.routes[0].match[1]"
};

struct route {
  std::vector<rule> drop;     // drop
  std::vector<rule> match;    // match
  std::vector<route> routes;  // routes
  std::string path;           // YAML path, e.g. "route.routes[0]"
};

// tls: insecureSkipVerify, serverName, caFile, certFile, keyFile (core/tls_options.hpp).
using tls = ke::tls_options;

// A layout (resmoio): null/absent -> the full record JSON; otherwise a recursive map whose
// string leaves are Go templates. Kept as the parsed YAML tree (JSON-shaped).
using layout = std::optional<nlohmann::json>;

// When a receiver's queue is full: block the source (backpressure; the default, loses nothing)
// or drop the record and count it in <prefix>receiver_dropped_total{receiver,reason="queue_full"}.
enum class overflow_policy { block, drop };

struct queue {
  std::size_t max_records = 10000;                   // queue.maxRecords
  overflow_policy on_full = overflow_policy::block;  // queue.onFull: block | drop
};

struct stdout_sink {
  bool de_dot = false;        // deDot
  ke::config::layout layout;  // layout
};

struct file_sink {
  std::string path;           // path
  ke::config::layout layout;  // layout
  bool de_dot = false;        // deDot
  int max_size_mb = 100;      // maxsize (MB); rotation applies to regular files only
  int max_age_days = 0;       // maxage (days, 0 = keep)
  int max_backups = 0;        // maxbackups (0 = keep all)
};

struct basic_auth {
  std::string username;       // username
  std::string password;       // password (secret)
  std::string password_file;  // passwordFile
};

enum class loki_encoding { protobuf, json };
enum class line_too_long { truncate, drop };

struct spool {
  std::string dir;                       // dir ("" = no disk spool)
  std::uint64_t max_bytes = 1ull << 30;  // maxBytes
  // deadLetterMaxBytes: bound of <dir>/<receiver>/dead-letter/, where batches Loki refused for
  // good are kept (oldest removed first); 0 = no dead letters, such batches are dropped.
  std::uint64_t dead_letter_max_bytes = 100ull << 20;
};

struct loki_sink {
  std::string url;             // url
  string_pairs stream_labels;  // streamLabels (static)
  string_pairs headers;        // headers (values are templates in resmoio; secret)
  ke::config::layout layout;   // layout
  ke::config::tls tls;         // tls
  // Additions (documented in README).
  std::string tenant;                                // tenant -> X-Scope-OrgID
  ke::config::basic_auth basic_auth;                 // basicAuth
  std::string bearer_token;                          // bearerToken (secret)
  std::string bearer_token_file;                     // bearerTokenFile
  loki_encoding encoding = loki_encoding::protobuf;  // encoding: protobuf | json
  bool gzip = false;                                 // gzip (json encoding only)
  milliseconds batch_wait{1000};                     // batchWait
  std::size_t batch_size = 1 << 20;                  // batchSize (bytes)
  milliseconds timeout{10000};                       // timeout
  milliseconds min_backoff{500};                     // minBackoff
  milliseconds max_backoff{300000};                  // maxBackoff
  int max_retries = 10;                              // maxRetries
  // maxRetryDuration: how long one batch may keep getting 429 before it is given up (dead
  // letter with a spool, dropped without); 0 = no bound (docs/loki-delivery.md).
  milliseconds max_retry_duration{300000};
  std::vector<std::string> labels;               // labels: record fields promoted to labels
  std::vector<std::string> structured_metadata;  // structuredMetadata: record fields
  std::size_t max_line_size = 0;                 // maxLineSize (0 = unlimited)
  line_too_long on_line_too_long = line_too_long::truncate;  // maxLineSizePolicy
  std::size_t max_queued_bytes = 64ull << 20;  // maxQueuedBytes before spilling to the spool
  ke::config::spool spool;                     // spool
};

struct webhook_sink {
  std::string endpoint;       // endpoint
  string_pairs headers;       // headers (secret)
  ke::config::layout layout;  // layout
  ke::config::tls tls;        // tls
};

// A resmoio sink kind we accept in config but do not implement (elasticsearch, kafka, ...).
// Records routed to it are counted as dropped (reason="unsupported_sink") and warned about.
struct unsupported_sink {
  std::string kind;
};

using sink = std::variant<stdout_sink, file_sink, loki_sink, webhook_sink, unsupported_sink>;

struct receiver {
  std::string name;         // name
  ke::config::sink sink;    // exactly one sink key
  ke::config::queue queue;  // queue (addition)
  std::string path;         // YAML path, e.g. "receivers[1]"
};

struct leader_election {
  bool enabled = false;                                           // enabled
  std::string leader_election_id = defaults::leader_election_id;  // leaderElectionID
};

// Where the watch keeps its delivery checkpoint (checkpoint:, an addition): the events it has
// handled (shipped and acknowledged by every receiver, or deliberately skipped), so a restart or
// a new leader ships what was missed, whatever its age, and nothing twice. Off when neither
// file nor configMap is set.
struct checkpoint {
  std::string file;        // file: a local file (outside a cluster)
  std::string config_map;  // configMap: a ConfigMap's name
  std::string namespace_;  // namespace: the ConfigMap's (default: the leader election Lease's)
  std::chrono::milliseconds interval{1000};  // interval: at most one write per interval
  std::int64_t max_entries = 40000;          // maxEntries: events remembered (20 bytes each)
  bool enabled() const { return !file.empty() || !config_map.empty(); }
};

// The kube-bench ingest listener (ingest:). Enabled when the key is present or -ingest-address
// is given.
enum class ingest_auth_mode { token_review, static_token, none };

struct ingest {
  bool enabled = false;
  std::string address = "0.0.0.0:8080";       // address (flag -ingest-address wins)
  std::uint64_t max_body_bytes = 8ull << 20;  // maxBodyBytes (413 above)
  milliseconds read_timeout{30000};           // readTimeout: one request's read/write deadline
  ingest_auth_mode auth_mode = ingest_auth_mode::token_review;  // auth.mode
  std::vector<std::string> allowed_service_accounts;  // auth.allowedServiceAccounts (ns:name)
  std::string token_file;                             // auth.tokenFile (staticToken)
  std::string tls_cert_file;                          // tls.certFile
  std::string tls_key_file;                           // tls.keyFile
  std::size_t max_checks = 100000;                    // maxChecks per report
};

struct pushgateway {
  std::string url;                 // url ("" = no forwarding), e.g. http://pushgateway:9091
  std::string job = "kube-bench";  // job
};

// kube-bench records and gauges (kubeBench:).
struct kube_bench {
  string_pairs stream_labels = {{"job", "kube-bench"}};  // streamLabels
  ke::config::pushgateway pushgateway;                   // pushgateway
};

struct config {
  std::string log_level = "info";  // logLevel: trace|debug|info|warn|error|fatal|panic|disabled
  std::string log_format;          // logFormat: json | pretty | "" (pretty)
  std::int64_t max_event_age_seconds =
      defaults::max_event_age_seconds;          // maxEventAgeSeconds (alias throttlePeriod)
  std::string cluster_name;                     // clusterName
  std::string namespace_;                       // namespace ("" = all)
  ke::config::leader_election leader_election;  // leaderElection
  ke::config::checkpoint checkpoint;            // checkpoint
  ke::config::route route;                      // route
  std::vector<receiver> receivers;              // receivers
  double kube_qps = defaults::kube_qps;         // kubeQPS (0 -> 5)
  int kube_burst = defaults::kube_burst;        // kubeBurst (0 -> 10)
  std::string metrics_name_prefix;        // metricsNamePrefix: ^[a-zA-Z][a-zA-Z0-9_:]*_$ or ""
  bool omit_lookup = false;               // omitLookup
  int cache_size = defaults::cache_size;  // cacheSize (0 -> 1024)
  // Additions for the Kubernetes watch (documented in README).
  std::string events_api_version = "v1";  // eventsAPIVersion: v1 (core/v1) | events.k8s.io/v1
  bool export_repeated_events = true;     // exportRepeatedEvents: a MODIFIED whose count grew
  // kube-bench ingest (documented in README).
  ke::config::ingest ingest;          // ingest
  ke::config::kube_bench kube_bench;  // kubeBench
};

}  // namespace ke::config
