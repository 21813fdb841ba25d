#include "watch/enricher.hpp"

#include <spdlog/spdlog.h>

namespace ke::watch {

namespace {

using json = nlohmann::json;

std::string str(const json& obj, const char* key) {
  if (!obj.is_object()) {
    return {};
  }
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) {
    return {};
  }
  return it->get<std::string>();
}

string_pairs string_map(const json& md, const char* key) {
  string_pairs out;
  auto it = md.find(key);
  if (it == md.end() || !it->is_object()) {
    return out;
  }
  for (auto kv = it->begin(); kv != it->end(); ++kv) {
    if (kv.value().is_string()) {
      out.emplace_back(kv.key(), kv.value().get<std::string>());
    }
  }
  return out;
}

std::string gv_path(const std::string& api_version) {
  if (api_version.find('/') == std::string::npos) {
    return "/api/" + api_version;  // the core group: "v1"
  }
  return "/apis/" + api_version;
}

}  // namespace

enricher::enricher(kube::api_client& api, clock& c, ke::metrics* m, enricher_options opt)
    : api_(api), clock_(c), metrics_(m), opt_(opt), cache_(opt.cache_size), gone_(opt.cache_size) {}

void enricher::report(bool severe, const std::string& what) {
  ++stats_.failures;
  ++unlogged_;
  const auto now = clock_.now();
  if (last_log_ != std::chrono::steady_clock::time_point{} &&
      now - last_log_ < std::chrono::seconds(10)) {
    return;
  }
  const std::string suffix =
      unlogged_ > 1 ? " (" + std::to_string(unlogged_) + " lookups failed since the last report)"
                    : std::string();
  if (severe) {
    spdlog::error("watch: involved object lookup: {}{}", what, suffix);
  } else {
    spdlog::warn("watch: involved object lookup: {}{}", what, suffix);
  }
  last_log_ = now;
  unlogged_ = 0;
}

net::awaitable<bool> enricher::fetch_discovery(const std::string& api_version, group_version& gv) {
  ++stats_.discovery;
  kube::api_client::get_options go;
  go.max_rate_wait = opt_.max_rate_wait;
  go.max_tries = opt_.max_tries;
  auto res = co_await api_.get(gv_path(api_version), go);
  gv.fetched = clock_.now();
  if (res.error == net::error::would_block) {
    report(false, "discovery of " + api_version +
                      " skipped: client-side rate limit (raise kubeQPS/kubeBurst)");
    co_return false;
  }
  if (!res.ok()) {
    if (res.status == 404) {
      gv.kinds.clear();  // the group/version is not served (any more)
      gv.fetched_ok = true;
      co_return true;
    }
    if (metrics_ != nullptr && !res.error) {
      metrics_->watch_errors.inc();
    }
    report(res.status == 401 || res.status == 403,
           "discovery GET " + gv_path(api_version) + ": " + res.describe());
    co_return false;
  }
  auto body = json::parse(res.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    report(true, "discovery GET " + gv_path(api_version) + ": not an APIResourceList");
    co_return false;
  }
  gv.kinds.clear();
  if (auto rs = body.find("resources"); rs != body.end() && rs->is_array()) {
    for (const auto& r : *rs) {
      const std::string name = str(r, "name");
      const std::string kind = str(r, "kind");
      if (name.empty() || kind.empty() || name.find('/') != std::string::npos) {
        continue;  // subresources (pods/log, ...) share the kind of their parent
      }
      resource res_info;
      res_info.name = name;
      auto ns = r.find("namespaced");
      res_info.namespaced = ns != r.end() && ns->is_boolean() && ns->get<bool>();
      gv.kinds.emplace(kind, res_info);
    }
  }
  gv.fetched_ok = true;
  co_return true;
}

