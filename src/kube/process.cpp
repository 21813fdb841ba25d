#include "kube/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <map>
#include <memory>

extern char** environ;

namespace ke::kube {

namespace {

struct pipe_pair {
  int r = -1;
  int w = -1;
  ~pipe_pair() {
    if (r >= 0) {
      ::close(r);
    }
    if (w >= 0) {
      ::close(w);
    }
  }
};

bool make_pipe(pipe_pair& p) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return false;
  }
  p.r = fds[0];
  p.w = fds[1];
  return true;
}

// Reads a pipe to EOF (or error) into out, keeping at most max bytes.
net::awaitable<void> drain(net::posix::stream_descriptor& d, std::string& out, std::size_t max) {
  std::array<char, 4096> buf{};
  for (;;) {
    boost::system::error_code ec;
    const std::size_t n =
        co_await d.async_read_some(net::buffer(buf), net::redirect_error(net::use_awaitable, ec));
    if (n > 0 && out.size() < max) {
      out.append(buf.data(), std::min(n, max - out.size()));
    }
    if (ec) {
      co_return;
    }
  }
}

}  // namespace

net::awaitable<process_result> run_process(net::any_io_executor ex, process_options opt) {
  process_result result;
  if (opt.argv.empty() || opt.argv.front().empty()) {
    result.error = "no command";
    co_return result;
  }
  // Environment: inherited, then opt.env overriding.
  std::map<std::string, std::string> envmap;
  std::vector<std::string> order;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string::npos) {
      continue;
    }
    std::string k = kv.substr(0, eq);
    if (envmap.emplace(k, kv.substr(eq + 1)).second) {
      order.push_back(k);
    }
  }
  for (const auto& [k, v] : opt.env) {
    if (envmap.find(k) == envmap.end()) {
      order.push_back(k);
    }
    envmap[k] = v;
  }
  std::vector<std::string> env_strings;
  env_strings.reserve(order.size());
  for (const auto& k : order) {
    env_strings.push_back(k + "=" + envmap[k]);
  }
  std::vector<char*> envp;
  envp.reserve(env_strings.size() + 1);
  for (auto& s : env_strings) {
    envp.push_back(s.data());
  }
  envp.push_back(nullptr);
  std::vector<char*> argv;
  argv.reserve(opt.argv.size() + 1);
  for (auto& a : opt.argv) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);

  pipe_pair out_pipe;
  pipe_pair err_pipe;
  if (!make_pipe(out_pipe) || !make_pipe(err_pipe)) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    co_return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe.w, 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe.w, 2);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    result.error = "cannot run \"" + opt.argv.front() + "\": " + std::strerror(rc);
    co_return result;
  }
  ::close(out_pipe.w);
  out_pipe.w = -1;
  ::close(err_pipe.w);
  err_pipe.w = -1;

  auto out_d = std::make_shared<net::posix::stream_descriptor>(ex, out_pipe.r);
  out_pipe.r = -1;
  auto err_d = std::make_shared<net::posix::stream_descriptor>(ex, err_pipe.r);
  err_pipe.r = -1;

  // stderr is read by a second coroutine so that neither pipe can fill up and stall the child.
  auto err_text = std::make_shared<std::string>();
  auto err_done = std::make_shared<bool>(false);
  net::co_spawn(
      ex,
      [err_d, err_text, err_done, max = opt.max_output]() -> net::awaitable<void> {
        co_await drain(*err_d, *err_text, max);
        *err_done = true;
      },
      net::detached);

  // The deadline kills the child, which closes its pipes and ends the reads.
  auto killed = std::make_shared<bool>(false);
  auto exited = std::make_shared<bool>(false);
  net::steady_timer deadline(ex);
  deadline.expires_after(opt.timeout);
  deadline.async_wait([pid, killed, exited, out_d, err_d](boost::system::error_code ec) {
    if (!ec && !*exited) {
      *killed = true;
      ::kill(pid, SIGKILL);
      // A grandchild may still hold the pipes open: stop reading them too.
      boost::system::error_code ignored;
      out_d->cancel(ignored);
      err_d->cancel(ignored);
    }
  });

  co_await drain(*out_d, result.out, opt.max_output);

  // Reap: poll waitpid without blocking the thread.
  net::steady_timer poll(ex);
  int status = 0;
  auto interval = std::chrono::milliseconds(1);
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) {
      break;
    }
    poll.expires_after(interval);
    boost::system::error_code ec;
    co_await poll.async_wait(net::redirect_error(net::use_awaitable, ec));
    interval = std::min(interval * 2, std::chrono::milliseconds(50));
  }
  *exited = true;
  deadline.cancel();
  // stderr ends once the child (and anything it forked) is gone; don't wait on grandchildren.
  for (int i = 0; i < 100 && !*err_done; ++i) {
    poll.expires_after(std::chrono::milliseconds(1));
    boost::system::error_code ec;
    co_await poll.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
  if (!*err_done) {
    boost::system::error_code ignored;
    err_d->cancel(ignored);
  }
  result.err = *err_text;
  if (*killed) {
    result.error = "timed out after " + std::to_string(opt.timeout.count()) + " ms (killed)";
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.error = "killed by signal " + std::to_string(WTERMSIG(status));
  }
  co_return result;
}

}  // namespace ke::kube
