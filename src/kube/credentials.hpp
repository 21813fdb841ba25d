// The credential sent with each API request, kept fresh:
// - a static token or basic auth from the kubeconfig: used as is;
// - a token file (in-cluster service-account token, kubeconfig tokenFile): re-read when the
//   copy in memory is older than a minute and at once after a 401, because bound tokens rotate
//   (client-go re-reads every minute and resets the cached token after a 401). If a re-read
//   fails, the last good token stays in use and a warning is logged;
// - an exec plugin (client.authentication.k8s.io/v1): run off the io_context thread's blocking
//   paths (see process.hpp), its ExecCredential cached until status.expirationTimestamp (if any)
//   and run again after a 401. It may return a token or a client certificate and key; the
//   latter bumps tls_generation() so the API client rebuilds its TLS context.
//
// Threading: used from one executor's thread; concurrent callers share one plugin run.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

#include "core/asio.hpp"
#include "core/clock.hpp"
#include "kube/kube_config.hpp"

namespace ke::kube {

class credentials {
 public:
  // How long a token read from a file is trusted before it is read again.
  static constexpr std::chrono::seconds token_file_period{60};

  credentials(net::any_io_executor ex, rest_config cfg, clock& c);

  // The Authorization header value for the next request ("" = send none). On failure (the
  // exec plugin failed and nothing usable is cached) returns "" and sets *error.
  net::awaitable<std::string> authorization(std::string* error);

  // A request sent with `used` got 401: drop that credential so the next authorization()
  // re-reads the token file or re-runs the plugin. A newer credential is kept.
  void invalidate(const std::string& used);

  // Client certificate and key for TLS: the kubeconfig's, or the exec plugin's once it has
  // returned one. tls_generation() changes whenever they change.
  const std::string& client_cert_pem() const { return cert_pem_; }
  const std::string& client_key_pem() const { return key_pem_; }
  std::uint64_t tls_generation() const { return tls_generation_; }

  // Number of exec plugin runs and token-file reads so far (for tests and logs).
  std::uint64_t exec_runs() const { return exec_runs_; }
  std::uint64_t token_reads() const { return token_reads_; }

 private:
  net::awaitable<void> run_exec(std::string* error);
  bool read_token_file();

  net::any_io_executor ex_;
  rest_config cfg_;
  clock& clock_;
  std::string current_;  // the Authorization value in use
  std::chrono::steady_clock::time_point read_at_{};
  bool have_token_ = false;
  std::chrono::system_clock::time_point expires_at_ = std::chrono::system_clock::time_point::max();
  std::string cert_pem_;
  std::string key_pem_;
  std::uint64_t tls_generation_ = 0;
  std::uint64_t exec_runs_ = 0;
  std::uint64_t token_reads_ = 0;
  bool exec_running_ = false;
  std::string exec_error_;
  net::steady_timer exec_done_;  // waiters for a running plugin sleep here
};

}  // namespace ke::kube
