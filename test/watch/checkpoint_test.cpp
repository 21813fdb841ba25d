#include "watch/checkpoint.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/go_json.hpp"
#include "support/apiserver_fixture.hpp"
#include "watch/event_filter.hpp"
#include "watch/event_source.hpp"

namespace ke::watch {
namespace {

using json = nlohmann::json;
using fakes::fake_apiserver;
using std::chrono::seconds;

std::string iso(std::chrono::system_clock::time_point t) {
  return format_rfc3339(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

// ---- checkpoint_set ----------------------------------------------------------------------------

// Verifies that a set survives encode/decode: counts, creation times, complete_since, order.
TEST(CheckpointSetTest, RoundTrips) {
  checkpoint_set s;
  s.record(uid_key("a"), 3, 1700000000);
  s.record(uid_key("b"), 1, 1700000100);
  s.record(uid_key("a"), 2, 1700000000);  // a lower count never lowers what was handled
  s.limit(10);
  std::string error;
  auto d = checkpoint_set::decode(s.encode(), &error);
  ASSERT_TRUE(d) << error;
  ASSERT_EQ(d->size(), 2u);
  ASSERT_NE(d->find(uid_key("a")), nullptr);
  EXPECT_EQ(d->find(uid_key("a"))->count, 3);
  EXPECT_EQ(d->find(uid_key("b"))->created_s, 1700000100);
  EXPECT_EQ(d->find(uid_key("c")), nullptr);
  EXPECT_EQ(d->complete_since(), 0);
}

// Verifies the bound: the least recently touched entries go first and complete_since moves past
// the newest creation time forgotten.
TEST(CheckpointSetTest, LimitForgetsLeastRecentlyTouched) {
  checkpoint_set s;
  s.record(uid_key("old"), 1, 100);
  s.record(uid_key("mid"), 1, 200);
  s.record(uid_key("new"), 1, 300);
  s.record(uid_key("old"), 2, 100);  // touched again: now the most recent
  s.limit(2);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.find(uid_key("mid")), nullptr);
  EXPECT_NE(s.find(uid_key("old")), nullptr);
  EXPECT_EQ(s.complete_since(), 201);
  auto d = checkpoint_set::decode(s.encode(), nullptr);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->complete_since(), 201);
}

// Verifies that merging two replicas' sets keeps the highest count and the later completeness.
TEST(CheckpointSetTest, MergeIsAUnion) {
  checkpoint_set a;
  a.record(uid_key("x"), 1, 10);
  checkpoint_set b;
  b.record(uid_key("x"), 4, 10);
  b.record(uid_key("y"), 1, 20);
  b.limit(1);  // forgets x: complete_since 11
  a.merge(b);
  EXPECT_EQ(a.find(uid_key("x"))->count, 1);
  EXPECT_EQ(a.find(uid_key("y"))->count, 1);
  EXPECT_EQ(a.complete_since(), 11);
}

// Verifies that damaged checkpoints are refused with the field at fault, never half-read.
TEST(CheckpointSetTest, DecodeNamesTheProblem) {
  std::string error;
  EXPECT_FALSE(checkpoint_set::decode("{", &error));
  EXPECT_EQ(error, "not a JSON object");
  EXPECT_FALSE(checkpoint_set::decode(R"({"version":2})", &error));
  EXPECT_EQ(error, "version: expected 1");
  EXPECT_FALSE(checkpoint_set::decode(
      R"({"version":1,"completeSince":0,"entries":2,"data":"AAAAAAAAAAAAAAAAAAAAAA=="})", &error));
  EXPECT_EQ(error, "data: 16 bytes for 2 entries (expected 16 each)");
  EXPECT_FALSE(
      checkpoint_set::decode(R"({"version":1,"completeSince":0,"entries":0,"data":"!"})", &error));
  EXPECT_EQ(error, "data: not base64");
}

// ---- event_filter with a checkpoint
// --------------------------------------------------------------

json listed(const std::string& uid, int count, std::chrono::system_clock::time_point created,
            std::chrono::system_clock::time_point last) {
  return {{"metadata",
           {{"uid", uid},
            {"resourceVersion", "7"},
            {"name", uid},
            {"creationTimestamp", iso(created)}}},
          {"count", count},
          {"lastTimestamp", iso(last)}};
}

// Verifies how a new process decides the initial list with a checkpoint: shipped -> duplicate,
// shipped at a lower count -> repeat, never handled -> shipped whatever its age, and
// maxEventAgeSeconds only for what the checkpoint cannot vouch for (created before
// complete_since).
TEST(CheckpointFilterTest, InitialListDecidedByCheckpoint) {
  net::io_context ioc;
  manual_clock clk{ioc.get_executor()};
  const auto now = std::chrono::system_clock::now();
  const auto old = now - std::chrono::hours(1);
  const auto secs = [](std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<seconds>(t.time_since_epoch()).count();
  };
  checkpoint_set known;
  known.record(uid_key("forgotten"), 1, secs(old) + 10);
  known.record(uid_key("shipped"), 2, secs(old));
  known.record(uid_key("kept"), 1, secs(old) + 20);
  known.limit(2);  // forgets "forgotten": complete_since = old + 11 s
  filter_options opt;
  opt.max_event_age_seconds = 5;
  opt.known = &known;
  event_filter f(opt, clk, nullptr);
  EXPECT_EQ(f.decide(item_kind::listed, true, listed("shipped", 2, old, old)), verdict::duplicate);
  EXPECT_EQ(f.decide(item_kind::listed, true, listed("kept", 3, old + seconds(20), old)),
            verdict::emit_repeat);
  EXPECT_EQ(f.decide(item_kind::listed, true, listed("missed", 1, now - seconds(60), old)),
            verdict::emit);
  EXPECT_EQ(f.decide(item_kind::listed, true, listed("ancient", 1, old, old)), verdict::too_old);
  // Without a checkpoint the missed one is too old (resmoio's rule: the loss this fixes).
  opt.known = nullptr;
  event_filter plain(opt, clk, nullptr);
  EXPECT_EQ(plain.decide(item_kind::listed, true, listed("missed", 1, now - seconds(60), old)),
            verdict::too_old);
}

// ---- checkpointer against a store another replica writes too -----------------------------------

// A store whose first save conflicts (another replica wrote meanwhile) with `theirs`.
class racing_store final : public checkpoint_store {
 public:
  explicit racing_store(std::string theirs) : stored(std::move(theirs)) {}
  net::awaitable<loaded> load() override { co_return loaded{true, !stored.empty(), stored, ""}; }
  net::awaitable<bool> save(const std::string& text, bool* conflict, std::string* error) override {
    if (conflicts_left > 0) {
      --conflicts_left;
      *conflict = true;
      *error = "409 Conflict";
      co_return false;
    }
    *conflict = false;
    stored = text;
    ++saves;
    co_return true;
  }
  std::string describe() const override { return "racing store"; }

