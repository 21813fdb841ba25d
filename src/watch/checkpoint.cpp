#include "watch/checkpoint.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/thread_pool.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "core/base64.hpp"

namespace ke::watch {

namespace {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;
constexpr std::size_t record_bytes = 16;

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

std::uint64_t get_le(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  }
  return v;
}

}  // namespace

std::uint64_t uid_key(std::string_view uid) {
  // FNV-1a then a 64-bit finaliser: stable across runs and processes, well mixed.
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : uid) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

// ---------------------------------------------------------------------------------------------
// checkpoint_set

void checkpoint_set::record(std::uint64_t uid, std::int64_t count, std::int64_t created_s) {
  auto it = entries_.find(uid);
  if (it == entries_.end()) {
    lru_.push_back(uid);
    entries_.emplace(uid, node{entry{count, created_s}, std::prev(lru_.end())});
    return;
  }
  it->second.e.count = std::max(it->second.e.count, count);
  lru_.splice(lru_.end(), lru_, it->second.lru);
}

const checkpoint_set::entry* checkpoint_set::find(std::uint64_t uid) const {
  auto it = entries_.find(uid);
  return it == entries_.end() ? nullptr : &it->second.e;
}

void checkpoint_set::limit(std::size_t max) {
  while (entries_.size() > max) {
    const std::uint64_t uid = lru_.front();
    lru_.pop_front();
    auto it = entries_.find(uid);
    complete_since_ = std::max(complete_since_, it->second.e.created_s + 1);
    entries_.erase(it);
  }
}

void checkpoint_set::merge(const checkpoint_set& other) {
  for (const std::uint64_t uid : other.lru_) {
    const entry& e = other.entries_.at(uid).e;
    record(uid, e.count, e.created_s);
  }
  complete_since_ = std::max(complete_since_, other.complete_since_);
}

std::string checkpoint_set::encode() const {
  std::string raw;
  raw.reserve(entries_.size() * record_bytes);
  for (const std::uint64_t uid : lru_) {
    const entry& e = entries_.at(uid).e;
    put_le(raw, uid, 8);
    put_le(raw, static_cast<std::uint32_t>(std::clamp<std::int64_t>(e.count, 0, INT32_MAX)), 4);
    put_le(raw, static_cast<std::uint32_t>(std::clamp<std::int64_t>(e.created_s, 0, UINT32_MAX)),
           4);
  }
  json j = {{"version", 1},
            {"completeSince", complete_since_},
            {"entries", entries_.size()},
            {"data", base64_encode(raw)}};
  return j.dump();
}

std::optional<checkpoint_set> checkpoint_set::decode(std::string_view text, std::string* error) {
  const auto fail = [&](const std::string& why) -> std::optional<checkpoint_set> {
    if (error != nullptr) {
      *error = why;
    }
    return std::nullopt;
  };
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail("not a JSON object");
  }
  const auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer() || version->get<int>() != 1) {
    return fail("version: expected 1");
  }
  const auto since = j.find("completeSince");
  const auto n = j.find("entries");
  const auto data = j.find("data");
  if (since == j.end() || !since->is_number_integer()) {
    return fail("completeSince: expected an integer");
  }
  if (n == j.end() || !n->is_number_unsigned()) {
    return fail("entries: expected a non-negative integer");
  }
  if (data == j.end() || !data->is_string()) {
    return fail("data: expected a base64 string");
  }
  const auto raw = base64_decode(data->get_ref<const std::string&>());
  if (!raw) {
    return fail("data: not base64");
  }
  const auto count = n->get<std::uint64_t>();
  if (raw->size() % record_bytes != 0 || raw->size() / record_bytes != count) {
    return fail("data: " + std::to_string(raw->size()) + " bytes for " + std::to_string(count) +
                " entries (expected " + std::to_string(record_bytes) + " each)");
  }
  checkpoint_set s;
  for (std::size_t at = 0; at < raw->size(); at += record_bytes) {
    s.record(get_le(*raw, at, 8), static_cast<std::int64_t>(get_le(*raw, at + 8, 4)),
             static_cast<std::int64_t>(get_le(*raw, at + 12, 4)));
  }
  s.complete_since_ = since->get<std::int64_t>();
  return s;
}

