#include "sinks/file_sink.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>

#include "support/fake_sink.hpp"
#include "template/layout.hpp"

namespace ke::sinks {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::make_record;
using test::read_file;
using test::send_now;
using test::split_lines;
using test::temp_dir;

// 2024-03-05T06:07:08.009Z
const auto base_time =
    std::chrono::sys_days(std::chrono::year(2024) / 3 / 5) + 6h + 7min + 8s + 9ms;

class FileSinkTest : public ::testing::Test {
 protected:
  std::unique_ptr<file_sink> open(file_sink::options o,
                                  line_format f = line_format(nullptr, false)) {
    if (!o.clock) {
      o.clock = [this] { return clock_now; };
    }
    std::string error;
    auto s = file_sink::open(std::move(o), std::move(f), &error);
    EXPECT_NE(s, nullptr) << error;
    return s;
  }

  file_sink::options opts(std::uint64_t max_bytes = 100ull << 20) {
    file_sink::options o;
    o.path = (dir.path() / "events.json").string();
    o.max_bytes = max_bytes;
    return o;
  }

  std::vector<record_ptr> records(int from, int to) {
    std::vector<record_ptr> out;
    for (int i = from; i <= to; ++i) {
      out.push_back(make_record(i));
    }
    return out;
  }

  // Backup files in the temp dir (sorted by name = by time).
  std::vector<fs::path> backups() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir.path())) {
      if (e.path().filename() != "events.json") {
        out.push_back(e.path());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  static std::vector<std::string> lines_of(const std::vector<record_ptr>& rs) {
    std::vector<std::string> out;
    for (const auto& r : rs) {
      out.push_back(r->line);
    }
    return out;
  }

  // Room for exactly n lines of records like `sample` (records 1..9 have equal lengths, and so
  // have records 10..99).
  static std::uint64_t room_for(int n, int sample = 1) {
    return n * (make_record(sample)->line.size() + 1);
  }

  net::io_context ioc;
  temp_dir dir;
  std::chrono::system_clock::time_point clock_now = base_time;
};

// Verifies that records are appended as one line each (the record's JSON line).
TEST_F(FileSinkTest, WritesOneLinePerRecord) {
  auto s = open(opts());
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->rotates());
  const auto batch = records(1, 3);
  EXPECT_EQ(send_now(ioc, *s, batch), send_result::ok);
  EXPECT_EQ(send_now(ioc, *s, records(4, 4)), send_result::ok);
  auto lines = split_lines(read_file(dir.path() / "events.json"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], batch[0]->line);
  EXPECT_EQ(lines[2], batch[2]->line);
  EXPECT_TRUE(backups().empty());
}

// Verifies that the file is created with mode 0640 and appended to, not truncated.
TEST_F(FileSinkTest, AppendsToExistingFileWithMode0640) {
  const auto path = dir.path() / "events.json";
  { std::ofstream(path) << "old line\n"; }
  auto s = open(opts());
  ASSERT_TRUE(s);
  EXPECT_EQ(send_now(ioc, *s, records(1, 1)), send_result::ok);
  auto lines = split_lines(read_file(path));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "old line");

  const auto fresh = dir.path() / "sub" / "dir" / "new.log";
  auto o = opts();
  o.path = fresh.string();
  auto s2 = open(o);  // creates missing directories
  ASSERT_TRUE(s2);
  struct stat st {};
  ASSERT_EQ(::stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(
      st.st_mode & 0777, 0640u & ~[] {
        const mode_t m = ::umask(0);
        ::umask(m);
        return m;
      }());
}

// Verifies that a regular file is rotated before a write would pass maxsize, lumberjack-style.
TEST_F(FileSinkTest, RotatesRegularFileAtMaxSize) {
  auto s = open(opts(room_for(2)));
  ASSERT_TRUE(s);
  const auto batch = records(1, 5);
  EXPECT_EQ(send_now(ioc, *s, batch), send_result::ok);

  const auto b = backups();
  ASSERT_EQ(b.size(), 2u);
  // <name>-<UTC 2006-01-02T15-04-05.000>.<ext>; a second rotation in the same millisecond moves
  // on by one millisecond rather than overwrite the first backup.
  EXPECT_EQ(b[0].filename(), "events-2024-03-05T06-07-08.009.json");
  EXPECT_EQ(b[1].filename(), "events-2024-03-05T06-07-08.010.json");
  EXPECT_EQ(split_lines(read_file(b[0])), lines_of({batch[0], batch[1]}));
  EXPECT_EQ(split_lines(read_file(b[1])), lines_of({batch[2], batch[3]}));
  EXPECT_EQ(split_lines(read_file(dir.path() / "events.json")), lines_of({batch[4]}));
}

