// Helpers shared by the sinks tests: running the io_context until a condition holds (with a
// deadline, never sleeping), a scriptable fake sink, records, temp dirs and fd redirection.
#pragma once
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "core/go_json.hpp"
#include "core/record.hpp"
#include "sinks/sink.hpp"
#include "support/io.hpp"

namespace ke::test {

using sinks::send_result;
using sinks::sink;
using sinks::sink_ptr;

using ke::test::run_ready;
using ke::test::run_until;

// Shared between a fake_sink (owned by its receiver) and the test.
struct fake_state {
  explicit fake_state(net::any_io_executor ex)
      : gate(ex, std::chrono::steady_clock::time_point::max()) {}

  std::vector<std::vector<record_ptr>> sends;  // every batch send() was called with
  std::deque<send_result> results;             // what the next sends return (then ok)
  bool hold = false;  // while true, send() waits (after recording its batch)
  std::size_t completed = 0;
  std::size_t closes = 0;
  std::uint64_t errors = 0;  // handed out by take_errors
  std::string failure;       // what failure() says
  net::steady_timer gate;

  void release() {
    hold = false;
    gate.cancel();
  }
  // Records of every completed ok send, in order.
  std::vector<record_ptr> delivered;
};

class fake_sink final : public sink {
 public:
  explicit fake_sink(std::shared_ptr<fake_state> st) : st_(std::move(st)) {}

  net::awaitable<send_result> send(std::vector<record_ptr> batch) override {
    st_->sends.push_back(batch);
    while (st_->hold) {
      boost::system::error_code ec;
      co_await st_->gate.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    send_result r = send_result::ok;
    if (!st_->results.empty()) {
      r = st_->results.front();
      st_->results.pop_front();
    }
    if (r == send_result::ok) {
      st_->delivered.insert(st_->delivered.end(), batch.begin(), batch.end());
    }
    ++st_->completed;
    co_return r;
  }
  net::awaitable<void> close(std::chrono::steady_clock::time_point /*deadline*/) override {
    ++st_->closes;
    co_return;
  }
  std::uint64_t take_errors() override { return std::exchange(st_->errors, 0); }
  std::string failure() const override { return st_->failure; }

 private:
  std::shared_ptr<fake_state> st_;
};

// Runs s.send(batch) to completion on ioc and returns its result.
inline send_result send_now(net::io_context& ioc, sink& s, std::vector<record_ptr> batch) {
  bool done = false;
  send_result result = send_result::drop;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        result = co_await s.send(std::move(batch));
        done = true;
      },
      net::detached);
  if (!run_until(ioc, [&] { return done; })) {
    throw std::runtime_error("send did not complete");
  }
  return result;
}

// A Kubernetes-event-like record: doc {"metadata":{...},"reason":...,"message":...}.
inline record_ptr make_record(int n, std::string reason = "Started") {
  auto r = std::make_shared<record>();
  r->reason = std::move(reason);
  r->message = "message " + std::to_string(n);
  r->name = "ev-" + std::to_string(n);
  r->namespace_ = "default";
  r->doc = nlohmann::ordered_json::object();
  r->doc["metadata"] = {{"name", r->name}, {"namespace", r->namespace_}};
  r->doc["reason"] = r->reason;
  r->doc["message"] = r->message;
  r->line = go_json(r->doc);
  return r;
}

// A fresh directory under the system temp dir, removed with its contents at destruction.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ke-sinks-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    auto nl = s.find('\n', start);
    if (nl == std::string::npos) {
      out.push_back(s.substr(start));
      break;
    }
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

// Points fd 1 at a file for its lifetime, then restores it.
class stdout_capture {
 public:
  explicit stdout_capture(const std::filesystem::path& file) {
    saved_ = ::dup(STDOUT_FILENO);
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ::dup2(fd, STDOUT_FILENO);
    ::close(fd);
  }
  ~stdout_capture() { restore(); }
  void restore() {
    if (saved_ >= 0) {
      ::dup2(saved_, STDOUT_FILENO);
      ::close(saved_);
      saved_ = -1;
    }
  }
  stdout_capture(const stdout_capture&) = delete;
  stdout_capture& operator=(const stdout_capture&) = delete;

 private:
  int saved_ = -1;
};

}  // namespace ke::test
