#include "watch/reflector.hpp"

#include <gtest/gtest.h>

#include "support/apiserver_fixture.hpp"

namespace ke::watch {
namespace {

using json = nlohmann::json;
using fakes::fake_apiserver;
using match = fake_apiserver::scripted::match;
using std::chrono::milliseconds;
using std::chrono::seconds;

class ReflectorTest : public test::ApiServerFixture {
 protected:
  std::vector<reflector_item> items;
  std::unique_ptr<reflector> refl;
  bool done = false;
  std::function<void(const reflector_item&)> on_item;

  reflector_options opts(const std::string& path = "/api/v1/events") {
    reflector_options o;
    o.path = path;
    o.random = [] { return 1.0; };  // backoff delays at their ceiling: exact sequences
    o.watch_list = false;           // paged lists; the WatchList tests turn it on
    return o;
  }

  void start(reflector_options o) {
    make_api();
    refl = std::make_unique<reflector>(*api, clk, &metrics, o,
                                       [this](reflector_item it) -> net::awaitable<void> {
                                         if (on_item) on_item(it);
                                         items.push_back(std::move(it));
                                         co_return;
                                       });
    net::co_spawn(
        ioc,
        [this]() -> net::awaitable<void> {
          co_await refl->run();
          done = true;
        },
        net::detached);
  }
  void start() { start(opts()); }

  void TearDown() override {
    if (refl) {
      refl->stop();
      EXPECT_TRUE(test::run_until(ioc, [&] { return done; })) << "run() did not return";
    }
    ApiServerFixture::TearDown();
  }

  bool wait(const std::function<bool()>& pred) { return test::run_until(ioc, pred); }
  bool watching() { return server->open_watches() == 1; }

  void add(const std::string& ns, const std::string& name, const std::string& reason = "Pulled") {
    server->create_event(fake_apiserver::make_event(ns, name, reason, reason + " " + name));
  }

  std::vector<fake_apiserver::request_info> list_requests() const {
    std::vector<fake_apiserver::request_info> out;
    for (const auto& r : server->requests) {
      if (!r.watch) out.push_back(r);
    }
    return out;
  }
  const fake_apiserver::request_info& last_watch() const {
    for (auto it = server->requests.rbegin(); it != server->requests.rend(); ++it) {
      if (it->watch) return *it;
    }
    throw std::runtime_error("no watch");
  }
};

// Verifies the first list: resourceVersion=0, limit=500, continue tokens for the next pages,
// every item handed out as an initial-list item; then a watch from the list's RV with
// allowWatchBookmarks and timeoutSeconds in [300, 600).
TEST_F(ReflectorTest, PagedInitialListThenWatch) {
  for (int i = 0; i < 1203; ++i) add("default", "p" + std::to_string(10000 + i) + ".e");
  const std::string list_rv = server->current_rv();
  auto o = opts();
  o.random = [] { return 0.5; };
  start(o);
  ASSERT_TRUE(wait([&] { return watching(); }));
  ASSERT_EQ(items.size(), 1203u);
  EXPECT_TRUE(items.front().initial_list);
  EXPECT_EQ(items.front().kind, item_kind::listed);
  const auto lists = list_requests();
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[0].query.at("resourceVersion"), "0");
  EXPECT_EQ(lists[0].query.at("limit"), "500");
  EXPECT_EQ(lists[1].query.count("resourceVersion"), 0u);
  EXPECT_FALSE(lists[1].query.at("continue").empty());
  EXPECT_FALSE(lists[2].query.at("continue").empty());
  const auto& w = last_watch();
  EXPECT_EQ(w.query.at("resourceVersion"), list_rv);
  EXPECT_EQ(w.query.at("allowWatchBookmarks"), "true");
  const int t = std::stoi(w.query.at("timeoutSeconds"));
  EXPECT_GE(t, 300);
  EXPECT_LT(t, 600);
  EXPECT_TRUE(refl->synced());
  EXPECT_EQ(refl->resource_version(), list_rv);
}

// Verifies that watch events reach the handler and move the RV; a clean end re-watches from the
// last RV at once, without a relist or a backoff.
TEST_F(ReflectorTest, CleanCloseRewatchesFromLastRv) {
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  add("default", "a.e");
  server->bump_count("default", "a.e");
  ASSERT_TRUE(wait([&] { return items.size() == 2; }));
  EXPECT_EQ(items[0].kind, item_kind::added);
  EXPECT_EQ(items[1].kind, item_kind::modified);
  const std::string rv = server->current_rv();
  server->end_watches();
  ASSERT_TRUE(wait([&] { return server->watches() == 2 && watching(); }));
  EXPECT_EQ(last_watch().query.at("resourceVersion"), rv);
  EXPECT_EQ(server->lists(), 1u);
  EXPECT_TRUE(clk.sleeps().empty());
  EXPECT_EQ(metrics.watch_errors.value(), 0);
}

// Verifies that an ERROR 410 event mid-stream (compaction) leads to a backoff and a relist at
// resourceVersion="" (not 0), then a new watch from the new list's RV.
TEST_F(ReflectorTest, Error410MidStreamRelists) {
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  add("default", "a.e");
  ASSERT_TRUE(wait([&] { return items.size() == 1; }));
  server->compact(/*break_watches=*/true);
  ASSERT_TRUE(wait([&] { return server->watches() == 2 && watching(); }));
  const auto lists = list_requests();
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[1].query.at("resourceVersion"), "");
  EXPECT_EQ(refl->counters().relists_after_410, 1u);
  EXPECT_EQ(clk.sleeps(), (std::vector<clock::duration>{milliseconds(800)}));
  EXPECT_EQ(metrics.watch_errors.value(), 1);
  // The relisted item is marked as not initial.
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].kind, item_kind::listed);
  EXPECT_FALSE(items[1].initial_list);
}

