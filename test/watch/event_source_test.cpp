#include "watch/event_source.hpp"

#include <gtest/gtest.h>

#include "core/go_json.hpp"
#include "support/apiserver_fixture.hpp"
#include "watch/event_filter.hpp"
#include "watch/events_v1.hpp"

namespace ke::watch {
namespace {

using json = nlohmann::json;
using fakes::fake_apiserver;
using match = fake_apiserver::scripted::match;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string iso(std::chrono::system_clock::time_point t) {
  return format_rfc3339(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

json ev(const std::string& uid, const std::string& rv, int count) {
  return {{"metadata", {{"uid", uid}, {"resourceVersion", rv}, {"name", uid}}},
          {"count", count},
          {"lastTimestamp", iso(std::chrono::system_clock::now())}};
}

// ---- event_filter ------------------------------------------------------------------------------

class EventFilterTest : public ::testing::Test {
 protected:
  net::io_context ioc;
  manual_clock clk{ioc.get_executor()};
  ke::metrics metrics{""};
  filter_options opt;
  event_filter make() { return event_filter(opt, clk, &metrics); }
};

// Verifies that ADDED is emitted, DELETED never, and a watch re-delivery of the same
// (uid, resourceVersion) is a duplicate.
TEST_F(EventFilterTest, AddedDeletedDuplicate) {
  auto f = make();
  EXPECT_EQ(f.decide(item_kind::added, false, ev("u1", "1", 1)), verdict::emit);
  EXPECT_EQ(f.decide(item_kind::added, false, ev("u1", "1", 1)), verdict::duplicate);
  EXPECT_EQ(f.decide(item_kind::deleted, false, ev("u1", "2", 1)), verdict::deleted);
  EXPECT_EQ(f.size(), 0u);
}

// Verifies that a MODIFIED that grows count is a repeat, one that does not is not exported, and
// the switch turns repeats off.
TEST_F(EventFilterTest, ModifiedCountGrowth) {
  auto f = make();
  EXPECT_EQ(f.decide(item_kind::added, false, ev("u1", "1", 1)), verdict::emit);
  EXPECT_EQ(f.decide(item_kind::modified, false, ev("u1", "2", 2)), verdict::emit_repeat);
  EXPECT_EQ(f.decide(item_kind::modified, false, ev("u1", "3", 2)), verdict::unchanged);
  opt.repeated_events = false;
  auto off = make();
  EXPECT_EQ(off.decide(item_kind::added, false, ev("u1", "1", 1)), verdict::emit);
  EXPECT_EQ(off.decide(item_kind::modified, false, ev("u1", "2", 2)), verdict::repeat_off);
  EXPECT_EQ(off.decide(item_kind::modified, false, ev("u9", "5", 3)), verdict::repeat_off);
}

// Verifies that series.count growth (events.k8s.io style) counts as a repeat.
TEST_F(EventFilterTest, SeriesCountGrowth) {
  auto f = make();
  json a = ev("u1", "1", 0);
  a["series"] = {{"count", 2}, {"lastObservedTime", iso(std::chrono::system_clock::now())}};
  EXPECT_EQ(f.decide(item_kind::added, false, a), verdict::emit);
  a["metadata"]["resourceVersion"] = "2";
  a["series"]["count"] = 5;
  EXPECT_EQ(f.decide(item_kind::modified, false, a), verdict::emit_repeat);
}

// Verifies relist rules: a seen (uid, rv) is skipped, a grown count is a repeat, an unknown event
// (missed while the watch was down) is emitted, with no age filter after startup.
TEST_F(EventFilterTest, RelistNeverReemits) {
  auto f = make();
  EXPECT_EQ(f.decide(item_kind::added, false, ev("u1", "1", 1)), verdict::emit);
  EXPECT_EQ(f.decide(item_kind::added, false, ev("u2", "2", 1)), verdict::emit);
  EXPECT_EQ(f.decide(item_kind::listed, false, ev("u1", "1", 1)), verdict::duplicate);
  EXPECT_EQ(f.decide(item_kind::listed, false, ev("u2", "7", 3)), verdict::emit_repeat);
  json old = ev("u3", "8", 1);
  old["lastTimestamp"] = "2001-01-01T00:00:00Z";
  EXPECT_EQ(f.decide(item_kind::listed, false, old), verdict::emit);
  EXPECT_EQ(f.decide(item_kind::listed, false, old), verdict::duplicate);
}

// Verifies maxEventAgeSeconds on the initial list: old and timestamp-less events are discarded,
// counted only when newer than the process start; a later repeat of one is still exported.
TEST_F(EventFilterTest, InitialListAgeFilter) {
  opt.max_event_age_seconds = 5;
  opt.process_start = std::chrono::system_clock::now() - seconds(60);
  auto f = make();
  json fresh = ev("u1", "1", 1);
  EXPECT_EQ(f.decide(item_kind::listed, true, fresh), verdict::emit);
  json before_start = ev("u2", "2", 1);
  before_start["lastTimestamp"] = iso(std::chrono::system_clock::now() - seconds(3600));
  EXPECT_EQ(f.decide(item_kind::listed, true, before_start), verdict::too_old);
  EXPECT_EQ(metrics.events_discarded.value(), 0);
  json after_start = ev("u3", "3", 1);
  after_start["lastTimestamp"] = iso(std::chrono::system_clock::now() - seconds(30));
  EXPECT_EQ(f.decide(item_kind::listed, true, after_start), verdict::too_old);
  EXPECT_EQ(metrics.events_discarded.value(), 1);
  json no_time = ev("u4", "4", 1);
  no_time.erase("lastTimestamp");
  EXPECT_EQ(f.decide(item_kind::listed, true, no_time), verdict::too_old);
  json event_time_only = ev("u5", "5", 0);
  event_time_only.erase("lastTimestamp");
  event_time_only["eventTime"] = "2026-01-01T00:00:00.000000Z";
  EXPECT_NE(event_filter::age_time_ns(event_time_only), 0);
  // The discarded one happens again: exported.
  before_start["metadata"]["resourceVersion"] = "9";
  before_start["count"] = 2;
  EXPECT_EQ(f.decide(item_kind::modified, false, before_start), verdict::emit_repeat);
}

// Verifies that events are forgotten after the seen window and when over max_entries.
TEST_F(EventFilterTest, BoundedMemory) {
  opt.seen_window = seconds(3900);
  opt.max_entries = 3;
  auto f = make();
  for (int i = 0; i < 5; ++i) {
    f.decide(item_kind::added, false, ev("u" + std::to_string(i), "1", 1));
  }
  f.decide(item_kind::added, false, ev("uX", "1", 1));
  EXPECT_LE(f.size(), 4u);
  clk.advance(seconds(3901));
  EXPECT_EQ(f.decide(item_kind::listed, false, ev("u4", "1", 1)), verdict::emit);
  EXPECT_EQ(f.size(), 1u);
}

// Verifies the events.k8s.io/v1 -> core/v1 field mapping.
TEST(EventsV1, MapsOntoCoreFields) {
  json in = {{"metadata", {{"name", "n"}}},
             {"regarding", {{"kind", "Pod"}}},
             {"note", "hello"},
             {"reportingController", "kubelet"},
             {"deprecatedSource", {{"component", "kubelet"}}},
             {"deprecatedCount", 3},
             {"deprecatedLastTimestamp", "2026-01-01T00:00:00Z"},
             {"series", {{"count", 4}}},
             {"kind", "Event"}};
  json out = events_v1_to_core(in);
  EXPECT_EQ(out["involvedObject"]["kind"], "Pod");
  EXPECT_EQ(out["message"], "hello");
  EXPECT_EQ(out["reportingComponent"], "kubelet");
  EXPECT_EQ(out["source"]["component"], "kubelet");
  EXPECT_EQ(out["count"], 3);
  EXPECT_EQ(out["lastTimestamp"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(out["series"]["count"], 4);
  EXPECT_FALSE(out.contains("note"));
  EXPECT_FALSE(out.contains("kind"));
}

// ---- event_source end to end -------------------------------------------------------------------

// Five Events about one pod (same uid and resourceVersion), all arriving while the first lookup's
// GET waits for a kubeQPS token.
void burst_about(fake_apiserver& server, const std::string& pod) {
  for (int i = 0; i < 5; ++i) {
    server.create_event(fake_apiserver::make_event("default", pod + ".e" + std::to_string(i),
                                                   "BackOff", "Back-off restarting"));
  }
}

class EventSourceTest : public test::ApiServerFixture {
 protected:
  std::vector<record_ptr> records;
  std::unique_ptr<event_source> src;
  event_source_options o;

  void SetUp() override {
    ApiServerFixture::SetUp();
    o.reflector.random = [] { return 1.0; };
    // Paged lists: these tests count list requests and the tokens lists take (a watch-list is
    // a watch: no token). Watch-list itself is the reflector's (reflector_test.cpp, e2e).
    o.reflector.watch_list = false;
    o.max_event_age_seconds = 3600;
    server->add_resource("v1", "pods", "Pod", true);
    server->add_resource("v1", "nodes", "Node", false);
    server->add_resource("apps/v1", "deployments", "Deployment", true);
  }
  void TearDown() override {
    if (src) {
      auto stopped = test::try_run_coro(ioc, [this]() -> net::awaitable<bool> {
        co_await src->stop(std::chrono::steady_clock::now() + seconds(5));
        co_return true;
      }());
      EXPECT_TRUE(stopped);
      EXPECT_FALSE(src->running());
    }
    ApiServerFixture::TearDown();
  }

  // real_time: the source's own steady clock instead of the manual one, so that token bucket
  // waits take real time (a lookup stalled behind kubeQPS).
  void start(bool real_time = false) {
    std::string error;
    src = event_source::create(
        ioc.get_executor(), rc, o,
        [this](record_ptr r) -> net::awaitable<void> {
          records.push_back(std::move(r));
          co_return;
        },
        metrics, &error, real_time ? nullptr : &clk);
    ASSERT_TRUE(src) << error;
    src->start();
  }

  bool wait(const std::function<bool()>& pred) { return test::run_until(ioc, pred); }
  bool watching() { return server->open_watches() == 1; }

  json pod(const std::string& ns, const std::string& name) {
    return server->put_object("v1", "pods",
                              {{"apiVersion", "v1"},
                               {"kind", "Pod"},
                               {"metadata",
                                {{"name", name},
                                 {"namespace", ns},
                                 {"uid", "uid-" + name},
                                 {"labels", {{"app", "web"}, {"team", "a"}}},
                                 {"annotations", {{"note", "x"}}},
                                 {"ownerReferences",
                                  {{{"apiVersion", "apps/v1"},
                                    {"kind", "ReplicaSet"},
                                    {"name", "web-1"},
                                    {"uid", "rs-uid"},
                                    {"controller", true}}}}}}});
  }

  json add(const std::string& ns, const std::string& name, const std::string& reason = "Pulled") {
    return server->create_event(fake_apiserver::make_event(ns, name, reason, reason + " " + name));
  }

  // Real time, five Events about Pod "crashy" (burst_about): all five shipped, in order, after
  // one GET of the Pod.
  void five_events_one_get() {
    start(/*real_time=*/true);
    ASSERT_TRUE(wait([&] { return watching(); }));
    burst_about(*server, "crashy");
    ASSERT_TRUE(wait([&] { return records.size() == 5; }));
    EXPECT_EQ(gets("/api/v1/namespaces/default/pods/crashy"), 1u);
    for (std::size_t i = 0; i < records.size(); ++i) {
      EXPECT_EQ(records[i]->name, "crashy.e" + std::to_string(i));
    }
  }

  // stop() with a 5 s deadline returns well before it (the running requests are aborted).
  bool stops_promptly() {
    const auto t0 = std::chrono::steady_clock::now();
    auto stopped = test::try_run_coro(ioc, [this]() -> net::awaitable<bool> {
      co_await src->stop(std::chrono::steady_clock::now() + seconds(5));
      co_return true;
    }());
    return stopped && !src->running() && std::chrono::steady_clock::now() - t0 < seconds(2);
  }

  // GETs of this Pod are answered never (until the request times out or is aborted).
  void stall_pod_gets(const std::string& name) {
    fake_apiserver::scripted stall;
    stall.on = match::get;
    stall.path_prefix = "/api/v1/namespaces/default/pods/" + name;
    stall.what = fake_apiserver::scripted::action::stall;
    server->script(stall);
  }

  std::size_t gets(const std::string& prefix) {
    return server->count_requests(
        [&](const fake_apiserver::request_info& r) { return r.path.rfind(prefix, 0) == 0; });
  }
};

// Verifies the main path: an ADDED event becomes one record with the resmoio line, a count bump
// one more record, an update without a count increase and a delete none.
TEST_F(EventSourceTest, CountBumpGivesOneMoreRecord) {
  o.omit_lookup = true;
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  add("default", "web-1.a", "BackOff");
  ASSERT_TRUE(wait([&] { return records.size() == 1; }));
  EXPECT_EQ(records[0]->reason, "BackOff");
  EXPECT_EQ(records[0]->count, 1);
  EXPECT_NE(records[0]->line.find("\"reason\":\"BackOff\""), std::string::npos);
  server->bump_count("default", "web-1.a");
  ASSERT_TRUE(wait([&] { return records.size() == 2; }));
  EXPECT_EQ(records[1]->count, 2);
  server->update_event("default", "web-1.a", [](json& e) {
    e["metadata"]["labels"] = {{"x", "y"}};
  });
  server->delete_event("default", "web-1.a");
  add("default", "web-1.b");  // a marker: everything before it has been handled
  ASSERT_TRUE(wait([&] { return records.size() == 3; }));
  EXPECT_EQ(records[2]->name, "web-1.b");
  EXPECT_EQ(metrics.events_sent.value(), 3);
}

// Verifies that a relist after a 410 re-emits nothing already shipped, but ships what happened
// while the watch was broken (a new event and a repeat), each exactly once.
TEST_F(EventSourceTest, RelistDoesNotDuplicate) {
  o.omit_lookup = true;
  for (int i = 0; i < 3; ++i) add("default", "p" + std::to_string(i) + ".e");
  start();
  ASSERT_TRUE(wait([&] { return records.size() == 3 && watching(); }));
  server->knobs.stall_watches = true;  // the watch sees nothing more...
  add("default", "missed.e");
  server->bump_count("default", "p1.e");
  server->knobs.stall_watches = false;
  server->compact(/*break_watches=*/false);
  server->abort_watches();  // ...then breaks; the re-watch is too old -> 410 -> relist
  ASSERT_TRUE(wait([&] { return server->lists() == 2 && watching(); }));
  add("default", "marker.e");
  ASSERT_TRUE(wait([&] { return records.size() == 6; }));
  std::vector<std::string> names;
  for (const auto& r : records) names.push_back(r->name + "#" + std::to_string(r->count));
  EXPECT_EQ(names, (std::vector<std::string>{"p0.e#1", "p1.e#1", "p2.e#1", "missed.e#1", "p1.e#2",
                                             "marker.e#1"}));
}

// Verifies maxEventAgeSeconds applies to the initial list only.
TEST_F(EventSourceTest, MaxEventAgeAppliesToInitialList) {
  o.omit_lookup = true;
  o.max_event_age_seconds = 5;
  auto old = fake_apiserver::make_event("default", "old.e", "Pulled", "old");
  old["lastTimestamp"] = iso(std::chrono::system_clock::now() - seconds(600));
  server->create_event(old);
  add("default", "fresh.e");
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  auto late = fake_apiserver::make_event("default", "late.e", "Pulled", "late");
  late["lastTimestamp"] = iso(std::chrono::system_clock::now() - seconds(600));
  server->create_event(late);  // an old timestamp, but a live ADDED: shipped
  ASSERT_TRUE(wait([&] { return records.size() == 2; }));
  EXPECT_EQ(records[0]->name, "fresh.e");
  EXPECT_EQ(records[1]->name, "late.e");
}

// Verifies that the events.k8s.io/v1 API gives the same records as core/v1.
TEST_F(EventSourceTest, EventsK8sIoGivesSameRecords) {
  o.omit_lookup = true;
  add("default", "a.e", "FailedScheduling");
  o.events_api = "events.k8s.io/v1";
  start();
  ASSERT_TRUE(wait([&] { return records.size() == 1 && watching(); }));
  EXPECT_NE(server->requests.front().path.find("/apis/events.k8s.io/v1/events"), std::string::npos);
  server->bump_count("default", "a.e");
  ASSERT_TRUE(wait([&] { return records.size() == 2; }));
  std::string error;
  auto core =
      decode_kube_event(server->update_event("default", "a.e", [](json&) {}), {}, nullptr, &error);
  ASSERT_TRUE(core) << error;
  EXPECT_EQ(records[1]->message, core->message);
  EXPECT_EQ(records[1]->count, 2);
  EXPECT_EQ(records[1]->doc["involvedObject"], core->doc["involvedObject"]);
  EXPECT_EQ(records[1]->doc["source"], core->doc["source"]);
}

// Verifies that `namespace` scopes the list and watch.
TEST_F(EventSourceTest, NamespaceScopesTheWatch) {
  o.omit_lookup = true;
  o.namespace_ = "team-a";
  add("team-b", "x.e");
  add("team-a", "y.e");
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  add("team-b", "z.e");
  add("team-a", "w.e");
  ASSERT_TRUE(wait([&] { return records.size() == 2; }));
  EXPECT_EQ(records[0]->name, "y.e");
  EXPECT_EQ(records[1]->name, "w.e");
  EXPECT_EQ(server->requests.front().path, "/api/v1/namespaces/team-a/events");
}

// Verifies enrichment: labels, annotations and ownerReferences of the involved object; one
// discovery GET per group/version; the LRU serves repeats; the cache metrics count.
TEST_F(EventSourceTest, EnrichmentAddsLabelsAndCaches) {
  pod("default", "web-1");
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  add("default", "web-1.a", "Pulled");
  add("default", "web-1.b", "Created");
  server->bump_count("default", "web-1.a");
  ASSERT_TRUE(wait([&] { return records.size() == 3; }));
  const auto& io = records[0]->doc["involvedObject"];
  EXPECT_EQ(io["labels"]["app"], "web");
  EXPECT_EQ(io["annotations"]["note"], "x");
  EXPECT_EQ(io["ownerReferences"][0]["kind"], "ReplicaSet");
  EXPECT_EQ(io["deleted"], false);
  EXPECT_EQ(records[0]->labels.size(), 2u);
  EXPECT_EQ(gets("/api/v1/namespaces/default/pods/web-1"), 1u);
  EXPECT_EQ(gets("/api/v1") - gets("/api/v1/"), 1u);  // discovery of v1, once
  EXPECT_EQ(metrics.kube_api_read_cache_misses.value(), 1);
  EXPECT_EQ(metrics.kube_api_read_cache_hits.value(), 2);
}

// Verifies deleted: true for an object that is gone (404), replaced (another uid) or being
// deleted (deletionTimestamp, labels kept).
TEST_F(EventSourceTest, EnrichmentMarksDeletedObjects) {
  pod("default", "web-2");
  server->put_object(
      "v1", "pods",
      {{"metadata", {{"name", "web-2"}, {"namespace", "default"}, {"uid", "another-uid"}}}});
  auto dying = pod("default", "web-3");
  dying["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  server->put_object("v1", "pods", dying);
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  add("default", "gone-1.a");
  add("default", "web-2.a");
  add("default", "web-3.a");
  ASSERT_TRUE(wait([&] { return records.size() == 3; }));
  EXPECT_EQ(records[0]->doc["involvedObject"]["deleted"], true);
  EXPECT_EQ(records[1]->doc["involvedObject"]["deleted"], true);
  EXPECT_FALSE(records[1]->doc["involvedObject"].contains("labels"));
  EXPECT_EQ(records[2]->doc["involvedObject"]["deleted"], true);
  EXPECT_EQ(records[2]->doc["involvedObject"]["labels"]["app"], "web");
}

// Verifies that a pod found gone is not looked up again: events outlive their pods and each names
// the pod's resourceVersion of its time, so the uid alone is remembered. (Before: one GET per
// event, each waiting for the kubeQPS token bucket.)
TEST_F(EventSourceTest, GoneObjectIsLookedUpOnce) {
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  for (int i = 0; i < 6; ++i) {
    auto e = fake_apiserver::make_event("default", "gone." + std::to_string(i), "BackOff", "x");
    e["involvedObject"] = {{"kind", "Pod"},     {"apiVersion", "v1"},
                           {"name", "gone"},    {"namespace", "default"},
                           {"uid", "gone-uid"}, {"resourceVersion", std::to_string(100 + i)}};
    server->create_event(e);
    ASSERT_TRUE(wait([&] { return records.size() == static_cast<std::size_t>(i + 1); }));
  }
  EXPECT_EQ(gets("/api/v1/namespaces/default/pods/gone"), 1u);
  for (const auto& r : records) {
    EXPECT_EQ(r->doc["involvedObject"]["deleted"], true);
  }
  EXPECT_EQ(metrics.kube_api_read_cache_hits.value(), 5);
}

// Verifies that discovery is not repeated per event: a kind unknown to a cached group/version
// refreshes it at most once per refresh interval.
TEST_F(EventSourceTest, DiscoveryRefreshOnMissIsBounded) {
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  for (int i = 0; i < 5; ++i) {
    auto e = fake_apiserver::make_event("default", "w" + std::to_string(i) + ".e", "Scaled", "x");
    e["involvedObject"] = {{"kind", "Widget"},
                           {"apiVersion", "v1"},
                           {"name", "w"},
                           {"namespace", "default"},
                           {"uid", "wu" + std::to_string(i)}};
    server->create_event(e);
  }
  ASSERT_TRUE(wait([&] { return records.size() == 5; }));
  EXPECT_EQ(gets("/api/v1") - gets("/api/v1/"), 1u);
  EXPECT_FALSE(records[0]->doc["involvedObject"].contains("labels"));
  // Later the kind appears (a CRD installed): one refresh finds it.
  server->add_resource("v1", "widgets", "Widget", true);
  server->put_object(
      "v1", "widgets",
      {{"metadata",
        {{"name", "w"}, {"namespace", "default"}, {"uid", "wu9"}, {"labels", {{"k", "v"}}}}}});
  clk.advance(seconds(31));
  auto e = fake_apiserver::make_event("default", "w9.e", "Scaled", "x");
  e["involvedObject"] = {{"kind", "Widget"},
                         {"apiVersion", "v1"},
                         {"name", "w"},
                         {"namespace", "default"},
                         {"uid", "wu9"}};
  server->create_event(e);
  ASSERT_TRUE(wait([&] { return records.size() == 6; }));
  EXPECT_EQ(gets("/api/v1") - gets("/api/v1/"), 2u);
  EXPECT_EQ(records[5]->doc["involvedObject"]["labels"]["k"], "v");
}

// Verifies omitLookup: no discovery and no GETs.
TEST_F(EventSourceTest, OmitLookupSendsNoGets) {
  pod("default", "web-1");
  o.omit_lookup = true;
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  add("default", "web-1.a");
  ASSERT_TRUE(wait([&] { return records.size() == 1; }));
  EXPECT_EQ(gets("/api/v1/namespaces/default/pods"), 0u);
  EXPECT_FALSE(records[0]->doc["involvedObject"].contains("labels"));
  EXPECT_EQ(metrics.kube_api_read_cache_misses.value(), 0);
}

// Verifies that lookups beyond the client-side rate limit budget are given up, so the records
// still flow (without labels) and in order, instead of stalling behind the limiter.
TEST_F(EventSourceTest, RateLimitedLookupsNeverStall) {
  o.kube_qps = 0.01;  // one token per 100 s
  o.kube_burst = 3;
  o.enrichment.max_rate_wait = seconds(1);
  for (int i = 0; i < 10; ++i) pod("default", "p" + std::to_string(i));
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  for (int i = 0; i < 10; ++i) add("default", "p" + std::to_string(i) + ".e");
  ASSERT_TRUE(wait([&] { return records.size() == 10; }));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(records[static_cast<std::size_t>(i)]->name, "p" + std::to_string(i) + ".e");
  }
  // The list (1 token) and discovery + first GET used the burst; the rest went without labels.
  std::size_t with_labels = 0;
  for (const auto& r : records) with_labels += r->labels.empty() ? 0 : 1;
  EXPECT_EQ(with_labels, 1u);
  EXPECT_GE(src->lookups().counters().failures, 9u);
}

// Verifies that a slow lookup delays only the records behind it: order is kept, the watch keeps
// reading, and the record is shipped without labels once the GET times out.
TEST_F(EventSourceTest, SlowLookupKeepsOrder) {
  o.api.request_timeout = milliseconds(300);
  pod("default", "slow");
  pod("default", "fast");
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  stall_pod_gets("slow");
  add("default", "slow.e");
  add("default", "fast.e");
  ASSERT_TRUE(wait([&] { return records.size() == 2; }));
  EXPECT_EQ(records[0]->name, "slow.e");
  EXPECT_FALSE(records[0]->doc["involvedObject"].contains("labels"));
  EXPECT_EQ(records[1]->name, "fast.e");
  EXPECT_EQ(records[1]->doc["involvedObject"]["labels"]["app"], "web");
}

// Verifies that a forbidden lookup (RBAC, a kind the chart does not grant) is not a watch error:
// it is counted per kind, the record ships, and later events about that kind send no request
// until forbidden_ttl has passed (then one request checks whether RBAC changed).
TEST_F(EventSourceTest, ForbiddenLookupIsCachedPerKind) {
  server->knobs.forbidden_prefixes = {"/apis/apps/v1/namespaces"};
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  auto deployment_event = [&](int i) {
    auto e = fake_apiserver::make_event("default", "d" + std::to_string(i) + ".e",
                                        "ScalingReplicaSet", "scaled");
    e["involvedObject"] = {{"kind", "Deployment"},
                           {"apiVersion", "apps/v1"},
                           {"name", "web" + std::to_string(i)},
                           {"namespace", "default"},
                           {"uid", "dep-uid-" + std::to_string(i)}};
    server->create_event(e);
  };
  deployment_event(0);
  ASSERT_TRUE(wait([&] { return records.size() == 1; }));
  EXPECT_EQ(gets("/apis/apps/v1/namespaces/default/deployments/"), 1u);
  for (int i = 1; i < 5; ++i) deployment_event(i);
  ASSERT_TRUE(wait([&] { return records.size() == 5; }));
  EXPECT_EQ(metrics.watch_errors.value(), 0);
  EXPECT_EQ(gets("/apis/apps/v1/namespaces/default/deployments/"), 1u);
  EXPECT_EQ(metrics.lookups_forbidden("apps/v1", "Deployment").Value(), 5);
  EXPECT_EQ(src->lookups().counters().forbidden, 5u);
  EXPECT_EQ(records[4]->kind, "Deployment");
  EXPECT_TRUE(records[4]->labels.empty());
  // Other kinds are still looked up.
  pod("default", "web-1");
  add("default", "web-1.a");
  ASSERT_TRUE(wait([&] { return records.size() == 6; }));
  EXPECT_EQ(records[5]->doc["involvedObject"]["labels"]["app"], "web");
  // After the TTL, one request again.
  clk.advance(seconds(301));
  deployment_event(5);
  ASSERT_TRUE(wait([&] { return records.size() == 7; }));
  EXPECT_EQ(gets("/apis/apps/v1/namespaces/default/deployments/"), 2u);
}

// Verifies that stop() ends promptly with a watch open and a lookup in flight, and start() can
// run again afterwards (the leader-election hook).
TEST_F(EventSourceTest, StopAndRestart) {
  pod("default", "slow");
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  stall_pod_gets("slow");
  add("default", "slow.e");
  ASSERT_TRUE(wait([&] { return gets("/api/v1/namespaces/default/pods/slow") == 1; }));
  EXPECT_TRUE(stops_promptly());
  src->start();
  ASSERT_TRUE(wait([&] { return server->lists() == 2 && watching(); }));
}

// ---- coalesced lookups (issue 12) --------------------------------------------------------------

// Verifies that concurrent lookups of one object share one GET: five events about a pod arrive
// while the first GET waits for a token (the list and discovery used the burst), the other four
// wait for its answer, and all five records carry the pod's labels, in order. (Without sharing:
// five GETs, each waiting for its own token.)
TEST_F(EventSourceTest, ConcurrentLookupsOfOneObjectShareOneGet) {
  o.kube_qps = 10;  // a token per 100 ms, real time
  o.kube_burst = 2;
  pod("default", "crashy");
  ASSERT_NO_FATAL_FAILURE(five_events_one_get());
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i]->doc["involvedObject"]["labels"]["app"], "web") << i;
  }
  const auto& c = src->lookups().counters();
  EXPECT_EQ(c.gets, 1u);
  EXPECT_EQ(c.coalesced, 4u);
  EXPECT_EQ(c.failures, 0u);
  EXPECT_EQ(metrics.kube_api_read_cache_misses.value(), 1);
  EXPECT_EQ(metrics.kube_api_read_cache_hits.value(), 4);  // the four that sent no request
  // Every event's wait is measured, the shared GET's included.
  EXPECT_EQ(metrics.lookup_seconds().Collect().histogram.sample_count, 5u);
  EXPECT_EQ(src->lookups().in_flight(), 0u);
}

// Verifies that when the shared GET fails (500 without Retry-After: not retried), every waiter
// gets the same outcome (no labels), no waiter sends a request of its own, and the failure is
// reported and counted once.
TEST_F(EventSourceTest, SharedLookupFailureReachesEveryWaiter) {
  o.kube_qps = 10;
  o.kube_burst = 2;
  pod("default", "crashy");
  fake_apiserver::scripted fail;
  fail.on = match::get;
  fail.path_prefix = "/api/v1/namespaces/default/pods/crashy";
  fail.status = 500;
  fail.body = fake_apiserver::status(500, "InternalError", "etcd is sad").dump();
  server->script(fail);
  ASSERT_NO_FATAL_FAILURE(five_events_one_get());
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_FALSE(records[i]->doc["involvedObject"].contains("labels")) << i;
  }
  const auto& c = src->lookups().counters();
  EXPECT_EQ(c.gets, 1u);
  EXPECT_EQ(c.coalesced, 4u);
  EXPECT_EQ(c.failures, 1u);
  EXPECT_EQ(metrics.watch_errors.value(), 1);
  EXPECT_EQ(src->lookups().in_flight(), 0u);
  // A failure is not cached: the next event about the pod asks again, and gets the labels.
  add("default", "crashy.later");
  ASSERT_TRUE(wait([&] { return records.size() == 6; }));
  EXPECT_EQ(gets("/api/v1/namespaces/default/pods/crashy"), 2u);
  EXPECT_EQ(records[5]->doc["involvedObject"]["labels"]["app"], "web");
}

// Verifies that a shared GET that times out gives every waiter the no-labels outcome of that one
// request (not one timed-out request each, one after another).
TEST_F(EventSourceTest, SharedLookupTimeoutReachesEveryWaiter) {
  o.api.request_timeout = milliseconds(300);
  pod("default", "crashy");
  stall_pod_gets("crashy");
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  burst_about(*server, "crashy");
  ASSERT_TRUE(wait([&] { return records.size() == 5; }));
  EXPECT_EQ(gets("/api/v1/namespaces/default/pods/crashy"), 1u);
  for (const auto& r : records) {
    EXPECT_FALSE(r->doc["involvedObject"].contains("labels")) << r->name;
  }
  EXPECT_EQ(src->lookups().counters().coalesced, 4u);
  EXPECT_EQ(src->lookups().in_flight(), 0u);
}

// Verifies that stop() ends promptly while lookups wait on a shared GET that never answers, that
// no in-flight entry outlives it, and that after start() the object is looked up afresh.
TEST_F(EventSourceTest, StopWhileLookupsShareAStalledGet) {
  pod("default", "crashy");
  stall_pod_gets("crashy");
  start();
  ASSERT_TRUE(wait([&] { return watching(); }));
  burst_about(*server, "crashy");
  ASSERT_TRUE(wait([&] {
    return gets("/api/v1/namespaces/default/pods/crashy") == 1 &&
           src->lookups().counters().coalesced == 4;
  }));
  EXPECT_EQ(src->lookups().in_flight(), 1u);
  EXPECT_TRUE(stops_promptly());
  EXPECT_EQ(src->lookups().in_flight(), 0u);
  // The new term ships the relisted events (a process start); each record has the labels.
  src->start();
  ASSERT_TRUE(wait([&] { return server->lists() == 2 && watching(); }));
  add("default", "crashy.after");
  ASSERT_TRUE(wait([&] { return !records.empty() && records.back()->name == "crashy.after"; }));
  for (const auto& r : records) {
    EXPECT_EQ(r->doc["involvedObject"]["labels"]["app"], "web") << r->name;
  }
  EXPECT_EQ(gets("/api/v1/namespaces/default/pods/crashy"), 2u);
  EXPECT_EQ(src->lookups().in_flight(), 0u);
}

}  // namespace
}  // namespace ke::watch
