// Command line in Go's flag package forms (-conf FILE, -conf=FILE, --conf=FILE), as resmoio and
// the Bitnami chart (`-conf=/data/config.yaml`) use it, plus our subcommands.
#pragma once
#include <string>
#include <vector>

namespace ke {

enum class command { run, check_config, route_test, post_bench, help, version };

struct flags {
  command cmd = command::run;
  std::string conf = "config.yaml";       // -conf
  std::string metrics_address = ":2112";  // -metrics-address
  std::string kubeconfig;                 // -kubeconfig
  std::string metrics_tls_config;         // -metrics-tls-config
  std::string events;                     // -events (route-test)
  std::string ingest_address;             // -ingest-address (kube-bench ingest listener)
  std::string shutdown_timeout = "25s";   // -shutdown-timeout (SIGTERM to exit, all stages)
  // post-bench
  std::string file;        // -file: the kube-bench report ("-" = stdin)
  std::string url;         // -url: the exporter's ingest base URL or full endpoint URL
  std::string node;        // -node
  std::string target;      // -target
  std::string syntax;      // -syntax
  std::string token_file;  // -token-file (default: the pod's ServiceAccount token)
  std::string ca_file;     // -ca-file: CA bundle for an https -url (default: the system's)
  std::string retries;     // -retries (default 5)
};

struct flags_result {
  flags f;
  std::string error;  // non-empty: print it and the usage, exit 2 (as Go's flag package does)
};

// argv[0] excluded. A subcommand (check-config, route-test) may come first or after the flags.
flags_result parse_flags(const std::vector<std::string>& args);
std::string usage();

}  // namespace ke