// Verifies the quiet-namespace case: a re-watch from an RV that was compacted meanwhile gets
// 200 + ERROR 410 (reason Gone here, as old servers send) and relists.
TEST_F(ReflectorTest, QuietNamespaceRewatchGets410AndRelists) {
  server->knobs.too_old_reason = "Gone";
  start(opts("/api/v1/namespaces/quiet/events"));
  ASSERT_TRUE(wait([&] { return watching(); }));
  for (int i = 0; i < 3; ++i) add("busy", "b" + std::to_string(i) + ".e");
  server->compact();
  clk.advance(seconds(300));  // the quiet watch ran for its whole timeout
  server->end_watches();      // the server's timeout
  ASSERT_TRUE(wait([&] { return server->lists() == 2 && watching(); }));
  EXPECT_EQ(refl->counters().relists_after_410, 1u);
  EXPECT_TRUE(items.empty());
}

// Verifies that an HTTP 410 on the watch request also relists.
TEST_F(ReflectorTest, Http410OnWatchRelists) {
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  fake_apiserver::scripted s;
  s.on = match::watch;
  s.status = 410;
  s.body = fake_apiserver::status(410, "Expired", "too old resource version: 5 (9)").dump();
  server->script(s);
  clk.advance(seconds(300));
  server->end_watches();
  ASSERT_TRUE(wait([&] { return server->lists() == 2 && watching(); }));
  EXPECT_EQ(refl->counters().relists_after_410, 1u);
}

// Verifies that an expired continue token (410 on page 2) restarts the list from page one at
// resourceVersion="".
TEST_F(ReflectorTest, ExpiredContinueTokenRestartsList) {
  for (int i = 0; i < 12; ++i) add("default", "p" + std::to_string(10 + i) + ".e");
  auto o = opts();
  o.page_size = 5;
  on_item = [&](const reflector_item&) {
    if (items.empty()) server->expire_continue_tokens();  // while page 1 is handled
  };
  start(o);
  ASSERT_TRUE(wait([&] { return watching(); }));
  const auto lists = list_requests();
  ASSERT_EQ(lists.size(), 5u);
  EXPECT_EQ(lists[0].query.at("resourceVersion"), "0");
  EXPECT_EQ(lists[1].status, 410);
  EXPECT_EQ(lists[2].query.at("resourceVersion"), "");
  EXPECT_EQ(lists[2].query.count("continue"), 0u);
  EXPECT_EQ(lists[3].status, 200);
  EXPECT_EQ(lists[4].status, 200);
  EXPECT_EQ(items.size(), 5u + 12u);  // page one twice: the event filter drops the repeats
  EXPECT_EQ(metrics.watch_errors.value(), 1);
}

