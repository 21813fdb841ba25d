// The fixture the Loki sink tests share (loki_sink_test, loki_policy_test): a fake Loki on
// loopback, a temporary directory, the sink built from a receiver config with its
// acknowledgements recorded and its backoff made deterministic, and metric readers.
#pragma once
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fakes/fake_loki.hpp"
#include "sinks/loki/loki_sink.hpp"
#include "support/io.hpp"

namespace ke::sinks::loki {

// Every acknowledgement the sink gives, in order.
struct recorded_acks : delivery_observer {
  std::vector<std::string> delivered_positions;
  std::vector<std::pair<std::string, std::string>> dropped_positions;  // position, reason
  void delivered(std::string_view, const std::vector<std::string>& p) override {
    delivered_positions.insert(delivered_positions.end(), p.begin(), p.end());
  }
  void dropped(std::string_view, const std::vector<std::string>& p,
               std::string_view reason) override {
    for (const auto& x : p) {
      dropped_positions.emplace_back(x, std::string(reason));
    }
  }
};

class LokiSinkFixture : public ::testing::Test {
 protected:
  // tmp_template: the mkdtemp(3) template of the test's temporary directory.
  explicit LokiSinkFixture(std::string tmp_template = "/tmp/ke-loki-test-XXXXXX")
      : tmp_template_(std::move(tmp_template)) {}

  void SetUp() override {
    loki_ = std::make_unique<test::fake_loki>(ioc_.get_executor());
    std::string tmpl = tmp_template_;
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    tmp_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
  }

  // A receiver for the fake Loki with short waits and backoffs.
  config::loki_sink cfg() const {
    config::loki_sink c;
    c.url = loki_->url();
    c.stream_labels = {{"job", "kubernetes-event"}};
    c.labels = {"namespace"};
    c.batch_wait = std::chrono::milliseconds(20);
    c.min_backoff = std::chrono::milliseconds(10);
    c.max_backoff = std::chrono::milliseconds(50);
    c.timeout = std::chrono::milliseconds(2000);
    return c;
  }

  // The sink for c; with `out`, a config the factory refuses gives nullptr and its diagnostics
  // there instead of a test failure.
  std::unique_ptr<loki_sink> make(const config::loki_sink& c, diagnostics* out = nullptr,
                                  const std::string& name = "loki") {
    config::receiver r;
    r.name = name;
    r.sink = c;
    r.path = "receivers[0]";
    diagnostics d;
    auto s = make_loki_sink(ioc_.get_executor(), r, metrics_, d);
    if (out != nullptr) {
      *out = d;
    }
    EXPECT_TRUE(s || out != nullptr) << (d.empty() ? "" : d[0].to_string());
    std::unique_ptr<loki_sink> p(dynamic_cast<loki_sink*>(s.release()));
    if (p) {
      p->set_delivery_observer(&acks_);
      p->set_backoff_random([] { return 0.0; });  // always minBackoff: fast, deterministic
    }
    return p;
  }

  // The index of a test record from its line ({"i":<index>,...}).
  static int index_of(const std::string& line) {
    return std::stoi(line.substr(5, line.find(',') - 5));
  }

  void close(loki_sink& s, std::chrono::milliseconds within = std::chrono::milliseconds(5000)) {
    test::run_coro(ioc_, s.close(std::chrono::steady_clock::now() + within),
                   within + std::chrono::seconds(5));
  }

  double counter(const std::string& name, const prometheus::Labels& labels) {
    return prometheus::BuildCounter()
        .Name(name)
        .Help("")
        .Register(metrics_.registry())
        .Add(labels)
        .Value();
  }
  double dropped(const std::string& reason) {
    return counter("loki_entries_dropped_total", {{"receiver", "loki"}, {"reason", reason}});
  }
  double batches(const std::string& code) {
    return counter("loki_batches_total", {{"receiver", "loki"}, {"code", code}});
  }
  double value(const std::string& name) { return counter(name, {{"receiver", "loki"}}); }

  net::io_context ioc_;
  ke::metrics metrics_{""};
  std::unique_ptr<test::fake_loki> loki_;
  recorded_acks acks_;
  std::string tmp_;

 private:
  std::string tmp_template_;
};

}  // namespace ke::sinks::loki
