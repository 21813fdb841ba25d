// The kube-bench ingest, wired: its own HTTP listener (ingest.address / -ingest-address, TLS
// from ingest.tls), POST /api/v1/kube-bench feeding the pipeline through submit (all or nothing)
// (the same route tree and receivers as events), the kube_bench_* gauges on the metrics registry,
// TokenReview through the Kubernetes API, and optional Pushgateway forwarding
// (kubeBench.pushgateway).
//
// Threading: create, start and stop on the io_context thread (one thread, like the dispatcher).
#pragma once
#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/asio.hpp"
#include "core/diagnostic.hpp"
#include "core/metrics.hpp"
#include "kubebench/ingest.hpp"

namespace ke::kubebench {

class ingest_service {
 public:
  // The checks create() makes that need no cluster and bind nothing (token file, allowed
  // service accounts, Pushgateway URL, listener address and TLS files): check-config's part.
  static void validate(const config::config& cfg, const std::string& address_flag,
                       diagnostics& problems);
  // address_flag: -ingest-address ("" = ingest.address); kubeconfig_flag: -kubeconfig (for
  // TokenReview). Problems (bad address, unreadable token file, TLS files) go to problems;
  // returns nullptr then.
  static std::unique_ptr<ingest_service> create(net::any_io_executor ex, const config::config& cfg,
                                                const std::string& address_flag,
                                                const std::string& kubeconfig_flag,
                                                submit_fn submit, ke::metrics& m,
                                                diagnostics& problems);
  ~ingest_service();
  ingest_service(const ingest_service&) = delete;
  ingest_service& operator=(const ingest_service&) = delete;

  // Binds and serves; returns the port. Throws std::system_error when it cannot bind.
  unsigned short start();
  void set_ready(bool ready);
  // Stops accepting (connections closed); new reports are refused from then on.
  void stop();
  const std::string& address() const;

 private:
  struct impl;
  explicit ingest_service(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace ke::kubebench
