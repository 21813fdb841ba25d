#include "watch/leader_election.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <random>

#include "core/go_json.hpp"

namespace ke::watch {

namespace {

using json = nlohmann::json;

std::string micro_now(const clock& c) {
  return format_rfc3339_micro(
      std::chrono::duration_cast<std::chrono::nanoseconds>(c.wall_now().time_since_epoch())
          .count());
}

std::string str(const json& obj, const char* key) {
  if (!obj.is_object()) {
    return {};
  }
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string default_identity() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) {
    host[0] = '\0';
  }
  std::random_device rd;
  const std::uint64_t r = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(r));
  return std::string(host[0] != '\0' ? host : "kube-event-exporter") + "_" + hex;
}

leader_elector::leader_elector(kube::api_client& api, clock& c, leader_election_options opt,
                               callback started, callback stopped)
    : api_(api),
      clock_(c),
      opt_(std::move(opt)),
      started_(std::move(started)),
      stopped_(std::move(stopped)),
      done_(c.executor(), std::chrono::steady_clock::time_point::max()) {
  if (opt_.identity.empty()) {
    opt_.identity = default_identity();
  }
  random_ = opt_.random;
  if (!random_) {
    random_ = [engine = std::mt19937_64(std::random_device{}())]() mutable {
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
}

kube::api_client::options leader_elector::client_options(const leader_election_options& o) {
  kube::api_client::options out;
  out.request_timeout = std::max<std::chrono::milliseconds>(
      std::chrono::duration_cast<std::chrono::milliseconds>(o.renew_deadline) / 5,
      std::chrono::milliseconds(100));
  out.max_tries = 1;  // the campaign and lead loops retry every retry_period themselves
  out.max_retry_after = o.retry_period;
  out.max_connections = 2;
  return out;
}

std::string leader_elector::lease_path() const {
  return "/apis/coordination.k8s.io/v1/namespaces/" + kube::query_escape(opt_.namespace_) +
         "/leases";
}

clock::duration leader_elector::jittered(std::chrono::seconds d) {
  // client-go JitterUntil with factor 1.2: d + rand*1.2*d.
  const auto ms = std::chrono::duration_cast<clock::duration>(d).count();
  return clock::duration(
      ms + static_cast<clock::duration::rep>(random_() * 1.2 * static_cast<double>(ms)));
}

void leader_elector::start() {
  if (running_) {
    return;
  }
  running_ = true;
  stopping_ = false;
  clock_.reset();
  net::co_spawn(clock_.executor(), run_and_signal(), net::detached);
}

net::awaitable<void> leader_elector::run_and_signal() {
  co_await run();
  running_ = false;
  done_.cancel();
}

net::awaitable<void> leader_elector::shutdown(std::chrono::steady_clock::time_point deadline) {
  stop(true);
  net::steady_timer limit(clock_.executor(), deadline);
  bool timed_out = false;
  limit.async_wait([this, &timed_out](boost::system::error_code ec) {
    if (!ec) {
      timed_out = true;
      done_.cancel();
    }
  });
  while (running_ && !timed_out) {
    boost::system::error_code ec;
    done_.expires_at(std::chrono::steady_clock::time_point::max());
    co_await done_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
  limit.cancel();
}

void leader_elector::stop(bool release) {
  stopping_ = true;
  release_ = release;
  clock_.cancel_all();
}

net::awaitable<bool> leader_elector::try_acquire_or_renew() {
  const std::string now = micro_now(clock_);
  const std::string path = lease_path() + "/" + kube::query_escape(opt_.name);
  auto got = co_await api_.get(path);
  if (got.status == 404) {
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", opt_.name}, {"namespace", opt_.namespace_}}},
                  {"spec",
                   {{"holderIdentity", opt_.identity},
                    {"leaseDurationSeconds", opt_.lease_duration.count()},
                    {"acquireTime", now},
                    {"renewTime", now},
                    {"leaseTransitions", 0}}}};
    auto created = co_await api_.send(http::verb::post, lease_path(), lease.dump());
    if (!created.ok()) {
      ++failed_tries_;
      if (created.status != 409) {  // 409: another replica created it first
        spdlog::warn("leader election: creating Lease {}/{}: {}", opt_.namespace_, opt_.name,
                     created.describe());
      }
      co_return false;
    }
    lease_ = json::parse(created.body, nullptr, false);
    observed_at_ = clock_.now();
    co_return true;
  }
  if (!got.ok()) {
    ++failed_tries_;
    spdlog::warn("leader election: reading Lease {}/{}: {}", opt_.namespace_, opt_.name,
                 got.describe());
    co_return false;
  }
  json lease = json::parse(got.body, nullptr, false);
  if (!lease.is_object() || !lease.contains("metadata")) {
    ++failed_tries_;
    co_return false;
  }
  json& spec = lease["spec"];
  if (!spec.is_object()) {
    spec = json::object();
  }
  const std::string holder = str(spec, "holderIdentity");
  const std::string record =
      holder + "|" + str(spec, "renewTime") + "|" + str(lease["metadata"], "resourceVersion");
  if (record != observed_record_) {
    observed_record_ = record;
    observed_at_ = clock_.now();
  }
  std::int64_t duration_s = opt_.lease_duration.count();
  if (auto d = spec.find("leaseDurationSeconds"); d != spec.end() && d->is_number_integer()) {
    duration_s = d->get<std::int64_t>();
  }
  const bool held_by_other = !holder.empty() && holder != opt_.identity;
  if (held_by_other && clock_.now() < observed_at_ + std::chrono::seconds(duration_s)) {
    co_return false;  // someone else holds a valid lease
  }
  if (holder != opt_.identity) {
    spec["acquireTime"] = now;
    const std::int64_t transitions =
        spec.contains("leaseTransitions") && spec["leaseTransitions"].is_number_integer()
            ? spec["leaseTransitions"].get<std::int64_t>()
            : 0;
    spec["leaseTransitions"] = transitions + 1;
  }
  spec["holderIdentity"] = opt_.identity;
  spec["leaseDurationSeconds"] = opt_.lease_duration.count();
  spec["renewTime"] = now;
  auto put = co_await api_.send(http::verb::put, path, lease.dump());
  if (!put.ok()) {
    ++failed_tries_;
    if (put.status != 409) {  // 409: someone else wrote it in between
      spdlog::warn("leader election: updating Lease {}/{}: {}", opt_.namespace_, opt_.name,
                   put.describe());
    }
    co_return false;
  }
  lease_ = json::parse(put.body, nullptr, false);
  if (lease_.is_object()) {
    const json& s = lease_["spec"];
    observed_record_ = str(s, "holderIdentity") + "|" + str(s, "renewTime") + "|" +
                       str(lease_["metadata"], "resourceVersion");
  }
  observed_at_ = clock_.now();
  co_return true;
}

net::awaitable<void> leader_elector::release() {
  if (!lease_.is_object() || !lease_.contains("spec")) {
    co_return;
  }
  json lease = lease_;
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = micro_now(clock_);
  const std::string path = lease_path() + "/" + kube::query_escape(opt_.name);
  auto put = co_await api_.send(http::verb::put, path, lease.dump());
  if (put.ok()) {
    spdlog::info("leader election: released Lease {}/{}", opt_.namespace_, opt_.name);
  } else {
    spdlog::warn("leader election: releasing Lease {}/{}: {}", opt_.namespace_, opt_.name,
                 put.describe());
  }
}

net::awaitable<void> leader_elector::run() {
  spdlog::info("leader election: campaigning for Lease {}/{} as {}", opt_.namespace_, opt_.name,
               opt_.identity);
  while (!stopping_) {
    // Campaign.
    bool acquired = false;
    while (!stopping_) {
      if (co_await try_acquire_or_renew()) {
        acquired = true;
        break;
      }
      if (!co_await clock_.sleep(jittered(opt_.retry_period))) {
        break;
      }
    }
    if (!acquired || stopping_) {
      break;
    }
    leading_ = true;
    spdlog::info("leader election: {} is now the leader", opt_.identity);
    try {
      co_await started_();
    } catch (const std::exception& e) {
      spdlog::error("leader election: starting to lead failed: {}", e.what());
    }
    // Lead: renew until a renewal has failed for renew_deadline.
    auto last_renew = clock_.now();
    while (!stopping_) {
      if (!co_await clock_.sleep(opt_.retry_period)) {
        break;
      }
      if (co_await try_acquire_or_renew()) {
        last_renew = clock_.now();
      } else if (clock_.now() - last_renew >= opt_.renew_deadline) {
        spdlog::error("leader election: could not renew Lease {}/{} for {} s; leadership lost",
                      opt_.namespace_, opt_.name, opt_.renew_deadline.count());
        break;
      }
    }
    leading_ = false;
    try {
      co_await stopped_();
    } catch (const std::exception& e) {
      spdlog::error("leader election: stopping to lead failed: {}", e.what());
    }
    if (stopping_) {
      if (release_) {
        clock_.reset();  // sleeps were cancelled to stop; the release may need to wait
        co_await release();
      }
      break;
    }
  }
}

}  // namespace ke::watch
