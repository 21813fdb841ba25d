// A fake Loki for sink tests, on 127.0.0.1 port 0. It decodes pushes like Loki does (snappy
// block + protobuf with the generated classes for any Content-Type but application/json; JSON,
// optionally gzip-compressed, otherwise), stores entries per stream with Loki's duplicate rule
// (same stream, timestamp and line -> kept once), and answers 204. Tests script other answers
// (429 + Retry-After, 500, slow, reset mid-body, ...), make entries invalid to get Loki's partial
// 400, or take the server down (connection refused) and up again on the same port.
// Header-only test code; runs on the test's io_context.
#pragma once
#include <google/protobuf/io/gzip_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <snappy.h>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "http_test_server.hpp"
#include "sinks/loki/push.pb.h"

namespace ke::test {

struct loki_entry {
  std::string labels;  // the stream's label string as sent (JSON: rebuilt {k="v", ...})
  std::int64_t time_ns = 0;
  std::string line;
  string_pairs metadata;
};

struct loki_push {
  std::chrono::steady_clock::time_point at;
  std::string content_type;
  std::string content_encoding;
  std::size_t body_bytes = 0;
  std::size_t line_bytes = 0;       // lines + structured metadata, what Loki's limits count
  std::vector<loki_entry> entries;  // in request order
  bool decoded = false;
  http::request<http::string_body> request;  // headers and body as received
};

class fake_loki {
 public:
  // tls: serve https with this server context (nullptr: plain http).
  explicit fake_loki(net::any_io_executor ex, std::shared_ptr<net::ssl::context> tls = nullptr)
      : ex_(ex), tls_(std::move(tls)) {
    up(0);
  }

  unsigned short port() const { return port_; }
  // host: how the URL names the server (127.0.0.1 or localhost).
  std::string url(const std::string& host = "127.0.0.1") const {
    return std::string(tls_ ? "https://" : "http://") + host + ":" + std::to_string(port_) +
           "/loki/api/v1/push";
  }

  // The next answers, in order, instead of 204. A scripted 2xx stores the push (also when
  // delayed: Loki stores it even if the client gave up waiting); other scripted answers store
  // nothing.
  void script(reply r) { script_.push_back(std::move(r)); }
  // Answer every push with this (when the script is empty). nullopt: back to normal.
  void always(std::optional<reply> r) { always_ = std::move(r); }
  // Answers the pushes for which f returns a reply with that reply, before the script and
  // always() (e.g. 413 for bodies over N bytes, 429 for one batch forever); nullopt: as usual.
  void answer_if(std::function<std::optional<reply>(const loki_push&)> f) {
    answer_if_ = std::move(f);
  }
  // Makes an entry invalid (Loki's per-entry 400: the others of the push are stored).
  void reject_if(std::function<std::optional<std::string>(const loki_entry&)> f) {
    reject_ = std::move(f);
  }

  // Stops listening and closes connections (clients get connection refused), and back.
  void down() {
    if (server_) {
      server_->stop();
      server_.reset();
    }
  }
  void up() {
    if (!server_) {
      up(port_);
    }
  }
  bool is_up() const { return server_ != nullptr; }

  const std::vector<loki_entry>& stored() const { return stored_; }
  const std::vector<loki_push>& pushes() const { return pushes_; }
  std::size_t requests() const { return pushes_.size(); }

 private:
  void up(unsigned short port) {
    server_ = std::make_unique<http_test_server>(ex_, tls_, "127.0.0.1", port);
    port_ = server_->port();
    server_->on_request([this](const http_test_server::request& req) { return handle(req); });
  }

  static bool gunzip(const std::string& in, std::string& out) {
    namespace io = google::protobuf::io;
    io::ArrayInputStream src(in.data(), static_cast<int>(in.size()));
    io::GzipInputStream gz(&src, io::GzipInputStream::GZIP);
    const void* buf = nullptr;
    int size = 0;
    while (gz.Next(&buf, &size)) {
      out.append(static_cast<const char*>(buf), static_cast<std::size_t>(size));
    }
    return gz.ZlibErrorMessage() == nullptr;
  }