// ---------------------------------------------------------------------------------------------
// stores

namespace {

class file_store final : public checkpoint_store {
 public:
  file_store(net::any_io_executor ex, std::string path)
      : ex_(std::move(ex)), path_(std::move(path)), worker_(1) {}
  ~file_store() override { worker_.join(); }

  net::awaitable<loaded> load() override {
    co_return co_await on_worker(&file_store::read_file, this);
  }

  net::awaitable<bool> save(const std::string& text, bool* conflict, std::string* error) override {
    *conflict = false;
    std::string err = co_await on_worker(&file_store::write_file, this, text);
    if (!err.empty()) {
      *error = std::move(err);
      co_return false;
    }
    co_return true;
  }

  std::string describe() const override { return "file " + path_; }

 private:
  template <class F, class... A>
  net::awaitable<std::invoke_result_t<F, A...>> on_worker(F f, A... a) {
    co_return co_await net::co_spawn(worker_.get_executor(), run<F, A...>(f, a...),
                                     net::use_awaitable);
  }
  template <class F, class... A>
  static net::awaitable<std::invoke_result_t<F, A...>> run(F f, A... a) {
    co_return std::invoke(f, a...);
  }

  loaded read_file() const {
    loaded l;
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
      if (errno == ENOENT) {
        l.ok = true;  // first start
        return l;
      }
      l.error = "cannot open " + path_ + ": " + std::strerror(errno);
      return l;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) {
      l.error = "cannot read " + path_ + ": " + std::strerror(errno);
      return l;
    }
    l.ok = true;
    l.found = true;
    l.text = ss.str();
    return l;
  }

  std::string write_file(const std::string& text) const {
    const std::string tmp = path_ + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      return "cannot create " + tmp + ": " + std::strerror(errno);
    }
    std::size_t off = 0;
    while (off < text.size()) {
      const ssize_t w = ::write(fd, text.data() + off, text.size() - off);
      if (w < 0) {
        if (errno == EINTR) {
          continue;
        }
        std::string e = "cannot write " + tmp + ": " + std::strerror(errno);
        ::close(fd);
        ::unlink(tmp.c_str());
        return e;
      }
      off += static_cast<std::size_t>(w);
    }
    if (::fsync(fd) != 0) {
      std::string e = "cannot fsync " + tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return e;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path_.c_str()) != 0) {
      std::string e = "cannot rename " + tmp + " to " + path_ + ": " + std::strerror(errno);
      ::unlink(tmp.c_str());
      return e;
    }
    const auto slash = path_.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
    if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
    return {};
  }

  net::any_io_executor ex_;
  std::string path_;
  net::thread_pool worker_;
};

class configmap_store final : public checkpoint_store {
 public:
  configmap_store(kube::api_client& api, std::string ns, std::string name)
      : api_(api), ns_(std::move(ns)), name_(std::move(name)) {}

  net::awaitable<loaded> load() override {
    loaded l;
    const auto r = co_await api_.get(path() + "/" + name_);
    if (r.status == 404) {
      l.ok = true;
      resource_version_.clear();
      exists_ = false;
      co_return l;
    }
    if (!r.ok()) {
      l.error = r.describe();
      co_return l;
    }
    const json cm = json::parse(r.body, nullptr, false);
    if (cm.is_discarded() || !cm.is_object()) {
      l.error = "the ConfigMap is not JSON";
      co_return l;
    }
    exists_ = true;
    resource_version_ = cm.value(json::json_pointer("/metadata/resourceVersion"), std::string());
    l.ok = true;
    const auto text = cm.value(json::json_pointer("/data/" + std::string(key)), std::string());
    l.found = !text.empty();
    l.text = text;
    co_return l;
  }

