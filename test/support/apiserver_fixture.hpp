// A test fixture with an io_context, a manual clock, the fake API server and an API client
// pointed at it.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "fakes/fake_apiserver.hpp"
#include "kube/api_client.hpp"
#include "support/kube_util.hpp"

namespace ke::test {

class ApiServerFixture : public ::testing::Test {
 protected:
  net::io_context ioc;
  manual_clock clk{ioc.get_executor()};
  ke::metrics metrics{""};
  std::unique_ptr<fakes::fake_apiserver> server;
  kube::rest_config rc;
  std::unique_ptr<kube::api_client> api;

  void SetUp() override { start_server({}); }
  void TearDown() override {
    retire_api();
    retire_server();
  }

  // Aborts the API client's requests and lets them unwind before it is destroyed.
  void retire_api() {
    if (!api) return;
    api->close_all();
    clk.cancel_all();
    drain(ioc);
    api.reset();
    clk.reset();
  }
  // Stops the fake and lets its coroutines unwind before it is destroyed.
  void retire_server() {
    if (!server) return;
    server->stop();
    drain(ioc);
    server.reset();
  }

  void start_server(fakes::fake_apiserver::options o) {
    retire_server();
    server = std::make_unique<fakes::fake_apiserver>(ioc.get_executor(), o);
    rc = kube::rest_config{};
    rc.server = server->url();
    rc.source = "test";
  }

  kube::api_client& make_api(kube::api_client::options o = {}) {
    retire_api();
    std::string error;
    api = kube::api_client::create(ioc.get_executor(), rc, clk, o, &error);
    EXPECT_TRUE(api) << error;
    return *api;
  }

  kube::api_response get(const std::string& target, kube::api_client::get_options go = {}) {
    if (!api) make_api();
    auto r = try_run_coro(ioc, api->get(target, go));
    EXPECT_TRUE(r.has_value()) << "GET " << target << " did not finish";
    return r.value_or(kube::api_response{});
  }

  // A temporary directory for this test.
  std::filesystem::path temp_dir() {
    auto d = std::filesystem::temp_directory_path() /
             ("ke-watch-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(d);
    return d;
  }
};

}  // namespace ke::test
