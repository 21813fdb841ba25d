// `kube-event-exporter post-bench`: posts a kube-bench report to an exporter's ingest endpoint
// (the client the chart's per-node kube-bench Jobs run after kube-bench).
#pragma once
#include <chrono>
#include <iosfwd>
#include <string>

namespace ke::kubebench {

struct post_bench_options {
  std::string file;  // the report ("-" = stdin); JSON if it starts with '{' or '[', else text
  std::string url;   // http(s)://host:port[/api/v1/kube-bench]; a bare origin gets the path
  std::string node;
  std::string target;
  std::string syntax;
  // Bearer token file; "" = the pod's ServiceAccount token if present, else no token.
  std::string token_file;
  std::string ca_file;  // CA bundle for an https url; "" = the system's
  int retries = 5;      // retries after 429/503/5xx/connection errors
  std::chrono::milliseconds timeout{30000};
  std::chrono::milliseconds first_backoff{1000};  // doubles each retry, at most 30 s;
                                                  // Retry-After wins when given
};

// Returns the process exit code: 0 accepted (the server's JSON summary goes to out), 1 rejected
// or gave up (the server's message goes to err), 2 bad arguments.
int post_bench(const post_bench_options& opt, std::ostream& out, std::ostream& err);

// The endpoint URL with node/target/syntax as percent-encoded query parameters.
std::string post_bench_url(const post_bench_options& opt);

}  // namespace ke::kubebench