  std::string stored;
  int conflicts_left = 1;
  int saves = 0;
};

// Verifies split-brain safety: when another replica wrote the checkpoint since we read it, our
// write merges its set with ours (the union: nothing either delivered is shipped again) instead
// of overwriting it.
TEST(CheckpointerTest, ConflictingWriteMergesTheOtherReplicasSet) {
  net::io_context ioc;
  ke::metrics m{""};
  checkpoint_set theirs;
  theirs.record(uid_key("theirs"), 3, 100);
  auto store = std::make_unique<racing_store>(theirs.encode());
  auto* raw = store.get();
  checkpointer c(ioc.get_executor(), std::move(store), checkpointer_options{}, m);
  c.handled("ours", 1, 200);
  bool done = false;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        co_await c.stop(std::chrono::steady_clock::now() + seconds(5));  // the last write
        done = true;
      },
      net::detached);
  ASSERT_TRUE(test::run_until(ioc, [&] { return done; }));
  EXPECT_EQ(raw->saves, 1);
  auto written = checkpoint_set::decode(raw->stored, nullptr);
  ASSERT_TRUE(written);
  EXPECT_EQ(written->size(), 2u);
  ASSERT_NE(written->find(uid_key("theirs")), nullptr);
  EXPECT_EQ(written->find(uid_key("theirs"))->count, 3);
  EXPECT_NE(written->find(uid_key("ours")), nullptr);
}

// ---- event_source across restarts
// ----------------------------------------------------------------

std::string make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ke-checkpoint-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  return tmpl;
}

class CheckpointSourceTest : public test::ApiServerFixture {
 protected:
  std::string dir = make_temp_dir();
  std::string file = dir + "/checkpoint.json";
  std::vector<record_ptr> records;
  std::unique_ptr<checkpointer> ckpt;
  std::unique_ptr<event_source> src;
  bool ack = true;  // acknowledge each record at once (as a receiver that delivered it)

