#include "sinks/file_sink.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <utility>
#include <vector>

#include "sinks/fd_writer.hpp"

namespace ke::sinks {

namespace {

namespace fs = std::filesystem;
using sys_clock = std::chrono::system_clock;

// lumberjack's backup time format "2006-01-02T15-04-05.000", always UTC.
constexpr std::size_t stamp_size = 23;

std::string format_stamp(sys_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const auto secs = std::chrono::floor<std::chrono::seconds>(ms);
  const std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[96];  // room for any int values, keeps -Wformat-truncation quiet
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d-%02d-%02d.%03d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>((ms - secs).count()));
  return buf;
}

bool parse_stamp(std::string_view s, sys_clock::time_point& out) {
  if (s.size() != stamp_size) {
    return false;
  }
  static constexpr std::string_view shape = "dddd-dd-ddTdd-dd-dd.ddd";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool digit = s[i] >= '0' && s[i] <= '9';
    if (shape[i] == 'd' ? !digit : s[i] != shape[i]) {
      return false;
    }
  }
  auto num = [&](std::size_t pos, std::size_t len) {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  const std::time_t tt = ::timegm(&tm);
  if (tt == static_cast<std::time_t>(-1)) {
    return false;
  }
  out = sys_clock::from_time_t(tt) + std::chrono::milliseconds(num(20, 3));
  return true;
}

struct name_parts {
  fs::path dir;
  std::string prefix;  // "<stem>-"
  std::string ext;     // ".json" or ""
};

name_parts split_name(const std::string& path) {
  const fs::path p(path);
  name_parts n;
  n.dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  n.prefix = p.stem().string() + "-";
  n.ext = p.extension().string();
  return n;
}

}  // namespace

file_sink::file_sink(options o, line_format format)
    : opts_(std::move(o)), format_(std::move(format)) {
  if (opts_.max_bytes == 0) {
    opts_.max_bytes = 100ull << 20;
  }
}

file_sink::~file_sink() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

std::unique_ptr<file_sink> file_sink::open(options o, line_format format, std::string* error) {
  std::unique_ptr<file_sink> s(new file_sink(std::move(o), std::move(format)));
  if (!s->open_file(error)) {
    return nullptr;
  }
  if (s->regular_) {
    s->remove_old_backups();  // as lumberjack does when it opens the file
  }
  return s;
}

sys_clock::time_point file_sink::now() const {
  return opts_.clock ? opts_.clock() : sys_clock::now();
}