  net::awaitable<bool> save(const std::string& text, bool* conflict, std::string* error) override {
    *conflict = false;
    json cm = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata",
                {{"name", name_},
                 {"namespace", ns_},
                 {"labels", {{"app.kubernetes.io/component", "checkpoint"}}}}},
               {"data", {{key, text}}}};
    kube::api_response r;
    if (exists_) {
      cm["metadata"]["resourceVersion"] = resource_version_;
      r = co_await api_.send(http::verb::put, path() + "/" + name_, cm.dump());
    } else {
      r = co_await api_.send(http::verb::post, path(), cm.dump());
    }
    if (r.status == 409) {
      *conflict = true;  // written by another replica (or created meanwhile)
      *error = r.describe();
      co_return false;
    }
    if (!r.ok()) {
      *error = r.describe();
      co_return false;
    }
    const json got = json::parse(r.body, nullptr, false);
    if (!got.is_discarded() && got.is_object()) {
      resource_version_ = got.value(json::json_pointer("/metadata/resourceVersion"), std::string());
    }
    exists_ = true;
    co_return true;
  }

  std::string describe() const override { return "ConfigMap " + ns_ + "/" + name_; }

 private:
  static constexpr const char* key = "checkpoint.json";
  std::string path() const { return "/api/v1/namespaces/" + ns_ + "/configmaps"; }

  kube::api_client& api_;
  std::string ns_;
  std::string name_;
  std::string resource_version_;
  bool exists_ = false;
};

}  // namespace

std::unique_ptr<checkpoint_store> make_file_checkpoint_store(net::any_io_executor ex,
                                                             std::string path) {
  return std::make_unique<file_store>(std::move(ex), std::move(path));
}

std::unique_ptr<checkpoint_store> make_configmap_checkpoint_store(kube::api_client& api,
                                                                  std::string namespace_,
                                                                  std::string name) {
  return std::make_unique<configmap_store>(api, std::move(namespace_), std::move(name));
}

// ---------------------------------------------------------------------------------------------
// checkpointer

checkpointer::checkpointer(net::any_io_executor ex, std::unique_ptr<checkpoint_store> store,
                           checkpointer_options opt, ke::metrics& m)
    : ex_(std::move(ex)),
      store_(std::move(store)),
      opt_(opt),
      wake_(ex_, steady::time_point::max()),
      done_(ex_, steady::time_point::max()),
      writes_ok_(prometheus::BuildCounter()
                     .Name(m.prefix() + "checkpoint_writes_total")
                     .Help("Checkpoint writes by result (ok, failed).")
                     .Register(m.registry())
                     .Add({{"result", "ok"}})),
      writes_failed_(prometheus::BuildCounter()
                         .Name(m.prefix() + "checkpoint_writes_total")
                         .Help("Checkpoint writes by result (ok, failed).")
                         .Register(m.registry())
                         .Add({{"result", "failed"}})),
      entries_(prometheus::BuildGauge()
                   .Name(m.prefix() + "checkpoint_entries")
                   .Help("Events remembered in the delivery checkpoint.")
                   .Register(m.registry())
                   .Add({})) {}

checkpointer::~checkpointer() = default;