net::awaitable<std::optional<enricher::resource>> enricher::find_resource(
    const std::string& api_version, const std::string& kind) {
  auto [it, inserted] = discovery_.try_emplace(api_version);
  group_version& gv = it->second;
  if (gv.fetched_ok) {
    if (auto k = gv.kinds.find(kind); k != gv.kinds.end()) {
      co_return k->second;
    }
    if (clock_.now() - gv.fetched < opt_.discovery_refresh) {
      co_return std::nullopt;  // recently refreshed and still unknown
    }
  } else if (!inserted && clock_.now() - gv.fetched < std::chrono::seconds(1)) {
    co_return std::nullopt;  // a failed fetch a moment ago: don't hammer the server
  }
  // One discovery GET per group/version at a time: concurrent lookups wait for it.
  if (auto f = discovery_flights_.find(api_version); f != discovery_flights_.end()) {
    auto fl = f->second;  // keep it alive while waiting
    while (!fl->done) {
      co_await fl->wake.wait();
    }
  } else {
    auto fl = std::make_shared<flight>(clock_.executor());
    discovery_flights_[api_version] = fl;
    // Fetch into a temporary so a concurrent lookup never sees a half-filled entry.
    group_version fresh;
    bool ok = false;
    try {
      ok = co_await fetch_discovery(api_version, fresh);
    } catch (const std::exception& e) {  // the entry below must go, or its waiters hang
      report(true, "discovery of " + api_version + ": unexpected failure: " + e.what());
    } catch (...) {
      report(true, "discovery of " + api_version + ": unexpected failure");
    }
    group_version& target = discovery_[api_version];
    target.fetched = fresh.fetched;
    if (ok) {
      target.kinds = std::move(fresh.kinds);
      target.fetched_ok = true;
    }
    discovery_flights_.erase(api_version);
    fl->done = true;
    fl->wake.notify_all();
  }
  const group_version& target = discovery_[api_version];
  if (auto k = target.kinds.find(kind); k != target.kinds.end()) {
    co_return k->second;
  }
  co_return std::nullopt;
}

net::awaitable<std::optional<involved_object_meta>> enricher::fetch(const json& involved) {
  const std::string kind = str(involved, "kind");
  const std::string name = str(involved, "name");
  const std::string ns = str(involved, "namespace");
  std::string api_version = str(involved, "apiVersion");
  if (api_version.empty()) {
    api_version = "v1";
  }
  const std::string gvk = api_version + "/" + kind;
  const auto count_forbidden = [&] {
    ++stats_.forbidden;
    if (metrics_ != nullptr) {
      metrics_->lookups_forbidden(api_version, kind).Increment();
    }
  };
  if (auto f = forbidden_.find(gvk); f != forbidden_.end()) {
    if (clock_.now() - f->second < opt_.forbidden_ttl) {
      count_forbidden();
      co_return std::nullopt;
    }
    forbidden_.erase(f);  // try again: RBAC may have been granted meanwhile
  }
  const auto r = co_await find_resource(api_version, kind);
  if (!r) {
    const auto& gv = discovery_[api_version];
    if (gv.fetched_ok) {
      report(false, "kind " + kind + " is not served by " + api_version);
    }
    co_return std::nullopt;
  }
  std::string path = gv_path(api_version);
  if (r->namespaced) {
    if (ns.empty()) {
      co_return std::nullopt;
    }
    path += "/namespaces/" + kube::query_escape(ns);
  }
  path += "/" + r->name + "/" + kube::query_escape(name);
  ++stats_.gets;
  if (metrics_ != nullptr) {
    metrics_->kube_api_read_cache_misses.inc();
  }
  kube::api_client::get_options go;
  go.max_rate_wait = opt_.max_rate_wait;
  go.max_tries = opt_.max_tries;
  auto res = co_await api_.get(path, go);
  if (res.error == net::error::would_block) {
    report(false, "GET " + path + " skipped: the client-side rate limit would delay it more than " +
                      std::to_string(opt_.max_rate_wait.count()) +
                      " ms (raise kubeQPS/kubeBurst); shipping without labels");
    co_return std::nullopt;
  }
  if (res.status == 404) {
    involved_object_meta gone;
    gone.deleted = true;
    co_return gone;
  }
  if (res.status == 403) {
    count_forbidden();
    forbidden_[gvk] = clock_.now();
    spdlog::warn(
        "watch: involved object lookup: GET {}: {}; events about {} ({}) ship without "
        "labels and the next {} s of lookups of that kind are skipped. Grant `get` on {} (chart: "
        "rbac.enrichmentResources) or set omitLookup",
        path, res.describe(), kind, api_version, opt_.forbidden_ttl.count(), r->name);
    co_return std::nullopt;
  }
  if (!res.ok()) {
    if (metrics_ != nullptr && !res.error) {
      metrics_->watch_errors.inc();
    }
    if (res.error != net::error::operation_aborted) {
      report(res.status == 401 || res.status == 403, "GET " + path + ": " + res.describe());
    }
    co_return std::nullopt;
  }
  auto obj = json::parse(res.body, nullptr, false);
  if (obj.is_discarded() || !obj.is_object() || !obj.contains("metadata") ||
      !obj["metadata"].is_object()) {
    report(true, "GET " + path + ": the response is not an object with metadata");
    co_return std::nullopt;
  }
  const json& md = obj["metadata"];
  involved_object_meta meta;
  const std::string want_uid = str(involved, "uid");
  const std::string got_uid = str(md, "uid");
  if (!want_uid.empty() && !got_uid.empty() && want_uid != got_uid) {
    meta.deleted = true;  // the involved object is gone; this is a new one with its name
    co_return meta;
  }
  meta.labels = string_map(md, "labels");
  meta.annotations = string_map(md, "annotations");
  if (auto o = md.find("ownerReferences"); o != md.end() && o->is_array()) {
    meta.owner_references = *o;
  }
  if (auto d = md.find("deletionTimestamp"); d != md.end() && !d->is_null()) {
    meta.deleted = true;
  }
  co_return meta;
}

