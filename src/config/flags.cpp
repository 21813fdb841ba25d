#include "config/flags.hpp"

#include <map>
#include <string_view>

namespace ke {
namespace {

std::string* flag_target(flags& f, std::string_view name) {
  if (name == "conf") {
    return &f.conf;
  }
  if (name == "metrics-address") {
    return &f.metrics_address;
  }
  if (name == "kubeconfig") {
    return &f.kubeconfig;
  }
  if (name == "metrics-tls-config") {
    return &f.metrics_tls_config;
  }
  if (name == "events") {
    return &f.events;
  }
  if (name == "ingest-address") {
    return &f.ingest_address;
  }
  if (name == "shutdown-timeout") {
    return &f.shutdown_timeout;
  }
  if (name == "file") {
    return &f.file;
  }
  if (name == "url") {
    return &f.url;
  }
  if (name == "node") {
    return &f.node;
  }
  if (name == "target") {
    return &f.target;
  }
  if (name == "syntax") {
    return &f.syntax;
  }
  if (name == "token-file") {
    return &f.token_file;
  }
  if (name == "ca-file") {
    return &f.ca_file;
  }
  if (name == "retries") {
    return &f.retries;
  }
  return nullptr;
}

bool subcommand(std::string_view arg, command& out) {
  static const std::map<std::string_view, command> names = {
      {"run", command::run},
      {"check-config", command::check_config},
      {"route-test", command::route_test},
      {"post-bench", command::post_bench},
      {"help", command::help},
      {"version", command::version},
  };
  auto it = names.find(arg);
  if (it == names.end()) {
    return false;
  }
  out = it->second;
  return true;
}

}  // namespace

flags_result parse_flags(const std::vector<std::string>& args) {
  flags_result r;
  bool have_subcommand = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a.size() < 2 || a[0] != '-') {
      command c;
      if (!have_subcommand && subcommand(a, c)) {
        r.f.cmd = c;
        have_subcommand = true;
        continue;
      }
      r.error = "unexpected argument: " + std::string(a);
      return r;
    }
    if (a == "--") {
      if (i + 1 < args.size()) {
        r.error = "unexpected argument: " + args[i + 1];
      }
      return r;
    }
    std::string_view body = a.substr(a[1] == '-' ? 2 : 1);
    if (body.empty() || body[0] == '-' || body[0] == '=') {
      r.error = "bad flag syntax: " + std::string(a);
      return r;
    }
    std::string_view name = body;
    std::string value;
    bool has_value = false;
    if (auto eq = body.find('='); eq != std::string_view::npos) {
      name = body.substr(0, eq);
      value = std::string(body.substr(eq + 1));
      has_value = true;
    }
    if (name == "help" || name == "h") {
      r.f.cmd = command::help;
      return r;
    }
    if (name == "version") {
      r.f.cmd = command::version;
      return r;
    }
    std::string* target = flag_target(r.f, name);
    if (target == nullptr) {
      r.error = "flag provided but not defined: -" + std::string(name);
      return r;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        r.error = "flag needs an argument: -" + std::string(name);
        return r;
      }
      value = args[++i];
    }
    *target = std::move(value);
  }
  return r;
}

std::string usage() {
  return R"(Usage: kube-event-exporter [command] [flags]

Watches Kubernetes Events, routes them through the config's route tree and ships them to
receivers (Loki, stdout, file, webhook). A drop-in replacement for resmoio/kubernetes-event-exporter.

Commands:
  run            run the exporter (default)
  check-config   validate -conf and exit 0 (valid) or 1 (problems printed, one per line)
  route-test     route the events in -events (JSON lines: core/v1 Events or watch events)
                 through -conf's route tree and print the receivers each one reaches
  post-bench     post a kube-bench report to an exporter's ingest endpoint:
                 post-bench -file result.json -url URL -node NAME -target node [-token-file F]
                 [-ca-file CA.pem]
                 (retries 429/503/5xx; exits non-zero with the server's message on rejection)

Flags (Go forms: -conf FILE, -conf=FILE, --conf=FILE):
  -conf string                 the config file (default "config.yaml")
  -metrics-address string      address of /metrics, /-/healthy, /-/ready (default ":2112")
  -kubeconfig string           kubeconfig file (default: in-cluster, then $KUBECONFIG, ~/.kube/config)
  -metrics-tls-config string   exporter-toolkit web config (TLS, basic auth) for the metrics server
  -events string               route-test: the events file ("-" = stdin)
  -ingest-address string       address of the kube-bench ingest listener (overrides ingest.address)
  -shutdown-timeout duration   from SIGTERM to exit: stop sources (at most a quarter, 5s), drain
                               receivers, write the checkpoint (default "25s"; keep it below the
                               pod's terminationGracePeriodSeconds)
  -file, -url, -node, -target, -syntax, -token-file, -ca-file, -retries
                               post-bench: report file ("-" = stdin), ingest URL, node name,
                               target, command used, bearer token file (default: the pod's
                               ServiceAccount token), CA bundle for an https URL (default: the
                               system's), retries (default 5)
  -help, -version
)";
}

}  // namespace ke