bool file_sink::open_file(std::string* error) {
  auto try_open = [&] {
    int fd;
    do {
      fd = ::open(opts_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    } while (fd < 0 && errno == EINTR);
    return fd;
  };
  int fd = try_open();
  if (fd < 0 && errno == ENOENT) {
    std::error_code ec;
    const fs::path parent = fs::path(opts_.path).parent_path();
    if (!parent.empty() && fs::create_directories(parent, ec)) {
      fd = try_open();
    } else {
      errno = ENOENT;
    }
  }
  if (fd < 0) {
    if (error != nullptr) {
      *error = "cannot open " + opts_.path + ": " + std::strerror(errno);
    }
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    if (error != nullptr) {
      *error = "cannot stat " + opts_.path + ": " + std::strerror(errno);
    }
    ::close(fd);
    return false;
  }
  if (fd_ >= 0) {
    ::close(fd_);
  }
  fd_ = fd;
  // /dev/stdout, /dev/fd/N, /proc/self/fd/N may resolve to a regular file when the process's
  // output is redirected to one; renaming such a path would move the device node or symlink,
  // so only genuine files are rotated.
  const bool special_path = opts_.path.rfind("/dev/", 0) == 0 || opts_.path.rfind("/proc/", 0) == 0;
  regular_ = S_ISREG(st.st_mode) && !special_path;
  size_ = regular_ ? static_cast<std::uint64_t>(st.st_size) : 0;
  return true;
}

std::size_t file_sink::write(std::string_view data, int* error) {
  *error = 0;
  std::string open_error;
  if (fd_ < 0 && !open_file(&open_error)) {
    if (const auto n = write_log_.allow()) {
      spdlog::error("file {}: {} ({} since last report)", opts_.path, open_error, n);
    }
    *error = EIO;
    return 0;
  }
  if (!carry_.empty()) {
    const auto c = write_all(fd_, carry_);
    carry_.erase(0, c.written);
    if (c.error != 0) {
      *error = c.error;
      return 0;
    }
  }
  const auto w = write_all(fd_, data);
  if (regular_) {
    size_ += w.written;
  }
  *error = w.error;
  return w.written;
}

bool file_sink::flush(std::size_t* resume) {
  int error = 0;
  const std::size_t written = write(buf_, &error);
  if (error == 0) {
    return true;
  }
  if (lines_.empty()) {
    return false;  // only the carry was to be written: *resume stays where it was
  }
  // Lines written whole are done; the first one not written whole is where the retry resumes.
  std::size_t k = 0;
  while (k < lines_.size() && lines_[k].first <= written) {
    ++k;
  }
  *resume = k < lines_.size() ? lines_[k].second : lines_.back().second + 1;
  const std::size_t line_start = k > 0 ? lines_[k - 1].first : 0;
  const std::size_t partial = written - std::min(written, line_start);
  if (partial > 0 && k < lines_.size()) {
    struct stat st {};
    if (regular_ && ::fstat(fd_, &st) == 0 && static_cast<std::uint64_t>(st.st_size) >= partial &&
        ::ftruncate(fd_, st.st_size - static_cast<off_t>(partial)) == 0) {
      size_ -= std::min<std::uint64_t>(size_, partial);  // the torn line is gone: written again
    } else {
      carry_.assign(buf_, written, lines_[k].first - written);  // finish it first next time
      ++*resume;
    }
  }
  if (const auto n = write_log_.allow()) {
    spdlog::error(
        "file {}: write failed: {} ({} since last report); {} of {} bytes written, retrying the "
        "rest",
        opts_.path, std::strerror(error), n, written, buf_.size());
  }
  ::close(fd_);  // reopened by the next write: the path may have been replaced
  fd_ = -1;
  return false;
}

std::string file_sink::backup_name(sys_clock::time_point t) const {
  const auto parts = split_name(opts_.path);
  std::error_code ec;
  while (true) {
    fs::path candidate = parts.dir / (parts.prefix + format_stamp(t) + parts.ext);
    if (!fs::exists(candidate, ec)) {
      return candidate.string();
    }
    t += std::chrono::milliseconds(1);  // two rotations within one millisecond
  }
}

bool file_sink::rotate() {
  const std::string backup = backup_name(now());
  if (::rename(opts_.path.c_str(), backup.c_str()) != 0) {
    // Keep writing to the current file rather than failing; try again after another maxsize.
    if (const auto n = rotate_log_.allow()) {
      spdlog::error("file {}: cannot rename to {}: {} ({} since last report); not rotating",
                    opts_.path, backup, std::strerror(errno), n);
    }
    size_ = 0;
    return true;
  }
  ::close(fd_);
  fd_ = -1;
  std::string error;
  if (!open_file(&error)) {
    spdlog::error("file {}: after rotation: {}", opts_.path, error);
    return false;
  }
  remove_old_backups();
  return true;
}

void file_sink::remove_old_backups() {
  if (opts_.max_backups <= 0 && opts_.max_age.count() <= 0) {
    return;
  }
  const auto parts = split_name(opts_.path);
  std::vector<std::pair<sys_clock::time_point, fs::path>> backups;
  std::error_code ec;
  for (fs::directory_iterator it(parts.dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() != parts.prefix.size() + stamp_size + parts.ext.size() ||
        name.compare(0, parts.prefix.size(), parts.prefix) != 0 ||
        name.compare(name.size() - parts.ext.size(), parts.ext.size(), parts.ext) != 0) {
      continue;
    }
    sys_clock::time_point t;
    std::error_code type_ec;
    if (parse_stamp(std::string_view(name).substr(parts.prefix.size(), stamp_size), t) &&
        it->is_regular_file(type_ec)) {
      backups.emplace_back(t, it->path());
    }
  }
  std::sort(backups.begin(), backups.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });  // newest first
  std::vector<fs::path> doomed;
  if (opts_.max_backups > 0 && backups.size() > static_cast<std::size_t>(opts_.max_backups)) {
    for (std::size_t i = static_cast<std::size_t>(opts_.max_backups); i < backups.size(); ++i) {
      doomed.push_back(backups[i].second);
    }
    backups.resize(static_cast<std::size_t>(opts_.max_backups));
  }
  if (opts_.max_age.count() > 0) {
    const auto cutoff = now() - opts_.max_age;
    for (const auto& [t, p] : backups) {
      if (t < cutoff) {
        doomed.push_back(p);
      }
    }
  }
  for (const auto& p : doomed) {
    std::error_code rm_ec;
    if (!fs::remove(p, rm_ec) && rm_ec) {
      spdlog::warn("file {}: cannot remove old backup {}: {}", opts_.path, p.string(),
                   rm_ec.message());
    }
  }
}

net::awaitable<send_result> file_sink::send(std::vector<record_ptr> batch) {
  std::size_t start = 0;
  if (resume_front_ != nullptr && !batch.empty() && batch.front().get() == resume_front_ &&
      batch.size() == resume_size_) {
    start = resume_at_;
  }
  resume_front_ = nullptr;
  auto fail_at = [&](std::size_t at) {
    if (!batch.empty()) {
      resume_front_ = batch.front().get();
      resume_size_ = batch.size();
      resume_at_ = at;
    }
    return send_result::retry;
  };

  buf_.clear();
  lines_.clear();
  std::size_t resume = start;
  std::string error;
  for (std::size_t i = start; i < batch.size(); ++i) {
    line_.clear();
    if (!format_.append(*batch[i], line_, &error)) {
      ++errors_;
      if (const auto n = template_log_.allow()) {
        spdlog::warn("file {}: layout failed, record skipped ({} since last report): {}",
                     opts_.path, n, error);
      }
      continue;
    }
    line_ += '\n';
    const std::uint64_t pending = size_ + buf_.size();
    if (regular_ && fd_ >= 0 && pending > 0 && pending + line_.size() > opts_.max_bytes) {
      if (!buf_.empty() && !flush(&resume)) {
        co_return fail_at(resume);
      }
      buf_.clear();
      lines_.clear();
      if (!rotate()) {
        co_return fail_at(i);
      }
    }
    buf_ += line_;
    lines_.emplace_back(buf_.size(), i);
  }
  if ((!buf_.empty() || !carry_.empty()) && !flush(&resume)) {
    co_return fail_at(resume);
  }
  co_return send_result::ok;
}

net::awaitable<void> file_sink::close(std::chrono::steady_clock::time_point /*deadline*/) {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  co_return;
}

std::uint64_t file_sink::take_errors() { return std::exchange(errors_, 0); }

}  // namespace ke::sinks
