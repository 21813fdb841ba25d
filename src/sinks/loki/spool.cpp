#include "sinks/loki/spool.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

namespace ke::sinks::loki {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view magic = "KE-LOKI-SPOOL 1\n";
constexpr std::string_view dead_magic = "KE-LOKI-DEAD-LETTER 1\n";

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// The header fields a spooled batch and a dead letter both start with.
nlohmann::json batch_header(const payload& p, std::size_t entries, std::size_t bytes) {
  return {{"content_type", p.content_type},
          {"content_encoding", p.content_encoding},
          {"entries", entries},
          {"bytes", bytes},
          {"body_bytes", p.body.size()}};
}

// Writes head + body as <stem>.batch in dir: first to <stem>.tmp (fsynced, removed again on
// failure), then renamed, so that a crash leaves the whole file or none. When only the fsync
// of dir fails the file is complete and kept: true, with *error set.
bool write_batch_file(const std::string& dir, const std::string& stem, std::string_view head,
                      std::string_view body, std::string* error) {
  const std::string tmp = stem + ".tmp";
  const std::string final_path = stem + ".batch";
  auto fail = [&](const std::string& what) {
    if (error != nullptr) {
      *error = errno_text(what);
    }
    ::unlink(tmp.c_str());
    return false;
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail("cannot create \"" + tmp + "\"");
  }
  if (!write_all(fd, head) || !write_all(fd, body)) {
    ::close(fd);
    return fail("cannot write \"" + tmp + "\"");
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return fail("cannot fsync \"" + tmp + "\"");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    return fail("cannot rename \"" + tmp + "\"");
  }
  if (!fsync_dir(dir) && error != nullptr) {
    *error = errno_text("cannot fsync directory \"" + dir + "\"");
  }
  return true;
}

// 0 when read (whole), else the errno: ENOENT for a file that is gone, anything else an I/O
// error that may pass (EIO, EMFILE, ENOMEM ...) and must not be taken for damage.
int read_file(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return e;
  }
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return e;
    }
    if (n == 0) {
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(done);
  return 0;
}

// Parses "<20 digits>.<ext>"; 0 when the name does not match.
std::uint64_t seq_of(const std::string& name, std::string_view ext) {
  if (name.size() != 20 + ext.size() || name.compare(20, std::string::npos, ext) != 0) {
    return 0;
  }
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') {
      return 0;
    }
    v = v * 10 + static_cast<std::uint64_t>(name[i] - '0');
  }
  return v;
}

}  // namespace

spool::spool(std::string dir, std::uint64_t max_bytes, int lock_fd)
    : dir_(std::move(dir)), max_bytes_(max_bytes), lock_fd_(lock_fd) {}

spool::~spool() {
  if (lock_fd_ >= 0) {
    ::flock(lock_fd_, LOCK_UN);
    ::close(lock_fd_);
  }
}

std::string spool::path_of(std::uint64_t seq, const char* ext) const {
  char name[48];
  std::snprintf(name, sizeof name, "/%020llu%s", static_cast<unsigned long long>(seq), ext);
  return dir_ + name;
}

