// Conformance of the fake API server to the checklist in kubernetes-api.md section 8 (what the
// watch tests rely on), exercised through the real API client.
#include "fakes/fake_apiserver.hpp"

#include <gtest/gtest.h>

#include "support/apiserver_fixture.hpp"

namespace ke::kube {
namespace {

using json = nlohmann::json;
using fakes::fake_apiserver;

struct collected {
  std::vector<json> events;
  api_response res;
  bool done = false;
};

class FakeApiServerTest : public test::ApiServerFixture {
 protected:
  std::shared_ptr<collected> start_watch(const std::string& target) {
    if (!api) make_api();
    auto c = std::make_shared<collected>();
    net::co_spawn(
        ioc,
        [this, c, target]() -> net::awaitable<void> {
          // Named first: GCC 12 destroys a capturing lambda temporary in a co_await twice.
          api_client::event_callback cb = [c](json ev) -> net::awaitable<bool> {
            c->events.push_back(std::move(ev));
            co_return true;
          };
          c->res = co_await api->watch(target, std::chrono::seconds(30), std::move(cb));
          c->done = true;
        },
        net::detached);
    return c;
  }

  void add_events(int n, const std::string& ns = "default") {
    for (int i = 0; i < n; ++i) {
      server->create_event(fake_apiserver::make_event(
          ns, "pod-" + std::to_string(i) + ".e", "Pulled", "pulled image " + std::to_string(i)));
    }
  }
};

// Verifies the EventList envelope, limit/continue paging, remainingItemCount and a constant list
// resourceVersion across pages.
TEST_F(FakeApiServerTest, ListPagesWithConstantRv) {
  add_events(5);
  auto r1 = get("/api/v1/events?limit=2&resourceVersion=0");
  ASSERT_TRUE(r1.ok()) << r1.describe();
  auto p1 = json::parse(r1.body);
  EXPECT_EQ(p1["kind"], "EventList");
  EXPECT_EQ(p1["items"].size(), 2u);
  EXPECT_EQ(p1["metadata"]["remainingItemCount"], 3);
  const std::string rv = p1["metadata"]["resourceVersion"];
  // A write between pages does not change what the next page shows.
  server->create_event(fake_apiserver::make_event("default", "zzz.e", "Pulled", "late"));
  auto r2 = get("/api/v1/events?limit=2&continue=" +
                query_escape(p1["metadata"]["continue"].get<std::string>()));
  auto p2 = json::parse(r2.body);
  EXPECT_EQ(p2["metadata"]["resourceVersion"], rv);
  auto r3 = get("/api/v1/events?limit=2&continue=" +
                query_escape(p2["metadata"]["continue"].get<std::string>()));
  auto p3 = json::parse(r3.body);
  EXPECT_EQ(p3["items"].size(), 1u);
  EXPECT_FALSE(p3["metadata"].contains("continue"));
}

// Verifies that an expired continue token gets 410 Expired carrying a fresh token.
TEST_F(FakeApiServerTest, ExpiredContinueTokenIs410WithFreshToken) {
  add_events(3);
  auto p1 = json::parse(get("/api/v1/events?limit=1").body);
  server->expire_continue_tokens();
  auto r = get("/api/v1/events?limit=1&continue=" +
               query_escape(p1["metadata"]["continue"].get<std::string>()));
  EXPECT_EQ(r.status, 410);
  const auto st = r.status_object();
  EXPECT_EQ(st.reason, "Expired");
  EXPECT_FALSE(st.continue_token.empty());
  auto again = get("/api/v1/events?limit=1&continue=" + query_escape(st.continue_token));
  EXPECT_TRUE(again.ok()) << again.describe();
}

// Verifies resourceVersion semantics on LIST: exact with limit (410 once compacted) and 504
// TooLarge with Retry-After for a future RV.
TEST_F(FakeApiServerTest, ListResourceVersionSemantics) {
  add_events(2);
  const std::string old_rv = server->current_rv();
  add_events(1, "other");
  auto exact = json::parse(get("/api/v1/events?limit=10&resourceVersion=" + old_rv).body);
  EXPECT_EQ(exact["items"].size(), 2u);
  server->compact();
  auto gone = get("/api/v1/events?limit=10&resourceVersion=" + old_rv);
  EXPECT_EQ(gone.status, 410);
  auto future = get("/api/v1/events?resourceVersion=999999");
  EXPECT_EQ(future.status, 504);
  EXPECT_EQ(future.status_object().retry_after_seconds, 1);
  ASSERT_TRUE(future.retry_after);
  EXPECT_NE(future.body.find("ResourceVersionTooLarge"), std::string::npos);
}

// Verifies 422 for resourceVersionMatch misuse and sendInitialEvents on a list, 400 for an
// unsupported field label, and that supported field selectors filter.
TEST_F(FakeApiServerTest, ValidationAndSelectors) {
  add_events(2);
  server->create_event(fake_apiserver::make_event("default", "x.e", "BackOff", "back-off"));
  EXPECT_EQ(get("/api/v1/events?resourceVersionMatch=Exact").status, 422);
  EXPECT_EQ(get("/api/v1/events?resourceVersion=0&resourceVersionMatch=Exact").status, 422);
  EXPECT_EQ(get("/api/v1/events?sendInitialEvents=true").status, 422);
  auto bad = get("/api/v1/events?fieldSelector=spec.foo%3Dbar");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.status_object().message.find("field label not supported"), std::string::npos);
  auto warn = json::parse(get("/api/v1/events?fieldSelector=type%3DWarning").body);
  ASSERT_EQ(warn["items"].size(), 1u);
  EXPECT_EQ(warn["items"][0]["reason"], "BackOff");
  auto not_pulled = json::parse(get("/api/v1/events?fieldSelector=reason!%3DPulled").body);
  EXPECT_EQ(not_pulled["items"].size(), 1u);
}

// Verifies a watch from RV=X: 200 + chunked JSON, only changes after X, MODIFIED with the count
// bump, DELETED with the last state, and a clean end.
TEST_F(FakeApiServerTest, WatchFromRvStreamsLaterChanges) {
  add_events(2);
  const std::string rv = server->current_rv();
  auto w = start_watch("/api/v1/events?allowWatchBookmarks=true&resourceVersion=" + rv +
                       "&timeoutSeconds=300&watch=1");
  ASSERT_TRUE(test::run_until(ioc, [&] { return server->open_watches() == 1; }));
  server->create_event(fake_apiserver::make_event("default", "new.e", "Created", "created"));
  server->bump_count("default", "new.e");
  server->delete_event("default", "new.e");
  ASSERT_TRUE(test::run_until(ioc, [&] { return w->events.size() == 3; }));
  server->end_watches();
  ASSERT_TRUE(test::run_until(ioc, [&] { return w->done; }));
  EXPECT_TRUE(w->res.ok()) << w->res.describe();
  EXPECT_EQ(w->events[0]["type"], "ADDED");
  EXPECT_EQ(w->events[0]["object"]["kind"], "Event");
  EXPECT_EQ(w->events[1]["type"], "MODIFIED");
  EXPECT_EQ(w->events[1]["object"]["count"], 2);
  EXPECT_EQ(w->events[2]["type"], "DELETED");
  EXPECT_EQ(w->events[2]["object"]["count"], 2);
  EXPECT_EQ(server->requests.back().status, 200);
}

// Verifies that a too-old RV gets 200 + one ERROR 410 event (reason Expired), or an HTTP 410,
// or reason Gone, as configured.
TEST_F(FakeApiServerTest, TooOldWatchForms) {
  add_events(1);
  const std::string old_rv = server->current_rv();
  add_events(1, "b");
  server->compact();
  auto w = start_watch("/api/v1/events?resourceVersion=" + old_rv + "&watch=1");
  ASSERT_TRUE(test::run_until(ioc, [&] { return w->done; }));
  ASSERT_EQ(w->events.size(), 1u);
  EXPECT_EQ(w->events[0]["type"], "ERROR");
  EXPECT_EQ(w->events[0]["object"]["code"], 410);
  EXPECT_EQ(w->events[0]["object"]["reason"], "Expired");

  server->knobs.too_old_reason = "Gone";
  server->knobs.too_old_as_http_410 = true;
  auto h = start_watch("/api/v1/events?resourceVersion=" + old_rv + "&watch=1");
  ASSERT_TRUE(test::run_until(ioc, [&] { return h->done; }));
  EXPECT_EQ(h->res.status, 410);
  EXPECT_EQ(h->res.status_object().reason, "Gone");
  EXPECT_TRUE(h->events.empty());
}

// Verifies that the same objects are served as events.k8s.io/v1 with the field mapping.
TEST_F(FakeApiServerTest, EventsK8sIoView) {
  add_events(1);
  auto list = json::parse(get("/apis/events.k8s.io/v1/events").body);
  ASSERT_EQ(list["items"].size(), 1u);
  const auto& e = list["items"][0];
  EXPECT_EQ(list["apiVersion"], "events.k8s.io/v1");
  EXPECT_EQ(e["note"], "pulled image 0");
  EXPECT_EQ(e["regarding"]["kind"], "Pod");
  EXPECT_EQ(e["deprecatedCount"], 1);
  EXPECT_EQ(e["reportingController"], "kubelet");
  EXPECT_FALSE(e.contains("message"));
}

// Verifies opaque (non-numeric) resourceVersions work end to end.
TEST_F(FakeApiServerTest, OpaqueResourceVersions) {
  fake_apiserver::options o;
  o.opaque_rvs = true;
  start_server(o);
  add_events(2);
  auto list = json::parse(get("/api/v1/events").body);
  const std::string rv = list["metadata"]["resourceVersion"];
  EXPECT_EQ(rv.find_first_not_of("0123456789"), 0u);
  auto w = start_watch("/api/v1/events?resourceVersion=" + query_escape(rv) + "&watch=1");
  ASSERT_TRUE(test::run_until(ioc, [&] { return server->open_watches() == 1; }));
  add_events(1, "later");
  ASSERT_TRUE(test::run_until(ioc, [&] { return w->events.size() == 1; }));
  server->end_watches();
  ASSERT_TRUE(test::run_until(ioc, [&] { return w->done; }));
}

// Verifies bookmarks are sent only when allowWatchBookmarks=true, and the watch-list mode
// (sendInitialEvents) ends its ADDED burst with the initial-events-end bookmark, or gets 422
// with the gate off.
TEST_F(FakeApiServerTest, BookmarksAndWatchList) {
  add_events(2);
  auto plain = start_watch("/api/v1/events?resourceVersion=" + server->current_rv() + "&watch=1");
  auto with = start_watch("/api/v1/events?allowWatchBookmarks=true&resourceVersion=" +
                          server->current_rv() + "&watch=1");
  ASSERT_TRUE(test::run_until(ioc, [&] { return server->open_watches() == 2; }));
  server->send_bookmark();
  ASSERT_TRUE(test::run_until(ioc, [&] { return with->events.size() == 1; }));
  EXPECT_EQ(with->events[0]["type"], "BOOKMARK");
  EXPECT_EQ(with->events[0]["object"]["metadata"]["resourceVersion"], server->current_rv());
  server->end_watches();
  ASSERT_TRUE(test::run_until(ioc, [&] { return plain->done && with->done; }));
  EXPECT_TRUE(plain->events.empty());

  auto wl = start_watch(
      "/api/v1/events?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&"
      "resourceVersionMatch=NotOlderThan");
  ASSERT_TRUE(test::run_until(ioc, [&] { return wl->events.size() == 3; }));
  EXPECT_EQ(wl->events[0]["type"], "ADDED");
  EXPECT_EQ(wl->events[2]["type"], "BOOKMARK");
  EXPECT_EQ(wl->events[2]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
            "true");
  server->end_watches();
  ASSERT_TRUE(test::run_until(ioc, [&] { return wl->done; }));

  server->knobs.watch_list_gate = false;
  auto off = start_watch(
      "/api/v1/events?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&"
      "resourceVersionMatch=NotOlderThan");
  ASSERT_TRUE(test::run_until(ioc, [&] { return off->done; }));
  EXPECT_EQ(off->res.status, 422);
}

// Verifies that timeoutSeconds closes the watch cleanly (scaled down for the test).
TEST_F(FakeApiServerTest, TimeoutSecondsEndsWatchCleanly) {
  server->knobs.watch_timeout_scale = 0.001;  // 300 s -> 300 ms
  auto w = start_watch("/api/v1/events?resourceVersion=" + server->current_rv() +
                       "&timeoutSeconds=300&watch=1");
  ASSERT_TRUE(test::run_until(ioc, [&] { return w->done; }));
  EXPECT_TRUE(w->res.ok()) << w->res.describe();
}

// Verifies the APF-style 429 (text/plain, Retry-After, priority headers) and 401 for a missing
// or wrong token, 403 for a forbidden path.
TEST_F(FakeApiServerTest, ThrottlingAndAuthErrors) {
  server->script_429(fake_apiserver::scripted::match::list, 7);
  api_client::get_options once;
  once.max_tries = 1;
  auto r = get("/api/v1/events", once);
  EXPECT_EQ(r.status, 429);
  ASSERT_TRUE(r.retry_after);
  EXPECT_EQ(r.retry_after->count(), 7);
  EXPECT_EQ(r.status_object().message, "Too many requests, please try again later.");
  server->knobs.tokens = {"good"};
  auto unauth = get("/api/v1/events");
  EXPECT_EQ(unauth.status, 401);
  EXPECT_EQ(unauth.status_object().reason, "Unauthorized");
  server->knobs.tokens.clear();
  server->knobs.forbidden_prefixes = {"/api/v1/events"};
  EXPECT_EQ(get("/api/v1/events").status, 403);
}

// Verifies the Lease rules leader election relies on: create, duplicate POST 409
// AlreadyExists, PUT without resourceVersion 422, stale resourceVersion 409 Conflict with the
// registry's message, PUT to a missing name creates (201), and MicroTime validation.
TEST_F(FakeApiServerTest, LeaseOptimisticConcurrency) {
  make_api();
  const std::string base = "/apis/coordination.k8s.io/v1/namespaces/ke/leases";
  auto send = [&](http::verb v, const std::string& target, const json& body) {
    auto r = test::try_run_coro(ioc, api->send(v, target, body.dump()));
    EXPECT_TRUE(r.has_value());
    return r.value_or(api_response{});
  };
  json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "l1"}}},
                {"spec",
                 {{"holderIdentity", "a"},
                  {"leaseDurationSeconds", 15},
                  {"renewTime", "2026-01-01T00:00:00.000000Z"}}}};
  auto created = send(http::verb::post, base, lease);
  EXPECT_EQ(created.status, 201);
  EXPECT_EQ(send(http::verb::post, base, lease).status_object().reason, "AlreadyExists");
  auto no_rv = send(http::verb::put, base + "/l1", lease);
  EXPECT_EQ(no_rv.status, 422);
  auto current = json::parse(get(base + "/l1").body);
  json stale = current;
  stale["metadata"]["resourceVersion"] = "1";
  auto conflict = send(http::verb::put, base + "/l1", stale);
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.status_object().message,
            "Operation cannot be fulfilled on leases.coordination.k8s.io \"l1\": the object has "
            "been modified; please apply your changes to the latest version and try again");
  current["spec"]["holderIdentity"] = "b";
  EXPECT_EQ(send(http::verb::put, base + "/l1", current).status, 200);
  json fresh = lease;
  fresh["metadata"]["name"] = "l2";
  EXPECT_EQ(send(http::verb::put, base + "/l2", fresh).status, 201);
  json bad_time = lease;
  bad_time["metadata"]["name"] = "l3";
  bad_time["spec"]["renewTime"] = "2026-01-01T00:00:00Z";
  EXPECT_EQ(send(http::verb::post, base, bad_time).status, 400);
  EXPECT_EQ(get(base + "/nope").status, 404);
}

}  // namespace
}  // namespace ke::kube