net::awaitable<void> checkpointer::load() {
  const auto give_up = steady::now() + opt_.load_patience;
  std::chrono::milliseconds delay(500);
  while (true) {
    const auto l = co_await store_->load();
    if (l.ok) {
      if (!l.found) {
        spdlog::info("checkpoint: none in {} yet (first start)", store_->describe());
        co_return;
      }
      std::string error;
      auto s = checkpoint_set::decode(l.text, &error);
      if (!s) {
        spdlog::error("checkpoint: {} is not a checkpoint ({}); starting without it",
                      store_->describe(), error);
        co_return;
      }
      set_.merge(*s);
      have_checkpoint_ = true;
      entries_.Set(static_cast<double>(set_.size()));
      spdlog::info("checkpoint: loaded {} event(s) from {}", s->size(), store_->describe());
      co_return;
    }
    if (steady::now() + delay >= give_up) {
      spdlog::error(
          "checkpoint: cannot read {} ({}); going on without it: events older than "
          "maxEventAgeSeconds that were missed are not shipped",
          store_->describe(), l.error);
      co_return;
    }
    spdlog::warn("checkpoint: cannot read {} ({}), retrying in {} ms", store_->describe(), l.error,
                 delay.count());
    net::steady_timer t(ex_, delay);
    boost::system::error_code ec;
    co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
    delay = std::min(delay * 2, std::chrono::milliseconds(8000));
  }
}

void checkpointer::handled(std::string_view uid, std::int64_t count, std::int64_t created_s) {
  set_.record(uid_key(uid), count, created_s);
  dirty_ = true;
}

void checkpointer::shipped(const std::string& position, std::string_view uid, std::int64_t count,
                           std::int64_t created_s) {
  in_flight_[position] = flight{uid_key(uid), {count, created_s}};
}

void checkpointer::done(std::string_view position, bool final) {
  auto it = in_flight_.find(std::string(position));
  if (it == in_flight_.end()) {
    return;  // not ours (kube-bench records) or already settled
  }
  if (final) {
    set_.record(it->second.uid, it->second.e.count, it->second.e.created_s);
    dirty_ = true;
  }
  in_flight_.erase(it);
}

void checkpointer::start() {
  if (running_) {
    return;
  }
  running_ = true;
  writer_done_ = false;
  net::co_spawn(ex_, writer(), [this](const std::exception_ptr& e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        spdlog::error("checkpoint: the writer stopped: {}", x.what());
      }
    }
    writer_done_ = true;
    done_.cancel();
  });
}

net::awaitable<bool> checkpointer::write_once() {
  set_.limit(opt_.max_entries);
  entries_.Set(static_cast<double>(set_.size()));
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::string text = set_.encode();
    dirty_ = false;
    bool conflict = false;
    std::string error;
    if (co_await store_->save(text, &conflict, &error)) {
      have_checkpoint_ = true;
      ++writes_;
      writes_ok_.Increment();
      co_return true;
    }
    dirty_ = true;
    if (!conflict) {
      writes_failed_.Increment();
      spdlog::warn("checkpoint: cannot write {}: {}", store_->describe(), error);
      co_return false;
    }
    // Another replica wrote meanwhile: take its set too (the union is safe) and write again.
    spdlog::info("checkpoint: {} was written by another replica; merging", store_->describe());
    const auto l = co_await store_->load();
    if (l.ok && l.found) {
      if (auto s = checkpoint_set::decode(l.text, nullptr)) {
        set_.merge(*s);
        set_.limit(opt_.max_entries);
      }
    }
  }
  writes_failed_.Increment();
  co_return false;
}

net::awaitable<void> checkpointer::writer() {
  while (!stopping_) {
    if (dirty_) {
      co_await write_once();
    }
    if (stopping_) {
      break;
    }
    wake_.expires_after(opt_.interval);
    boost::system::error_code ec;
    co_await wake_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

net::awaitable<void> checkpointer::stop(std::chrono::steady_clock::time_point deadline) {
  stopping_ = true;
  wake_.cancel();
  while (!writer_done_ && steady::now() < deadline) {
    done_.expires_at(deadline);
    boost::system::error_code ec;
    co_await done_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
  if (dirty_ && steady::now() < deadline) {
    if (co_await write_once()) {
      spdlog::info("checkpoint: {} event(s) written to {} at shutdown", set_.size(),
                   store_->describe());
    }
  }
  if (!in_flight_.empty()) {
    spdlog::info("checkpoint: {} record(s) not acknowledged at shutdown: the next start ships them",
                 in_flight_.size());
  }
}

}  // namespace ke::watch
