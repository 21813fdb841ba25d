#include "watch/leader_election.hpp"

#include <gtest/gtest.h>

#include "support/apiserver_fixture.hpp"

namespace ke::watch {
namespace {

using json = nlohmann::json;
using fakes::fake_apiserver;
using std::chrono::seconds;

// One replica: its own clock (virtual time), API client and elector.
struct replica {
  std::unique_ptr<manual_clock> clk;
  std::unique_ptr<kube::api_client> api;
  std::unique_ptr<leader_elector> le;
  int started = 0;
  int stopped = 0;
};

class LeaderElectionTest : public test::ApiServerFixture {
 protected:
  std::vector<std::unique_ptr<replica>> replicas;

  // tune: changes the elector's options; bounded: its API client as the exporter makes it
  // (leader_elector::client_options), else the API client's defaults.
  replica& make(const std::string& id,
                const std::function<void(leader_election_options&)>& tune = {},
                bool bounded = false) {
    auto r = std::make_unique<replica>();
    r->clk = std::make_unique<manual_clock>(ioc.get_executor());
    leader_election_options o;
    if (tune) {
      tune(o);
    }
    std::string error;
    r->api = kube::api_client::create(
        ioc.get_executor(), rc, *r->clk,
        bounded ? leader_elector::client_options(o) : kube::api_client::options{}, &error);
    EXPECT_TRUE(r->api) << error;
    o.namespace_ = "ke";
    o.name = "kubernetes-event-exporter";
    o.identity = id;
    o.random = [] { return 0.5; };
    replica* p = r.get();
    r->le = std::make_unique<leader_elector>(
        *r->api, *r->clk, o,
        [p]() -> net::awaitable<void> {
          ++p->started;
          co_return;
        },
        [p]() -> net::awaitable<void> {
          ++p->stopped;
          co_return;
        });
    replicas.push_back(std::move(r));
    return *replicas.back();
  }

  void TearDown() override {
    for (auto& r : replicas) {
      if (r->le->running()) {
        r->le->stop(false);
      }
    }
    EXPECT_TRUE(test::run_until(ioc, [&] {
      for (auto& r : replicas) {
        if (r->le->running()) return false;
      }
      return true;
    }));
    for (auto& r : replicas) r->api->close_all();
    test::drain(ioc);
    replicas.clear();
    ApiServerFixture::TearDown();
  }