// Verifies that a 429 on the watch request is retried after Retry-After by the client, and a
// 429 that outlasts the retries makes the reflector back off and re-watch without relisting.
TEST_F(ReflectorTest, TooManyRequestsOnWatch) {
  server->script_429(match::watch, 2);
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  EXPECT_EQ(clk.sleeps(), (std::vector<clock::duration>{seconds(2)}));
  clk.clear_sleeps();
  for (int i = 0; i < 10; ++i) server->script_429(match::watch, 1);
  clk.advance(seconds(300));
  server->end_watches();
  ASSERT_TRUE(wait([&] { return server->watches() == 13 && watching(); }));
  EXPECT_EQ(server->lists(), 1u);
  // Nine Retry-After waits inside the client, then one reflector backoff.
  ASSERT_EQ(clk.sleeps().size(), 10u);
  EXPECT_EQ(clk.sleeps().back(), milliseconds(800));
}

// Verifies that an abrupt close (TCP reset mid-stream, no terminating chunk) is counted as an
// error and re-watched from the last RV after a backoff, without relisting.
TEST_F(ReflectorTest, AbruptCloseRewatchesFromLastRv) {
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  add("default", "a.e");
  ASSERT_TRUE(wait([&] { return items.size() == 1; }));
  const std::string rv = server->current_rv();
  server->abort_watches();
  ASSERT_TRUE(wait([&] { return server->watches() == 2 && watching(); }));
  EXPECT_EQ(last_watch().query.at("resourceVersion"), rv);
  EXPECT_EQ(server->lists(), 1u);
  EXPECT_EQ(metrics.watch_errors.value(), 1);
  EXPECT_EQ(clk.sleeps(), (std::vector<clock::duration>{milliseconds(800)}));
}

// Verifies that a watch closing at once with no events ("very short watch") is an error that
// relists after a backoff.
TEST_F(ReflectorTest, VeryShortWatchRelists) {
  fake_apiserver::scripted s;
  s.on = match::watch;
  s.what = fake_apiserver::scripted::action::empty_watch;
  server->script(s);
  start();
  ASSERT_TRUE(wait([&] { return server->lists() == 2 && watching(); }));
  EXPECT_EQ(metrics.watch_errors.value(), 1);
  EXPECT_EQ(clk.sleeps(), (std::vector<clock::duration>{milliseconds(800)}));
}

// Verifies that an endless stream of bookmarks moves the RV without producing items or
// relists, and the next watch starts from the last bookmark.
TEST_F(ReflectorTest, EndlessBookmarks) {
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 100; ++i) server->send_bookmark();
    add("default", "x" + std::to_string(round) + ".e");  // interleaved real events
  }
  ASSERT_TRUE(
      wait([&] { return refl->resource_version() == server->current_rv() && items.size() == 50; }));
  const std::size_t real_events = items.size();
  EXPECT_EQ(real_events, 50u);
  EXPECT_EQ(server->lists(), 1u);
  for (int i = 0; i < 3000; ++i) server->send_bookmark();
  server->end_watches();
  ASSERT_TRUE(wait([&] { return server->watches() == 2 && watching(); }));
  EXPECT_EQ(last_watch().query.at("resourceVersion"), server->current_rv());
  EXPECT_EQ(items.size(), real_events);
  EXPECT_EQ(metrics.watch_errors.value(), 0);
}

