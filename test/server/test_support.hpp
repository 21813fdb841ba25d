// Test helpers for the server tests: a small synchronous Beast client (plain or TLS) whose every
// operation has a deadline, a fixture that runs an http_server on 127.0.0.1:0 on its own thread,
// temporary directories and shell commands.
#pragma once
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/asio.hpp"
#include "server/http_server.hpp"
// clang-format off
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
// clang-format on

namespace ke::server::test {

using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using client_response = http::response<http::string_body>;

// Every client operation fails with beast::error::timeout after this long rather than hang.
inline constexpr std::chrono::seconds op_deadline{10};

// Blocking client over Stream (beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>): each
// call starts one async operation on a private io_context and runs it to completion.
template <class Stream>
class basic_client {
 public:
  static constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... Args>
  explicit basic_client(Args&... args) : stream_(ioc_, args...) {}

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }
  Stream& stream() { return stream_; }

  // Connects to 127.0.0.1:port (and does the TLS handshake for TLS clients).
  error_code connect(unsigned short port,
                     net::ip::address address = net::ip::make_address("127.0.0.1")) {
    tcp().expires_after(op_deadline);
    auto ec = run([&](auto done) { tcp().async_connect(tcp::endpoint(address, port), done); });
    if (ec) {
      return ec;
    }
    if constexpr (is_tls) {
      tcp().expires_after(op_deadline);
      ec = run([&](auto done) { stream_.async_handshake(net::ssl::stream_base::client, done); });
    }
    return ec;
  }

  error_code write_raw(const std::string& bytes) {
    tcp().expires_after(op_deadline);
    return run([&](auto done) { net::async_write(stream_, net::buffer(bytes), done); });
  }

  error_code send(const http::request<http::string_body>& req) {
    tcp().expires_after(op_deadline);
    return run([&](auto done) { http::async_write(stream_, req, done); });
  }

  // Reads one response (head: the request was HEAD, so no body follows).
  error_code read(client_response& out, bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);
    parser.body_limit(64 << 20);
    tcp().expires_after(op_deadline);
    auto ec = run([&](auto done) { http::async_read(stream_, buffer_, parser, done); });
    if (!ec) {
      out = parser.release();
    }
    return ec;
  }

  // Sends a request and reads its response.
  error_code request(http::verb method, const std::string& target, client_response& out,
                     std::string body = "",
                     std::initializer_list<std::pair<http::field, std::string>> headers = {}) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "localhost");
    for (const auto& [name, value] : headers) {
      req.set(name, value);
    }
    req.body() = std::move(body);
    req.prepare_payload();
    if (auto ec = send(req)) {
      return ec;
    }
    return read(out, method == http::verb::head);
  }

  // Reads until the server closes the connection or `limit` passes; returns the final error
  // (eof or a reset when the server closed; beast::error::timeout when it did not).
  error_code read_until_closed(std::chrono::milliseconds limit = op_deadline) {
    tcp().expires_after(limit);
    std::array<char, 4096> scratch;
    for (;;) {
      error_code ec = run([&](auto done) { stream_.async_read_some(net::buffer(scratch), done); });
      if (ec) {
        return ec;
      }
    }
  }

 private:
  template <class Start>
  error_code run(Start&& start) {
    error_code result = net::error::would_block;
    start([&](error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  net::io_context ioc_;
  Stream stream_;
  beast::flat_buffer buffer_;
};

using client = basic_client<beast::tcp_stream>;
using tls_client = basic_client<beast::ssl_stream<beast::tcp_stream>>;

// True when the error means "the peer closed the connection".
inline bool closed_by_peer(const error_code& ec) {
  return ec == net::error::eof || ec == net::error::connection_reset ||
         ec == http::error::end_of_stream || ec == net::ssl::error::stream_truncated;
}

// An http_server on its own io_context and thread; stopped and joined on destruction.
class running_server {
 public:
  explicit running_server(options opt) : opt_(std::move(opt)) {
    server_.emplace(ioc_.get_executor(), opt_, problems);
  }
  ~running_server() {
    server_->stop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  running_server(const running_server&) = delete;
  running_server& operator=(const running_server&) = delete;

  http_server& server() { return *server_; }

  // Binds and starts the io_context thread; returns the port.
  unsigned short start() {
    port_ = server_->start();
    thread_ = std::thread([this] { ioc_.run(); });
    return port_;
  }
  unsigned short port() const { return port_; }
  net::io_context& ioc() { return ioc_; }

  diagnostics problems;

 private:
  options opt_;
  net::io_context ioc_;
  std::optional<http_server> server_;
  std::thread thread_;
  unsigned short port_ = 0;
};

inline options loopback_options() {
  options o;
  o.address = "127.0.0.1:0";
  return o;
}

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ke-server-test-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(file(name), std::ios::binary) << content;
    return file(name);
  }

 private:
  std::filesystem::path path_;
};

// Runs `command` with /bin/sh, capturing stdout and stderr; returns the exit status (-1 if it did
// not exit normally).
inline int run_command(const std::string& command, std::string& output) {
  output.clear();
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    return -1;
  }
  std::array<char, 4096> buf;
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) {
    output.append(buf.data(), n);
  }
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The full path of an executable found on PATH, "" when there is none.
inline std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const auto end = std::min(dirs.find(':', start), dirs.size());
    const auto dir = dirs.substr(start, end - start);
    if (!dir.empty()) {
      const auto candidate = (std::filesystem::path(dir) / name).string();
      if (access(candidate.c_str(), X_OK) == 0) {
        return candidate;
      }
    }
    start = end + 1;
  }
  return "";
}

// Writes <name>.key and <name>.crt (a self-signed P-256 certificate) into `dir` with the openssl
// CLI. Returns "" on success, else the command and its output.
inline std::string make_self_signed(const temp_dir& dir, const std::string& name,
                                    const std::string& subject, const std::string& san) {
  std::string output;
  const auto cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      " -days 2 -keyout '" +
      dir.file(name + ".key") + "' -out '" + dir.file(name + ".crt") + "' -subj '" + subject +
      "' -addext '" + san + "'";
  if (run_command(cmd, output) != 0) {
    return cmd + "\n" + output;
  }
  return "";
}

}  // namespace ke::server::test