std::unique_ptr<spool> spool::open(const std::string& dir, std::uint64_t max_bytes,
                                   std::string* error) {
  auto fail = [&](std::string m) -> std::unique_ptr<spool> {
    if (error != nullptr) {
      *error = std::move(m);
    }
    return nullptr;
  };
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return fail("cannot create spool directory \"" + dir + "\": " + ec.message());
  }
  const std::string lock_path = dir + "/LOCK";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail(errno_text("cannot open \"" + lock_path + "\""));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) {
      return fail("spool directory \"" + dir + "\" is in use by another receiver or process");
    }
    errno = e;
    return fail(errno_text("cannot lock \"" + lock_path + "\""));
  }
  std::unique_ptr<spool> s(new spool(dir, max_bytes, fd));
  std::vector<item> found;
  for (const auto& de : fs::directory_iterator(dir, ec)) {
    const std::string name = de.path().filename().string();
    if (seq_of(name, ".tmp") != 0) {
      fs::remove(de.path(), ec);
      continue;
    }
    if (const auto seq = seq_of(name, ".batch"); seq != 0) {
      std::error_code size_ec;
      const auto size = fs::file_size(de.path(), size_ec);
      found.push_back({seq, size_ec ? 0 : size});
    }
    if (const auto seq = seq_of(name, ".corrupt"); seq != 0) {
      s->next_seq_ = std::max(s->next_seq_, seq + 1);
    }
  }
  if (ec) {
    return fail("cannot list spool directory \"" + dir + "\": " + ec.message());
  }
  std::sort(found.begin(), found.end(), [](const item& a, const item& b) { return a.seq < b.seq; });
  for (const auto& it : found) {
    s->items_.push_back(it);
    s->bytes_ += it.size;
    s->next_seq_ = std::max(s->next_seq_, it.seq + 1);
  }
  // Dead letters left by earlier runs count against their bound (oldest removed first).
  std::vector<item> dead;
  std::error_code dead_ec;
  for (const auto& de : fs::directory_iterator(s->dead_letter_dir(), dead_ec)) {
    const std::string name = de.path().filename().string();
    if (seq_of(name, ".tmp") != 0) {
      fs::remove(de.path(), dead_ec);
      continue;
    }
    if (const auto seq = seq_of(name, ".batch"); seq != 0) {
      std::error_code size_ec;
      const auto size = fs::file_size(de.path(), size_ec);
      dead.push_back({seq, size_ec ? 0 : size});
    }
  }
  std::sort(dead.begin(), dead.end(), [](const item& a, const item& b) { return a.seq < b.seq; });
  for (const auto& it : dead) {
    s->dead_.push_back(it);
    s->dead_bytes_ += it.size;
    s->dead_next_seq_ = std::max(s->dead_next_seq_, it.seq + 1);
  }
  return s;
}

bool spool::has_room(std::uint64_t n) const {
  std::lock_guard lock(mu_);
  return bytes_ + n <= max_bytes_;
}

bool spool::append(const payload& p, std::size_t entries, std::size_t bytes, std::string* error) {
  std::lock_guard lock(mu_);
  return write(next_seq_++, false, p, entries, bytes, error);
}

bool spool::prepend(const payload& p, std::size_t entries, std::size_t bytes, std::string* error) {
  std::lock_guard lock(mu_);
  if (items_.empty() || items_.front().seq <= 1) {
    return write(next_seq_++, false, p, entries, bytes, error);
  }
  return write(items_.front().seq - 1, true, p, entries, bytes, error);
}

bool spool::write(std::uint64_t seq, bool at_head, const payload& p, std::size_t entries,
                  std::size_t bytes, std::string* error) {
  std::string head(magic);
  head += batch_header(p, entries, bytes).dump();
  head += '\n';
  if (!write_batch_file(dir_, path_of(seq, ""), head, p.body, error)) {
    return false;
  }
  const std::uint64_t size = head.size() + p.body.size();
  if (at_head) {
    items_.push_front({seq, size});
  } else {
    items_.push_back({seq, size});
  }
  bytes_ += size;
  return true;
}