// Verifies the backoff: 0.8 s doubling to the 30 s cap while the API keeps failing, and back to
// 0.8 s after two minutes without failures.
TEST_F(ReflectorTest, BackoffDoublesCapsAndResets) {
  fake_apiserver::scripted forbidden;
  forbidden.on = match::list;
  forbidden.status = 403;
  forbidden.body = fake_apiserver::status(403, "Forbidden", "events is forbidden").dump();
  for (int i = 0; i < 8; ++i) server->script(forbidden);
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  EXPECT_EQ(clk.sleeps(), (std::vector<clock::duration>{milliseconds(800), milliseconds(1600),
                                                        milliseconds(3200), milliseconds(6400),
                                                        milliseconds(12800), milliseconds(25600),
                                                        milliseconds(30000), milliseconds(30000)}));
  EXPECT_EQ(metrics.watch_errors.value(), 8);
  clk.clear_sleeps();
  // Healthy for two minutes, then one failure: the first delay again.
  clk.advance(seconds(121));
  server->abort_watches();
  ASSERT_TRUE(wait([&] { return server->watches() == 2 && watching(); }));
  EXPECT_EQ(clk.sleeps(), (std::vector<clock::duration>{milliseconds(800)}));
}

// Verifies that a stalled stream (no bytes) fails at the idle timeout and is re-watched.
TEST_F(ReflectorTest, StalledStreamHitsIdleTimeout) {
  auto o = opts();
  o.watch_idle_timeout = milliseconds(200);
  server->knobs.stall_watches = true;
  start(o);
  ASSERT_TRUE(wait([&] { return watching(); }));
  add("default", "a.e");
  ASSERT_TRUE(wait([&] { return server->watches() >= 2; }));
  EXPECT_GE(metrics.watch_errors.value(), 1);
  EXPECT_EQ(server->lists(), 1u);
  server->knobs.stall_watches = false;
}

// Verifies that an ERROR event with another status (500) relists after a backoff.
TEST_F(ReflectorTest, ErrorEvent500Relists) {
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  server->send_watch_error(fake_apiserver::status(500, "InternalError", "etcd went away"));
  ASSERT_TRUE(wait([&] { return server->lists() == 2 && watching(); }));
  EXPECT_EQ(metrics.watch_errors.value(), 1);
}

// Verifies that opaque, non-numeric resourceVersions are passed through unchanged.
TEST_F(ReflectorTest, OpaqueResourceVersions) {
  fake_apiserver::options fo;
  fo.opaque_rvs = true;
  start_server(fo);
  add("default", "a.e");
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  add("default", "b.e");
  ASSERT_TRUE(wait([&] { return items.size() == 2; }));
  const std::string rv = server->current_rv();
  EXPECT_EQ(rv.front(), 'q');
  server->end_watches();
  ASSERT_TRUE(wait([&] { return server->watches() == 2 && watching(); }));
  EXPECT_EQ(last_watch().query.at("resourceVersion"), rv);
}

// Verifies that a slow handler slows the reading down instead of queueing: every event is
// handed on in order, on the same watch, with no relist and nothing lost.
TEST_F(ReflectorTest, SlowHandlerHoldsTheStream) {
  make_api();
  bool release = false;
  std::size_t waiting = 0;
  net::steady_timer gate(ioc, std::chrono::steady_clock::time_point::max());
  refl = std::make_unique<reflector>(
      *api, clk, &metrics, opts(), [&](reflector_item it) -> net::awaitable<void> {
        while (!release && it.kind != item_kind::listed) {
          ++waiting;
          boost::system::error_code ec;
          gate.expires_at(std::chrono::steady_clock::time_point::max());
          co_await gate.async_wait(net::redirect_error(net::use_awaitable, ec));
          --waiting;
        }
        items.push_back(std::move(it));
      });
  net::co_spawn(
      ioc,
      [this]() -> net::awaitable<void> {
        co_await refl->run();
        done = true;
      },
      net::detached);
  ASSERT_TRUE(wait([&] { return watching(); }));
  for (int i = 0; i < 20; ++i) add("default", "e" + std::to_string(10 + i) + ".e");
  ASSERT_TRUE(wait([&] { return waiting == 1; }));
  EXPECT_TRUE(items.empty());
  release = true;
  gate.cancel();
  ASSERT_TRUE(wait([&] { return items.size() == 20; }));
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(items[static_cast<std::size_t>(i)].object["metadata"]["name"],
              "e" + std::to_string(10 + i) + ".e");
  }
  EXPECT_EQ(server->lists(), 1u);
  EXPECT_EQ(server->watches(), 1u);
  EXPECT_EQ(metrics.watch_errors.value(), 0);
}