  static bool decode(loki_push& p) {
    std::string body = p.request.body();
    if (p.content_encoding == "gzip") {
      std::string plain;
      if (!gunzip(body, plain)) {
        return false;
      }
      body = std::move(plain);
    }
    if (p.content_type.rfind("application/json", 0) == 0) {
      const auto j = nlohmann::json::parse(body, nullptr, false);
      if (!j.is_object() || !j.contains("streams")) {
        return false;
      }
      for (const auto& s : j["streams"]) {
        std::string labels = "{";
        bool first = true;
        for (const auto& [k, v] : s["stream"].items()) {  // nlohmann sorts object keys
          labels += (first ? "" : ", ") + k + "=" + nlohmann::json(v.get<std::string>()).dump();
          first = false;
        }
        labels += "}";
        for (const auto& v : s["values"]) {
          if (!v[0].is_string() || !v[1].is_string()) {
            return false;  // Loki: the timestamp must be a string of nanoseconds
          }
          loki_entry e{labels, std::stoll(v[0].get<std::string>()), v[1].get<std::string>(), {}};
          if (v.size() > 2) {
            for (const auto& [k, mv] : v[2].items()) {
              e.metadata.emplace_back(k, mv.get<std::string>());
            }
          }
          p.entries.push_back(std::move(e));
        }
      }
      return true;
    }
    // Anything else is protobuf, snappy block format (Loki's RawSnappy).
    std::string raw;
    if (!snappy::Uncompress(body.data(), body.size(), &raw)) {
      return false;
    }
    logproto::PushRequest req;
    if (!req.ParseFromString(raw)) {
      return false;
    }
    for (const auto& s : req.streams()) {
      for (const auto& e : s.entries()) {
        loki_entry le{s.labels(),
                      e.timestamp().seconds() * 1'000'000'000 + e.timestamp().nanos(),
                      e.line(),
                      {}};
        for (const auto& m : e.structuredmetadata()) {
          le.metadata.emplace_back(m.name(), m.value());
        }
        p.entries.push_back(std::move(le));
      }
    }
    return true;
  }

  // Returns the ignored count and fills `why` for a partial 400.
  std::size_t store(const loki_push& p, std::string& why) {
    std::size_t ignored = 0;
    for (const auto& e : p.entries) {
      if (reject_) {
        if (auto reason = reject_(e)) {
          ++ignored;
          why += "entry with timestamp " + std::to_string(e.time_ns) + " ignored, reason: '" +
                 *reason + "',\n";
          continue;
        }
      }
      auto& seen = seen_[e.labels];
      if (!seen.insert({e.time_ns, e.line}).second) {
        continue;  // Loki drops exact duplicates silently
      }
      stored_.push_back(e);
    }
    return ignored;
  }

  reply handle(const http_test_server::request& req) {
    loki_push p;
    p.at = std::chrono::steady_clock::now();
    p.content_type = std::string(req[http::field::content_type]);
    p.content_encoding = std::string(req[http::field::content_encoding]);
    p.body_bytes = req.body().size();
    p.request = req;
    p.decoded = decode(p);
    for (const auto& e : p.entries) {
      p.line_bytes += e.line.size();
      for (const auto& [k, v] : e.metadata) {
        p.line_bytes += k.size() + v.size();
      }
    }
    pushes_.push_back(p);
    if (req.method() != http::verb::post || req.target() != "/loki/api/v1/push") {
      return reply::code(404).with_body("404 page not found\n");
    }
    if (!p.decoded) {
      return reply::code(400).with_body("couldn't parse push request\n");
    }
    std::optional<reply> r;
    if (answer_if_) {
      r = answer_if_(p);
    }
    if (!r && !script_.empty()) {
      r = std::move(script_.front());
      script_.pop_front();
    } else if (!r && always_) {
      r = *always_;
    }
    if (r) {
      if (r->status / 100 == 2 && !r->no_answer && !r->reset_mid_body) {
        std::string why;
        store(p, why);
      }
      return std::move(*r);
    }
    std::string why;
    const std::size_t ignored = store(p, why);
    if (ignored > 0) {
      return reply::code(400).with_body(why +
                                        "user 'fake', total ignored: " + std::to_string(ignored) +
                                        " out of " + std::to_string(p.entries.size()) + "\n");
    }
    return reply::code(204);
  }

  net::any_io_executor ex_;
  std::shared_ptr<net::ssl::context> tls_;
  std::unique_ptr<http_test_server> server_;
  unsigned short port_ = 0;
  std::deque<reply> script_;
  std::optional<reply> always_;
  std::function<std::optional<std::string>(const loki_entry&)> reject_;
  std::function<std::optional<reply>(const loki_push&)> answer_if_;
  std::vector<loki_entry> stored_;
  std::vector<loki_push> pushes_;
  std::map<std::string, std::set<std::pair<std::int64_t, std::string>>> seen_;
};

}  // namespace ke::test