std::optional<spooled_batch> spool::front() {
  std::lock_guard lock(mu_);
  while (!items_.empty()) {
    const item it = items_.front();
    const std::string path = path_of(it.seq, ".batch");
    std::string data;
    const int read_error = read_file(path, data);
    if (read_error != 0 && read_error != ENOENT) {
      // Not damage: the file stays, and the caller retries later (read_error()).
      last_read_error_ = read_error;
      return std::nullopt;
    }
    last_read_error_ = 0;
    bool ok = read_error == 0 && data.compare(0, magic.size(), magic) == 0;
    spooled_batch b;
    b.seq = it.seq;
    if (ok) {
      const auto eol = data.find('\n', magic.size());
      const auto header = nlohmann::json::parse(
          eol == std::string::npos
              ? std::string_view()
              : std::string_view(data).substr(magic.size(), eol - magic.size()),
          nullptr, false);
      ok = eol != std::string::npos && header.is_object() &&
           header.value("body_bytes", std::uint64_t{0}) == data.size() - eol - 1 &&
           header.contains("content_type") && header["content_type"].is_string();
      if (ok) {
        b.body.content_type = header["content_type"].get<std::string>();
        b.body.content_encoding = header.value("content_encoding", std::string());
        b.entries = header.value("entries", std::size_t{0});
        b.bytes = header.value("bytes", std::size_t{0});
        b.body.body = data.substr(eol + 1);
      }
    }
    if (ok) {
      return b;
    }
    // Unreadable or damaged: move it aside so that the rest can be replayed.
    ::rename(path.c_str(), path_of(it.seq, ".corrupt").c_str());
    items_.pop_front();
    bytes_ -= std::min(bytes_, it.size);
    ++corrupt_;
  }
  return std::nullopt;
}

void spool::remove(std::uint64_t seq) {
  std::lock_guard lock(mu_);
  const auto it =
      std::find_if(items_.begin(), items_.end(), [&](const item& x) { return x.seq == seq; });
  if (it == items_.end()) {
    return;
  }
  ::unlink(path_of(seq, ".batch").c_str());
  bytes_ -= std::min(bytes_, it->size);
  items_.erase(it);
}

bool spool::dead_letter(const payload& p, std::size_t entries, std::size_t bytes,
                        const dead_letter_info& info, std::size_t* evicted, std::string* error) {
  std::lock_guard lock(mu_);
  if (evicted != nullptr) {
    *evicted = 0;
  }
  auto refuse = [&](std::string m) {
    if (error != nullptr) {
      *error = std::move(m);
    }
    return false;
  };
  const std::string dir = dead_letter_dir();
  nlohmann::json header = batch_header(p, entries, bytes);
  header["status"] = info.status;
  header["reason"] = info.reason;
  header["message"] = info.message;
  header["time"] = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::string head(dead_magic);
  head += header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  head += '\n';
  const std::uint64_t size = head.size() + p.body.size();
  if (dead_max_bytes_ == 0) {
    return refuse("dead letters are disabled (spool.deadLetterMaxBytes: 0)");
  }
  if (size > dead_max_bytes_) {
    return refuse("the batch (" + std::to_string(size) +
                  " bytes) is larger than spool.deadLetterMaxBytes (" +
                  std::to_string(dead_max_bytes_) + ")");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return refuse("cannot create \"" + dir + "\": " + ec.message());
  }
  while (!dead_.empty() && dead_bytes_ + size > dead_max_bytes_) {
    char name[48];
    std::snprintf(name, sizeof name, "/%020llu.batch",
                  static_cast<unsigned long long>(dead_.front().seq));
    ::unlink((dir + name).c_str());
    dead_bytes_ -= std::min(dead_bytes_, dead_.front().size);
    dead_.pop_front();
    if (evicted != nullptr) {
      ++*evicted;
    }
  }
  const std::uint64_t seq = dead_next_seq_++;
  char name[48];
  std::snprintf(name, sizeof name, "/%020llu", static_cast<unsigned long long>(seq));
  if (!write_batch_file(dir, dir + name, head, p.body, error)) {
    return false;
  }
  dead_.push_back({seq, size});
  dead_bytes_ += size;
  return true;
}

std::size_t spool::dead_letters() const {
  std::lock_guard lock(mu_);
  return dead_.size();
}

std::uint64_t spool::dead_letter_bytes() const {
  std::lock_guard lock(mu_);
  return dead_bytes_;
}

std::size_t spool::batches() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

std::uint64_t spool::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

std::uint64_t spool::corrupt() const {
  std::lock_guard lock(mu_);
  return corrupt_;
}

}  // namespace ke::sinks::loki
