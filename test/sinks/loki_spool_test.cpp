#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "sinks/loki/spool.hpp"

namespace ke::sinks::loki {
namespace {

namespace fs = std::filesystem;

class LokiSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ke-spool-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static payload body(const std::string& s) { return payload{s, "application/x-protobuf", ""}; }
  std::string dir_;
};

// Verifies that batches come back oldest first with their metadata, and are removed.
TEST_F(LokiSpoolTest, FifoOrder) {
  std::string error;
  auto s = spool::open(dir_, 1 << 20, &error);
  ASSERT_TRUE(s) << error;
  ASSERT_TRUE(s->append(body("one"), 1, 10, &error));
  ASSERT_TRUE(s->append(payload{"two", "application/json", "gzip"}, 2, 20, &error));
  EXPECT_EQ(s->batches(), 2u);
  auto f = s->front();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->body.body, "one");
  EXPECT_EQ(f->entries, 1u);
  EXPECT_EQ(f->bytes, 10u);
  s->remove(f->seq);
  f = s->front();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->body.body, "two");
  EXPECT_EQ(f->body.content_type, "application/json");
  EXPECT_EQ(f->body.content_encoding, "gzip");
  s->remove(f->seq);
  EXPECT_FALSE(s->front());
  EXPECT_EQ(s->bytes(), 0u);
}

// Verifies that a reopened spool finds its batches in order (it survives a restart) and keeps
// numbering after them.
TEST_F(LokiSpoolTest, SurvivesReopen) {
  std::string error;
  {
    auto s = spool::open(dir_, 1 << 20, &error);
    ASSERT_TRUE(s);
    for (int i = 0; i < 12; ++i) {
      ASSERT_TRUE(s->append(body("b" + std::to_string(i)), 1, 1, &error));
    }
  }
  auto s = spool::open(dir_, 1 << 20, &error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->batches(), 12u);
  ASSERT_TRUE(s->append(body("b12"), 1, 1, &error));
  for (int i = 0; i < 13; ++i) {
    auto f = s->front();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->body.body, "b" + std::to_string(i));
    s->remove(f->seq);
  }
}

// Verifies that prepend puts a batch before all others.
TEST_F(LokiSpoolTest, PrependGoesFirst) {
  std::string error;
  auto s = spool::open(dir_, 1 << 20, &error);
  ASSERT_TRUE(s->append(body("later"), 1, 1, &error));
  ASSERT_TRUE(s->prepend(body("older"), 1, 1, &error));
  s.reset();
  s = spool::open(dir_, 1 << 20, &error);
  EXPECT_EQ(s->front()->body.body, "older");
}

// Verifies that only one spool can use a directory at a time.
TEST_F(LokiSpoolTest, DirectoryIsLocked) {
  std::string error;
  auto s = spool::open(dir_, 1 << 20, &error);
  ASSERT_TRUE(s);
  EXPECT_FALSE(spool::open(dir_, 1 << 20, &error));
  EXPECT_NE(error.find("in use"), std::string::npos);
  s.reset();
  EXPECT_TRUE(spool::open(dir_, 1 << 20, &error));
}

// Verifies that maxBytes bounds the spool.
TEST_F(LokiSpoolTest, MaxBytes) {
  std::string error;
  auto s = spool::open(dir_, 1000, &error);
  EXPECT_TRUE(s->has_room(900));
  ASSERT_TRUE(s->append(body(std::string(600, 'x')), 1, 1, &error));
  EXPECT_GT(s->bytes(), 600u);
  EXPECT_FALSE(s->has_room(600));
  EXPECT_TRUE(s->has_room(100));
}

// Verifies that leftovers of an interrupted write are removed and damaged files are moved
// aside without blocking the rest.
TEST_F(LokiSpoolTest, CleansTmpAndSkipsCorrupt) {
  std::string error;
  {
    auto s = spool::open(dir_, 1 << 20, &error);
    ASSERT_TRUE(s->append(body("first"), 1, 1, &error));
    ASSERT_TRUE(s->append(body("second"), 1, 1, &error));
  }
  std::vector<fs::path> files;
  for (const auto& de : fs::directory_iterator(dir_)) {
    if (de.path().extension() == ".batch") {
      files.push_back(de.path());
    }
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 2u);
  fs::resize_file(files[0], fs::file_size(files[0]) - 2);  // torn
  std::ofstream(dir_ + "/00000000000000000001.tmp") << "partial";
  auto s = spool::open(dir_, 1 << 20, &error);
  EXPECT_FALSE(fs::exists(dir_ + "/00000000000000000001.tmp"));
  const auto f = s->front();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->body.body, "second");
  EXPECT_EQ(s->corrupt(), 1u);
  EXPECT_EQ(s->batches(), 1u);
  bool moved = false;
  for (const auto& de : fs::directory_iterator(dir_)) {
    moved = moved || de.path().extension() == ".corrupt";
  }
  EXPECT_TRUE(moved);
}

// Verifies that a batch file that cannot be read for now (an I/O error; here a directory in its
// place, read() gives EISDIR) is not taken for damage: it is not moved aside, front() says why,
// and once readable again the batch is replayed.
TEST_F(LokiSpoolTest, TransientReadErrorIsNotCorruption) {
  std::string error;
  auto s = spool::open(dir_, 1 << 20, &error);
  ASSERT_TRUE(s) << error;
  ASSERT_TRUE(s->append(body("one"), 1, 3, &error)) << error;
  std::string batch_file;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    if (e.path().extension() == ".batch") {
      batch_file = e.path().string();
    }
  }
  ASSERT_FALSE(batch_file.empty());
  std::filesystem::rename(batch_file, batch_file + ".away");
  std::filesystem::create_directory(batch_file);
  EXPECT_FALSE(s->front());
  EXPECT_EQ(s->read_error(), EISDIR);
  EXPECT_EQ(s->corrupt(), 0u);
  EXPECT_EQ(s->batches(), 1u);
  std::filesystem::remove(batch_file);
  std::filesystem::rename(batch_file + ".away", batch_file);
  const auto b = s->front();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->body.body, "one");
  EXPECT_EQ(s->read_error(), 0);
}

// Verifies that an unusable directory is reported.
TEST_F(LokiSpoolTest, UnusableDirectory) {
  std::ofstream(dir_ + "/file") << "x";
  std::string error;
  EXPECT_FALSE(spool::open(dir_ + "/file/sub", 1 << 20, &error));
  EXPECT_NE(error.find("cannot create"), std::string::npos);
}

}  // namespace
}  // namespace ke::sinks::loki