  void run_process() {
    ckpt = std::make_unique<checkpointer>(ioc.get_executor(),
                                          make_file_checkpoint_store(ioc.get_executor(), file),
                                          checkpointer_options{}, metrics);
    ckpt->start();
    event_source_options o;
    o.omit_lookup = true;
    o.max_event_age_seconds = 5;
    o.reflector.random = [] { return 1.0; };
    std::string error;
    src = event_source::create(
        ioc.get_executor(), rc, o,
        [this](record_ptr r) -> net::awaitable<void> {
          records.push_back(r);
          if (ack) {
            ckpt->done(r->source_position, true);
          }
          co_return;
        },
        metrics, &error, &clk);
    ASSERT_TRUE(src) << error;
    src->set_checkpointer(ckpt.get());
    src->start();
  }

  void stop_process() {
    auto stopped = test::try_run_coro(ioc, [this]() -> net::awaitable<bool> {
      co_await src->stop(std::chrono::steady_clock::now() + seconds(5));
      co_await ckpt->stop(std::chrono::steady_clock::now() + seconds(5));
      co_return true;
    }());
    ASSERT_TRUE(stopped);
    src.reset();
    ckpt.reset();
  }

  void TearDown() override {
    if (src) {
      stop_process();
    }
    ApiServerFixture::TearDown();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  json add(const std::string& name, std::chrono::seconds age = seconds(0)) {
    auto e = fake_apiserver::make_event("default", name, "Pulled", "msg " + name);
    e["lastTimestamp"] = iso(std::chrono::system_clock::now() - age);
    return server->create_event(e);
  }

  std::vector<std::string> names(std::size_t from = 0) const {
    std::vector<std::string> out;
    for (std::size_t i = from; i < records.size(); ++i) {
      out.push_back(records[i]->name + "#" + std::to_string(records[i]->count));
    }
    return out;
  }
};

// Verifies the issue's loss: events that happen while no exporter runs, older than
// maxEventAgeSeconds by the time the next one lists, are shipped by it (with a checkpoint), a
// repeat missed meanwhile too, and nothing the first process delivered is shipped again.
TEST_F(CheckpointSourceTest, RestartShipsWhatWasMissedAndNothingTwice) {
  add("before.a");
  add("before.b");
  run_process();
  ASSERT_TRUE(test::run_until(ioc, [&] { return records.size() == 2 && server->open_watches(); }));
  stop_process();
  ASSERT_TRUE(std::ifstream(file).good());

  add("during.gap", seconds(60));             // older than maxEventAgeSeconds when listed
  server->bump_count("default", "before.a");  // a repeat while down
  run_process();
  add("after.c");  // a marker: everything before it has been decided
  ASSERT_TRUE(test::run_until(ioc, [&] { return records.size() >= 5; }));
  ioc.poll();  // whatever else is ready (a duplicate would show here)
  auto got = names(2);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"after.c#1", "before.a#2", "during.gap#1"}));
}

// Verifies that a record never acknowledged (lost at shutdown, or in flight at a crash) is
// shipped again by the next process, and the acknowledged one is not.
TEST_F(CheckpointSourceTest, UnacknowledgedRecordIsShippedAgain) {
  add("acked");
  run_process();
  ASSERT_TRUE(test::run_until(ioc, [&] { return records.size() == 1 && server->open_watches(); }));
  ack = false;
  add("lost");
  ASSERT_TRUE(test::run_until(ioc, [&] { return records.size() == 2; }));
  EXPECT_EQ(ckpt->in_flight(), 1u);
  stop_process();
  ack = true;
  run_process();
  add("marker");
  ASSERT_TRUE(test::run_until(ioc, [&] { return records.size() >= 4; }));
  ioc.poll();  // whatever else is ready (a duplicate would show here)
  auto got = names(2);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"lost#1", "marker#1"}));
}

// Verifies that an unreadable checkpoint is reported and the process goes on (resmoio's age
// rule), rather than refusing to run.
TEST_F(CheckpointSourceTest, CorruptCheckpointIsIgnoredWithAnError) {
  std::ofstream(file) << "{\"version\":1,";
  add("old", seconds(60));
  add("fresh");
  run_process();
  ASSERT_TRUE(test::run_until(ioc, [&] { return records.size() == 1 && server->open_watches(); }));
  EXPECT_EQ(names(), (std::vector<std::string>{"fresh#1"}));
}

}  // namespace
}  // namespace ke::watch