// Verifies a list answered in one response whatever the limit (the watch cache for RV=0):
// every item handed on, the list's RV taken, no continue.
TEST_F(ReflectorTest, ListIgnoringLimitStreamsEveryItem) {
  server->knobs.list_ignores_limit = true;
  for (int i = 0; i < 1200; ++i) add("default", "e" + std::to_string(i));
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  EXPECT_EQ(items.size(), 1200u);
  EXPECT_EQ(server->lists(), 1u);
  EXPECT_EQ(refl->resource_version(), server->current_rv());
}

// Verifies watch-list: one watch with sendInitialEvents=true, resourceVersionMatch=NotOlderThan
// and resourceVersion=""; the ADDED events before the initial-events-end bookmark are the
// initial list; the watch then goes on from the bookmark's RV with no LIST request at all.
TEST_F(ReflectorTest, WatchListBringsTheInitialState) {
  for (int i = 0; i < 30; ++i) add("default", "e" + std::to_string(i));
  auto o = opts();
  o.watch_list = true;
  start(o);
  ASSERT_TRUE(wait([&] { return refl->synced(); }));
  EXPECT_EQ(items.size(), 30u);
  for (const auto& it : items) {
    EXPECT_EQ(it.kind, item_kind::listed);
    EXPECT_TRUE(it.initial_list);
  }
  const auto& w = last_watch();
  EXPECT_EQ(w.query.at("sendInitialEvents"), "true");
  EXPECT_EQ(w.query.at("resourceVersionMatch"), "NotOlderThan");
  EXPECT_EQ(w.query.at("resourceVersion"), "");
  EXPECT_EQ(w.query.at("allowWatchBookmarks"), "true");
  EXPECT_EQ(refl->resource_version(), server->current_rv());
  add("default", "later");
  ASSERT_TRUE(wait([&] { return items.size() == 31; }));
  EXPECT_EQ(items.back().kind, item_kind::added);
  EXPECT_EQ(server->lists(), 0u);
  EXPECT_EQ(server->watches(), 1u);
  EXPECT_EQ(refl->counters().lists, 1u);
}

// Verifies the fallback: a server with the WatchList gate off answers 422; the reflector lists
// with pages instead, and does not ask for watch-list again (a later relist is a LIST too).
TEST_F(ReflectorTest, WatchListRefusedFallsBackToPagedLists) {
  server->knobs.watch_list_gate = false;
  for (int i = 0; i < 3; ++i) add("default", "e" + std::to_string(i));
  auto o = opts();
  o.watch_list = true;
  start(o);
  ASSERT_TRUE(wait([&] { return watching() && refl->synced(); }));
  EXPECT_EQ(items.size(), 3u);
  EXPECT_EQ(server->lists(), 1u);
  EXPECT_EQ(metrics.watch_errors.value(), 0);
  server->compact(true);
  ASSERT_TRUE(wait([&] { return refl->counters().lists == 2 && watching(); }));
  EXPECT_EQ(server->lists(), 2u);
  EXPECT_EQ(server->count_requests([](const fake_apiserver::request_info& r) {
    return r.query.count("sendInitialEvents") > 0;
  }),
            1u);
}

// Verifies that a watch-list that breaks off before its bookmark is started over (after
// backoff), and the reflector is synced only by the complete one.
TEST_F(ReflectorTest, WatchListBrokenBeforeItsBookmarkStartsOver) {
  for (int i = 0; i < 5; ++i) add("default", "e" + std::to_string(i));
  auto o = opts();
  o.watch_list = true;
  bool aborted = false;
  on_item = [&](const reflector_item&) {
    if (!aborted) {
      aborted = true;
      server->abort_watches();
    }
  };
  start(o);
  ASSERT_TRUE(wait([&] { return refl->synced() && watching(); }));
  EXPECT_EQ(server->watches(), 2u);
  EXPECT_EQ(server->lists(), 0u);
  EXPECT_GE(items.size(), 5u);
  EXPECT_EQ(refl->resource_version(), server->current_rv());
}

}  // namespace
}  // namespace ke::watch