// Verifies that a file already at maxsize when opened is rotated on the first write.
TEST_F(FileSinkTest, RotatesExistingFullFileOnFirstWrite) {
  const auto path = dir.path() / "events.json";
  { std::ofstream(path) << std::string(room_for(2) - 1, 'x') << "\n"; }
  auto s = open(opts(room_for(2)));
  ASSERT_TRUE(s);
  EXPECT_EQ(send_now(ioc, *s, records(1, 1)), send_result::ok);
  ASSERT_EQ(backups().size(), 1u);
  EXPECT_EQ(split_lines(read_file(path)), lines_of({make_record(1)}));
}

// Verifies that only maxbackups backups are kept, the newest ones.
TEST_F(FileSinkTest, KeepsMaxBackupsNewest) {
  auto o = opts(room_for(2, 11));
  o.max_backups = 2;
  auto s = open(o);
  ASSERT_TRUE(s);
  for (int i = 11; i <= 19; i += 2) {  // two records per send, one second apart
    ASSERT_EQ(send_now(ioc, *s, records(i, i + 1)), send_result::ok);
    clock_now += 1s;
  }
  // Files held [11,12] [13,14] [15,16] [17,18] [19,20]: four rotations, the two oldest backups
  // deleted.
  const auto b = backups();
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(split_lines(read_file(b[0])), lines_of(records(15, 16)));
  EXPECT_EQ(split_lines(read_file(b[1])), lines_of(records(17, 18)));
  EXPECT_EQ(split_lines(read_file(dir.path() / "events.json")), lines_of(records(19, 20)));
}

// Verifies that backups older than maxage are deleted and unrelated files are left alone.
TEST_F(FileSinkTest, DeletesBackupsOlderThanMaxAge) {
  const auto old_backup = dir.path() / "events-2024-02-20T00-00-00.000.json";     // 14 days old
  const auto recent_backup = dir.path() / "events-2024-03-01T00-00-00.000.json";  // 4 days old
  const auto unrelated = dir.path() / "events-notatimestamp.json";
  for (const auto& p : {old_backup, recent_backup, unrelated}) {
    std::ofstream(p) << "x\n";
  }
  auto o = opts();
  o.max_age = 24h * 7;
  auto s = open(o);  // lumberjack cleans up when it opens the file
  ASSERT_TRUE(s);
  EXPECT_FALSE(fs::exists(old_backup));
  EXPECT_TRUE(fs::exists(recent_backup));
  EXPECT_TRUE(fs::exists(unrelated));
}

// Verifies that a FIFO is never rotated, however much is written past maxsize.
TEST_F(FileSinkTest, NeverRotatesFifo) {
  const auto fifo = dir.path() / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int rd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(rd, 0);
  auto o = opts(10);  // far less than one line
  o.path = fifo.string();
  auto s = open(o);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->rotates());
  const auto batch = records(1, 5);
  EXPECT_EQ(send_now(ioc, *s, batch), send_result::ok);
  EXPECT_EQ(send_now(ioc, *s, records(6, 6)), send_result::ok);

  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(rd, buf, sizeof buf)) > 0) {
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(rd);
  const auto lines = split_lines(got);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[4], batch[4]->line);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"pipe"});  // nothing renamed, nothing created
}

// Verifies that a character device (like /dev/stdout in a container) is never rotated.
TEST_F(FileSinkTest, NeverRotatesCharDevice) {
  auto o = opts(10);
  o.path = "/dev/null";
  auto s = open(o);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->rotates());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(send_now(ioc, *s, records(1, 50)), send_result::ok);
  }
}