net::awaitable<std::optional<involved_object_meta>> enricher::lookup(const json& involved) {
  if (!involved.is_object() || str(involved, "kind").empty() || str(involved, "name").empty()) {
    co_return std::nullopt;
  }
  const std::string key = str(involved, "uid") + "/" + str(involved, "resourceVersion");
  const bool cacheable = !str(involved, "uid").empty();
  if (cacheable) {
    const auto* hit = cache_.get(key);
    if (hit == nullptr) {
      hit = gone_.get(str(involved, "uid"));
    }
    if (hit != nullptr) {
      ++stats_.hits;
      if (metrics_ != nullptr) {
        metrics_->kube_api_read_cache_hits.inc();
      }
      co_return *hit;
    }
    if (auto f = in_flight_.find(key); f != in_flight_.end()) {
      // Another lookup is fetching this key: wait for its answer instead of a GET of our own.
      auto fl = f->second;  // keep it alive while waiting
      ++stats_.hits;
      ++stats_.coalesced;
      if (metrics_ != nullptr) {
        metrics_->kube_api_read_cache_hits.inc();
      }
      while (!fl->done) {
        co_await fl->wake.wait();
      }
      co_return fl->result;
    }
  }
  std::shared_ptr<flight> fl;  // others with this key wait for it (not without a uid)
  if (cacheable) {
    fl = std::make_shared<flight>(clock_.executor());
    in_flight_[key] = fl;
  }
  // Everything is caught so that the entry below is always removed and the waiters woken.
  std::optional<involved_object_meta> result;
  try {
    result = co_await fetch(involved);
  } catch (const std::exception& e) {
    report(true, std::string("unexpected failure: ") + e.what());
  } catch (...) {
    report(true, "unexpected failure");
  }
  if (cacheable) {
    if (result) {
      cache_.put(key, *result);
      if (result->deleted && result->labels.empty()) {
        gone_.put(str(involved, "uid"), *result);  // 404 or replaced: that uid never returns
      }
    }
    in_flight_.erase(key);
    fl->result = result;
    fl->done = true;
    fl->wake.notify_all();
  }
  co_return result;
}

}  // namespace ke::watch
