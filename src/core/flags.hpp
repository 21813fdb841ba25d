// Command line in Go's flag package forms (-conf FILE, -conf=FILE, --conf=FILE), as resmoio and
// the Bitnami chart (`-conf=/data/config.yaml`) use it, plus our subcommands.
#pragma once
#include <string>
#include <vector>

namespace ke {

enum class command { run, check_config, route_test, help, version };

struct flags {
  command cmd = command::run;
  std::string conf = "config.yaml";       // -conf
  std::string metrics_address = ":2112";  // -metrics-address
  std::string kubeconfig;                 // -kubeconfig
  std::string metrics_tls_config;         // -metrics-tls-config
  std::string events;                     // -events (route-test)
};

struct flags_result {
  flags f;
  std::string error;  // non-empty: print it and the usage, exit 2 (as Go's flag package does)
};

// argv[0] excluded. A subcommand (check-config, route-test) may come first or after the flags.
flags_result parse_flags(const std::vector<std::string>& args);
std::string usage();

}  // namespace ke