// Verifies that /dev/stdout is not rotated even when fd 1 is redirected to a regular file.
TEST_F(FileSinkTest, NeverRotatesDevStdoutBackedByRegularFile) {
  const auto file = dir.path() / "captured";
  std::unique_ptr<file_sink> s;
  {
    test::stdout_capture cap(file);
    auto o = opts(10);
    o.path = "/dev/stdout";
    s = open(o);
    ASSERT_TRUE(s);
    EXPECT_FALSE(s->rotates());
    EXPECT_EQ(send_now(ioc, *s, records(1, 3)), send_result::ok);
  }
  s.reset();
  EXPECT_EQ(split_lines(read_file(file)).size(), 3u);
  EXPECT_TRUE(fs::exists("/dev/stdout"));
}

// Verifies that a write error leads to one reopen and then a retry result.
TEST_F(FileSinkTest, WriteErrorReturnsRetry) {
  auto o = opts();
  o.path = "/dev/full";  // every write fails with ENOSPC
  auto s = open(o);
  ASSERT_TRUE(s);
  EXPECT_EQ(send_now(ioc, *s, records(1, 2)), send_result::retry);
}

// Verifies that a write that fails midway (here EFBIG at a file size limit, as ENOSPC on a full
// disk) neither duplicates nor tears lines: the file keeps only whole lines, and the retried
// batch writes each remaining line once, in order.
TEST_F(FileSinkTest, PartialWriteIsRetriedWithoutDuplicatesOrTornLines) {
  auto s = open(opts());
  ASSERT_TRUE(s);
  const auto batch = records(10, 60);  // 51 lines of equal length
  const std::uint64_t line = make_record(10)->line.size() + 1;
  // Room for 20 lines and half of the 21st.
  const rlim_t cap = static_cast<rlim_t>(20 * line + line / 2);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of the signal
  rlimit capped = saved;
  capped.rlim_cur = cap;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &capped), 0);
  const auto first = send_now(ioc, *s, batch);
  const auto size_at_failure = fs::file_size(opts().path);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(first, send_result::retry);
  EXPECT_EQ(size_at_failure, 20 * line);  // the torn half line was cut off
  // The receiver retries the same batch.
  EXPECT_EQ(send_now(ioc, *s, batch), send_result::ok);
  s.reset();
  EXPECT_EQ(split_lines(read_file(opts().path)), lines_of(batch));
}

// Verifies that a path that cannot be opened is reported, not crashed on.
TEST_F(FileSinkTest, OpenFailureIsReported) {
  auto o = opts();
  o.path = (dir.path() / "events.json" / "below-a-file").string();
  { std::ofstream(dir.path() / "events.json") << ""; }
  std::string error;
  auto s = file_sink::open(o, line_format(nullptr, false), &error);
  EXPECT_EQ(s, nullptr);
  EXPECT_THAT(error, ::testing::HasSubstr("cannot open"));
}

// Verifies that a layout renders each line.
TEST_F(FileSinkTest, RendersLayout) {
  diagnostics problems;
  auto layout = tmpl::layout::compile(
      nlohmann::json{{"msg", "{{ .Message }}"}, {"why", "{{ .Reason }}"}}, "layout", problems);
  ASSERT_NE(layout, nullptr) << (problems.empty() ? "" : problems[0].to_string());
  auto s = open(opts(), line_format(std::move(layout), false));
  ASSERT_TRUE(s);
  EXPECT_EQ(send_now(ioc, *s, records(1, 2)), send_result::ok);
  EXPECT_EQ(split_lines(read_file(dir.path() / "events.json")),
            (std::vector<std::string>{R"({"msg":"message 1","why":"Started"})",
                                      R"({"msg":"message 2","why":"Started"})"}));
}

// Verifies that deDot replaces dots in involvedObject label keys before serializing.
TEST_F(FileSinkTest, DeDotRewritesLabelKeys) {
  auto r = std::make_shared<record>(*make_record(1));
  r->doc["involvedObject"] = {{"kind", "Pod"}, {"labels", {{"app.kubernetes.io/name", "web"}}}};
  r->line = go_json(r->doc);
  auto s = open(opts(), line_format(nullptr, true));
  ASSERT_TRUE(s);
  EXPECT_EQ(send_now(ioc, *s, {r}), send_result::ok);
  const auto text = read_file(dir.path() / "events.json");
  EXPECT_THAT(text, ::testing::HasSubstr(R"("labels":{"app_kubernetes_io/name":"web"})"));
  EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr("app.kubernetes.io")));
}

}  // namespace
}  // namespace ke::sinks