  json lease() { return server->lease("ke", "kubernetes-event-exporter"); }
  std::string holder() { return lease()["spec"].value("holderIdentity", ""); }
  bool wait(const std::function<bool()>& pred) { return test::run_until(ioc, pred); }
  std::size_t renewals() { return server->lease_writes[200]; }
};

// Verifies that a single replica creates the Lease (MicroTime fields, 15 s duration), leads and
// keeps renewing it.
TEST_F(LeaderElectionTest, SingleReplicaAcquiresAndRenews) {
  auto& a = make("a");
  a.le->start();
  ASSERT_TRUE(wait([&] { return a.le->leading() && a.started == 1; }));
  const json l = lease();
  EXPECT_EQ(l["spec"]["holderIdentity"], "a");
  EXPECT_EQ(l["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ(l["spec"]["leaseTransitions"], 0);
  EXPECT_EQ(l["spec"]["renewTime"].get<std::string>().size(), 27u);  // ...05.000000Z
  EXPECT_EQ(server->lease_writes[201], 1u);
  ASSERT_TRUE(wait([&] { return renewals() >= 3; }));
  EXPECT_TRUE(a.le->leading());
  EXPECT_EQ(a.stopped, 0);
}

// Verifies that of two replicas exactly one leads while the leader keeps renewing.
TEST_F(LeaderElectionTest, TwoReplicasOneLeader) {
  auto& a = make("a");
  auto& b = make("b");
  a.le->start();
  b.le->start();
  ASSERT_TRUE(wait([&] { return a.le->leading() || b.le->leading(); }));
  const std::size_t base = renewals();
  for (std::size_t n = 1; n <= 10; ++n) {
    ASSERT_TRUE(wait([&] { return renewals() >= base + n; }));
    EXPECT_NE(a.le->leading(), b.le->leading());
  }
  EXPECT_EQ(a.started + b.started, 1);
  EXPECT_EQ(holder(), a.le->leading() ? "a" : "b");
}

// Verifies failover after a leader dies without releasing: the other replica takes over once
// the lease record has not changed for leaseDurationSeconds of its own clock.
TEST_F(LeaderElectionTest, FailoverAfterLeaderCrash) {
  auto& a = make("a");
  a.le->start();
  ASSERT_TRUE(wait([&] { return a.le->leading(); }));
  auto& b = make("b");
  b.le->start();
  ASSERT_TRUE(wait([&] { return b.clk->sleeps().size() >= 3; }));
  EXPECT_FALSE(b.le->leading());
  a.le->stop(false);  // the process died: no release
  const auto b_then = b.clk->now();
  ASSERT_TRUE(wait([&] { return b.le->leading(); }));
  EXPECT_GE(b.clk->now() - b_then, seconds(15) - seconds(5));
  EXPECT_EQ(holder(), "b");
  EXPECT_EQ(lease()["spec"]["leaseTransitions"], 1);
}

// Verifies that a graceful stop releases the lease so the next replica leads at its next try.
TEST_F(LeaderElectionTest, ReleaseHandsOverAtOnce) {
  auto& a = make("a");
  a.le->start();
  ASSERT_TRUE(wait([&] { return a.le->leading(); }));
  auto& b = make("b");
  b.le->start();
  ASSERT_TRUE(wait([&] { return b.clk->sleeps().size() >= 2; }));
  bool done = false;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        co_await a.le->shutdown(std::chrono::steady_clock::now() + seconds(5));
        done = true;
      },
      net::detached);
  ASSERT_TRUE(wait([&] { return done; }));
  EXPECT_EQ(a.stopped, 1);
  EXPECT_FALSE(a.le->running());
  const auto b_then = b.clk->now();
  ASSERT_TRUE(wait([&] { return b.le->leading(); }));
  EXPECT_LT(b.clk->now() - b_then, seconds(5));  // one retry period (with jitter), not 15 s
  EXPECT_EQ(holder(), "b");
}

// Verifies that a leader which cannot renew for renew_deadline stops leading, then leads again
// once the API lets it.
TEST_F(LeaderElectionTest, LostRenewalsStopLeading) {
  auto& a = make("a");
  a.le->start();
  ASSERT_TRUE(wait([&] { return a.le->leading(); }));
  server->knobs.forbidden_prefixes = {"/apis/coordination.k8s.io"};
  const auto then = a.clk->now();
  ASSERT_TRUE(wait([&] { return !a.le->leading() && a.stopped == 1; }));
  // renew_deadline (10 s) after the last good renewal, which was up to one retry period (2 s)
  // before `then`.
  EXPECT_GE(a.clk->now() - then, seconds(8));
  server->knobs.forbidden_prefixes.clear();
  ASSERT_TRUE(wait([&] { return a.le->leading() && a.started == 2; }));
}

// Verifies that hung Lease requests cannot keep a replica leading: with the exporter's client
// options every request ends after renew_deadline / 5, so failed renewals add up and leadership
// ends within renew_deadline (plus one attempt) of the last good renewal, before a standby could
// take the Lease. (With the API client's defaults one hung request lasts 60 s and 10 tries.)
TEST_F(LeaderElectionTest, HungRenewalsEndLeadershipBeforeTheLeaseExpires) {
  auto& a = make(
      "a",
      [](leader_election_options& o) {
        o.lease_duration = seconds(3);
        o.renew_deadline = seconds(1);  // requests bounded to 200 ms
        o.retry_period = seconds(1);
      },
      true);
  a.le->start();
  ASSERT_TRUE(wait([&] { return a.le->leading() && renewals() + server->lease_writes[201] >= 1; }));
  const auto last_good = a.clk->now();
  for (int i = 0; i < 50; ++i) {
    fake_apiserver::scripted stall;
    stall.path_prefix = "/apis/coordination.k8s.io/v1/namespaces/ke/leases";
    stall.what = fake_apiserver::scripted::action::stall;
    server->script(stall);
  }
  ASSERT_TRUE(wait([&] { return a.stopped == 1; }));
  EXPECT_FALSE(a.le->leading());
  EXPECT_LT(a.clk->now() - last_good, seconds(3));  // the lease duration
}

}  // namespace
}  // namespace ke::watch
