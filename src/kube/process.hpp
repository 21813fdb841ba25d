// Runs a child process without blocking the io_context: posix_spawnp, stdout and stderr read
// through posix::stream_descriptor pipes, the exit status collected by polling waitpid(WNOHANG)
// on a timer. Used for kubeconfig exec credential plugins.
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "core/record.hpp"

namespace ke::kube {

struct process_result {
  std::string error;   // non-empty when the process could not be run or timed out
  int exit_code = -1;  // exit status, or -1 when killed by a signal / not run
  std::string out;     // stdout (at most max_output bytes)
  std::string err;     // stderr (at most max_output bytes)
  bool ok() const { return error.empty() && exit_code == 0; }
};

struct process_options {
  std::vector<std::string> argv;  // argv[0] is looked up in $PATH unless it contains '/'
  string_pairs env;               // added to (and overriding) the inherited environment
  std::chrono::milliseconds timeout{60000};
  std::size_t max_output = 1 << 20;
};

// stdin is /dev/null. On timeout the child is killed (SIGKILL) and reaped.
net::awaitable<process_result> run_process(net::any_io_executor ex, process_options opt);

}  // namespace ke::kube
