#include "fake_apiserver.hpp"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ssl.hpp>
#include <charconv>
#include <random>
#include <sstream>

#include "core/base64.hpp"
#include "core/go_json.hpp"

namespace ke::fakes {

namespace {

using json = nlohmann::json;
using tcp = net::ip::tcp;
using tls_stream = net::ssl::stream<beast::tcp_stream>;

std::string now_rfc3339() {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return format_rfc3339(ns);
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

std::string str_at(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// core/v1 Event -> events.k8s.io/v1 Event.
json to_events_v1(const json& e) {
  static const std::pair<const char*, const char*> renames[] = {
      {"metadata", "metadata"},
      {"eventTime", "eventTime"},
      {"series", "series"},
      {"reportingComponent", "reportingController"},
      {"reportingInstance", "reportingInstance"},
      {"action", "action"},
      {"reason", "reason"},
      {"involvedObject", "regarding"},
      {"related", "related"},
      {"message", "note"},
      {"type", "type"},
      {"source", "deprecatedSource"},
      {"firstTimestamp", "deprecatedFirstTimestamp"},
      {"lastTimestamp", "deprecatedLastTimestamp"},
      {"count", "deprecatedCount"},
  };
  json out = json::object();
  out["kind"] = "Event";
  out["apiVersion"] = "events.k8s.io/v1";
  for (const auto& [from, to] : renames) {
    if (auto it = e.find(from); it != e.end()) {
      out[to] = *it;
    }
  }
  return out;
}

json typed(const json& e, bool events_k8s) {
  if (events_k8s) {
    return to_events_v1(e);
  }
  json out = json::object();
  out["kind"] = "Event";
  out["apiVersion"] = "v1";
  for (auto it = e.begin(); it != e.end(); ++it) {
    out[it.key()] = it.value();
  }
  return out;
}

json bookmark_object(const std::string& rv, bool events_k8s, bool initial_end) {
  json md = {{"resourceVersion", rv}};
  if (initial_end) {
    md["annotations"] = {{"k8s.io/initial-events-end", "true"}};
  }
  if (events_k8s) {
    return {{"kind", "Event"},      {"apiVersion", "events.k8s.io/v1"}, {"metadata", md},
            {"eventTime", nullptr}, {"reportingController", ""},        {"reportingInstance", ""}};
  }
  // A zero-valued core/v1 Event: the fields without omitempty still appear.
  return {{"kind", "Event"},          {"apiVersion", "v1"},
          {"metadata", md},           {"involvedObject", json::object()},
          {"source", json::object()}, {"firstTimestamp", nullptr},
          {"lastTimestamp", nullptr}, {"eventTime", nullptr},
          {"reportingComponent", ""}, {"reportingInstance", ""}};
}

std::string watch_line(const std::string& type, const json& obj) {
  return json{{"type", type}, {"object", obj}}.dump() + "\n";
}

// Event field selector values (kubernetes pkg/registry/core/event/strategy.go).
std::optional<std::string> event_field(const json& e, const std::string& field) {
  static const std::set<std::string> involved = {"kind",       "namespace",       "name",     "uid",
                                                 "apiVersion", "resourceVersion", "fieldPath"};
  if (field.rfind("involvedObject.", 0) == 0) {
    const std::string f = field.substr(15);
    if (!involved.count(f)) return std::nullopt;
    return str_at(e.value("involvedObject", json::object()), f.c_str());
  }
  if (field == "reason" || field == "type" || field == "reportingComponent") {
    return str_at(e, field.c_str());
  }
  if (field == "source") {
    return str_at(e.value("source", json::object()), "component");
  }
  if (field == "metadata.name") return str_at(e.value("metadata", json::object()), "name");
  if (field == "metadata.namespace") {
    return str_at(e.value("metadata", json::object()), "namespace");
  }
  return std::nullopt;
}

}  // namespace

// Selector parsing (named namespace: the fake's request handler is a template capturing these).
namespace detail {

struct selector_term {
  std::string key;
  std::string op;  // "=", "!=", "exists", "!exists"
  std::string value;
};

std::vector<selector_term> parse_selector(const std::string& s) {
  std::vector<selector_term> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (part.empty()) continue;
    selector_term t;
    if (auto p = part.find("!="); p != std::string::npos) {
      t = {part.substr(0, p), "!=", part.substr(p + 2)};
    } else if (auto q = part.find("=="); q != std::string::npos) {
      t = {part.substr(0, q), "=", part.substr(q + 2)};
    } else if (auto r = part.find('='); r != std::string::npos) {
      t = {part.substr(0, r), "=", part.substr(r + 1)};
    } else if (part.front() == '!') {
      t = {part.substr(1), "!exists", ""};
    } else {
      t = {part, "exists", ""};
    }
    out.push_back(t);
  }
  return out;
}

// "/api/v1[/namespaces/NS]/events" or the events.k8s.io/v1 equivalent. (A plain function: GCC 12
// mishandles range-for over a braced list inside a coroutine.)
bool parse_events_path(const std::string& p, std::string& ns, bool& events_k8s) {
  static const std::string bases[] = {"/api/v1", "/apis/events.k8s.io/v1"};
  for (const auto& base : bases) {
    if (p.rfind(base, 0) != 0) continue;
    const std::string rest = p.substr(base.size());
    bool hit = false;
    if (rest == "/events") {
      hit = true;
    } else if (rest.rfind("/namespaces/", 0) == 0) {
      const auto slash = rest.find('/', 12);
      if (slash != std::string::npos && rest.substr(slash) == "/events") {
        hit = true;
        ns = rest.substr(12, slash - 12);
      }
    }
    if (hit) {
      events_k8s = base != "/api/v1";
      return true;
    }
  }
  return false;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------

struct fake_apiserver::watcher {
  std::string ns;
  bool events_k8s = false;
  bool bookmarks = false;
  std::function<bool(const json&)> matches;
  std::deque<std::string> outbox;
  bool end = false;
  bool abort = false;
  std::size_t since_bookmark = 0;
  std::unique_ptr<net::steady_timer> wake;
  void notify() { wake->cancel(); }
};

struct fake_apiserver::session {
  std::uint64_t id = 0;
  bool client_cert_ok = false;
  std::function<void()> kill;
};

fake_apiserver::fake_apiserver(net::any_io_executor ex, options opt)
    : ex_(ex), opt_(std::move(opt)), acceptor_(ex) {
  if (opt_.tls) {
    tls_ = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
    tls_->use_certificate_chain(net::buffer(opt_.cert_pem));
    tls_->use_private_key(net::buffer(opt_.key_pem), net::ssl::context::pem);
    if (!opt_.client_ca_pem.empty()) {
      tls_->add_certificate_authority(net::buffer(opt_.client_ca_pem));
      tls_->set_verify_mode(net::ssl::verify_peer);
      tls_->set_verify_callback([](bool, net::ssl::verify_context&) { return true; });
    }
  }
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  net::co_spawn(ex_, accept_loop(), net::detached);
}

fake_apiserver::~fake_apiserver() { stop(); }

void fake_apiserver::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  for (auto& w : sessions_) {
    if (auto s = w.lock(); s && s->kill) s->kill();
  }
  for (auto& w : watchers_) {
    if (auto x = w.lock()) {
      x->abort = true;
      x->notify();
    }
  }
  for (auto& w : stalls_) {
    if (auto t = w.lock()) t->cancel();
  }
}

std::string fake_apiserver::url() const {
  return std::string(opt_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

json fake_apiserver::status(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", reason},
          {"code", code}};
}

json fake_apiserver::make_event(const std::string& ns, const std::string& name,
                                const std::string& reason, const std::string& message,
                                std::int32_t count) {
  const std::string now = now_rfc3339();
  const std::string pod = name.substr(0, name.find('.'));
  return {{"metadata", {{"name", name}, {"namespace", ns}}},
          {"involvedObject",
           {{"kind", "Pod"},
            {"namespace", ns},
            {"name", pod},
            {"uid", "uid-" + pod},
            {"apiVersion", "v1"},
            {"resourceVersion", "100"}}},
          {"reason", reason},
          {"message", message},
          {"source", {{"component", "kubelet"}, {"host", "node-1"}}},
          {"firstTimestamp", now},
          {"lastTimestamp", now},
          {"count", count},
          {"type", reason == "BackOff" || reason == "FailedScheduling" ? "Warning" : "Normal"},
          {"eventTime", nullptr},
          {"reportingComponent", "kubelet"},
          {"reportingInstance", "node-1"}};
}

// ---- revisions ---------------------------------------------------------------------------------

std::string fake_apiserver::rv_string(std::uint64_t rev) const {
  if (!opt_.opaque_rvs) {
    return std::to_string(rev);
  }
  // Not a number, not ordered: a client that compares numerically or lexically breaks.
  std::uint32_t h = static_cast<std::uint32_t>(rev * 2654435761u);
  std::ostringstream s;
  s << "q" << std::hex << h << "-" << std::dec << rev;
  std::string out = s.str();
  opaque_[out] = rev;
  return out;
}

std::optional<std::uint64_t> fake_apiserver::parse_rv(const std::string& rv) const {
  if (opt_.opaque_rvs) {
    auto it = opaque_.find(rv);
    if (it == opaque_.end()) return std::nullopt;
    return it->second;
  }
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), v);
  if (ec != std::errc() || p != rv.data() + rv.size()) return std::nullopt;
  return v;
}

void fake_apiserver::record(std::string type, const json& obj) {
  history_.push_back({revision_, std::move(type), obj});
  push_to_watchers(history_.back());
}

std::map<std::string, json> fake_apiserver::state_at(std::uint64_t rev) const {
  std::map<std::string, json> s;
  for (const auto& h : history_) {
    if (h.revision > rev) break;
    const std::string key =
        str_at(h.object["metadata"], "namespace") + "/" + str_at(h.object["metadata"], "name");
    if (h.type == "DELETED") {
      s.erase(key);
    } else {
      s[key] = h.object;
    }
  }
  return s;
}

void fake_apiserver::push_to_watchers(const history_entry& h) {
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    auto w = it->lock();
    if (!w) {
      it = watchers_.erase(it);
      continue;
    }
    ++it;
    if (!w->matches(h.object)) continue;
    w->outbox.push_back(watch_line(h.type, typed(h.object, w->events_k8s)));
    if (knobs.bookmark_every > 0 && w->bookmarks && ++w->since_bookmark >= knobs.bookmark_every) {
      w->since_bookmark = 0;
      w->outbox.push_back(
          watch_line("BOOKMARK", bookmark_object(rv_string(h.revision), w->events_k8s, false)));
    }
    w->notify();
  }
}

json fake_apiserver::create_event(json ev) {
  auto& md = ev["metadata"];
  if (!md.contains("name")) {
    md["name"] = str_at(ev["involvedObject"], "name") + "." + std::to_string(1000 + uid_seq_);
  }
  if (!md.contains("namespace")) md["namespace"] = "default";
  md["uid"] = "e" + std::to_string(++uid_seq_) + "-0000-4000-8000-000000000000";
  md["creationTimestamp"] = now_rfc3339();
  ++revision_;
  md["resourceVersion"] = rv_string(revision_);
  events_[str_at(md, "namespace") + "/" + str_at(md, "name")] = ev;
  record("ADDED", ev);
  return ev;
}

json fake_apiserver::update_event(const std::string& ns, const std::string& name,
                                  const std::function<void(json&)>& f) {
  auto it = events_.find(ns + "/" + name);
  if (it == events_.end()) throw std::runtime_error("no event " + ns + "/" + name);
  f(it->second);
  ++revision_;
  it->second["metadata"]["resourceVersion"] = rv_string(revision_);
  record("MODIFIED", it->second);
  return it->second;
}

json fake_apiserver::bump_count(const std::string& ns, const std::string& name) {
  return update_event(ns, name, [](json& e) {
    e["count"] = e.value("count", 0) + 1;
    e["lastTimestamp"] = now_rfc3339();
    if (e.contains("series") && e["series"].is_object()) {
      e["series"]["count"] = e["series"].value("count", 0) + 1;
      e["series"]["lastObservedTime"] = now_rfc3339();
    }
  });
}

void fake_apiserver::delete_event(const std::string& ns, const std::string& name) {
  auto it = events_.find(ns + "/" + name);
  if (it == events_.end()) return;
  json last = it->second;
  events_.erase(it);
  ++revision_;
  // The DELETED event carries the last state at the deletion revision.
  last["metadata"]["resourceVersion"] = rv_string(revision_);
  record("DELETED", last);
}

void fake_apiserver::compact(bool break_watches) {
  compacted_ = revision_;
  if (break_watches) {
    send_watch_error(status(410, knobs.too_old_reason,
                            "The resourceVersion for the provided watch is too old."));
  }
}

void fake_apiserver::add_resource(const std::string& gv, const std::string& resource,
                                  const std::string& kind, bool namespaced) {
  resources_[gv].push_back({resource, kind, namespaced});
}

json fake_apiserver::put_object(const std::string& gv, const std::string& resource, json obj) {
  auto& md = obj["metadata"];
  if (!md.contains("uid")) md["uid"] = "o" + std::to_string(++uid_seq_);
  ++revision_;
  md["resourceVersion"] = rv_string(revision_);
  const std::string base = gv.find('/') == std::string::npos ? "/api/" + gv : "/apis/" + gv;
  const std::string ns = str_at(md, "namespace");
  const std::string path =
      base + (ns.empty() ? "" : "/namespaces/" + ns) + "/" + resource + "/" + str_at(md, "name");
  objects_[path] = obj;
  return obj;
}

void fake_apiserver::remove_object(const std::string& gv, const std::string& resource,
                                   const std::string& ns, const std::string& name) {
  const std::string base = gv.find('/') == std::string::npos ? "/api/" + gv : "/apis/" + gv;
  objects_.erase(base + (ns.empty() ? "" : "/namespaces/" + ns) + "/" + resource + "/" + name);
}

void fake_apiserver::script_429(scripted::match on, int retry_after_seconds, bool close) {
  scripted s;
  s.on = on;
  s.status = 429;
  s.body = "Too many requests, please try again later.\n";
  s.content_type = "text/plain; charset=utf-8";
  s.headers = {{"Retry-After", std::to_string(retry_after_seconds)},
               {"X-Kubernetes-PF-PriorityLevel-UID", "7e0d0f54-0000-4000-8000-000000000001"},
               {"X-Kubernetes-PF-FlowSchema-UID", "7e0d0f54-0000-4000-8000-000000000002"}};
  s.close = close;
  script(std::move(s));
}

void fake_apiserver::end_watches() {
  for (auto& w : watchers_) {
    if (auto x = w.lock()) {
      x->end = true;
      x->notify();
    }
  }
}

void fake_apiserver::abort_watches() {
  for (auto& w : watchers_) {
    if (auto x = w.lock()) {
      x->abort = true;
      x->notify();
    }
  }
}

void fake_apiserver::send_watch_error(json st) {
  for (auto& w : watchers_) {
    if (auto x = w.lock()) {
      x->outbox.push_back(watch_line("ERROR", st));
      x->end = true;
      x->notify();
    }
  }
}

void fake_apiserver::send_bookmark() {
  for (auto& w : watchers_) {
    if (auto x = w.lock(); x && x->bookmarks) {
      x->outbox.push_back(
          watch_line("BOOKMARK", bookmark_object(rv_string(revision_), x->events_k8s, false)));
      x->notify();
    }
  }
}

void fake_apiserver::send_raw(std::string bytes) {
  for (auto& w : watchers_) {
    if (auto x = w.lock()) {
      x->outbox.push_back(bytes);
      x->notify();
    }
  }
}

std::size_t fake_apiserver::open_watches() const {
  std::size_t n = 0;
  for (const auto& w : watchers_) {
    if (auto x = w.lock(); x && !x->end && !x->abort) ++n;
  }
  return n;
}

std::size_t fake_apiserver::count_requests(
    const std::function<bool(const request_info&)>& pred) const {
  return static_cast<std::size_t>(std::count_if(requests.begin(), requests.end(), pred));
}

std::size_t fake_apiserver::lists() const {
  return count_requests([](const request_info& r) {
    return !r.watch && r.path.size() >= 7 && r.path.substr(r.path.size() - 7) == "/events";
  });
}

std::size_t fake_apiserver::watches() const {
  return count_requests([](const request_info& r) { return r.watch; });
}

// ---- leases ------------------------------------------------------------------------------------

json fake_apiserver::lease(const std::string& ns, const std::string& name) const {
  auto it = leases_.find(ns + "/" + name);
  return it == leases_.end() ? json() : it->second;
}

std::pair<int, json> fake_apiserver::lease_request(http::verb method, const std::string& ns,
                                                   const std::string& name,
                                                   const std::string& body) {
  const std::string what = "leases.coordination.k8s.io \"";
  auto fail = [&](int code, const std::string& reason, const std::string& message,
                  const std::string& n) {
    json st = status(code, reason, message);
    st["details"] = {{"name", n}, {"group", "coordination.k8s.io"}, {"kind", "leases"}};
    if (method != http::verb::get) ++lease_writes[code];
    return std::make_pair(code, st);
  };
  if (method == http::verb::get) {
    auto it = leases_.find(ns + "/" + name);
    if (name.empty() || it == leases_.end()) {
      return fail(404, "NotFound", what + name + "\" not found", name);
    }
    return {200, it->second};
  }
  if (method != http::verb::post && method != http::verb::put) {
    return fail(405, "MethodNotAllowed", "the server does not allow this method", name);
  }
  json obj = json::parse(body, nullptr, false);
  if (!obj.is_object()) {
    return fail(400, "BadRequest", "the body is not a JSON object", name);
  }
  json& md = obj["metadata"];
  const std::string n = method == http::verb::post ? str_at(md, "name") : name;
  if (n.empty() || (method == http::verb::put && str_at(md, "name") != name)) {
    return fail(400, "BadRequest", "the name of the object does not match the URL", n);
  }
  // MicroTime: "2006-01-02T15:04:05.000000Z".
  if (obj.contains("spec") && obj["spec"].is_object()) {
    for (const char* k : {"acquireTime", "renewTime"}) {
      const std::string t = str_at(obj["spec"], k);
      const bool micro = t.size() == 27 && t[4] == '-' && t[10] == 'T' && t[19] == '.' &&
                         t[26] == 'Z' && parse_rfc3339_ns(t) >= 0;
      if (obj["spec"].contains(k) && !obj["spec"][k].is_null() && !micro) {
        return fail(400, "BadRequest", std::string("spec.") + k + ": not a MicroTime: " + t, n);
      }
    }
  }
  const std::string key = ns + "/" + n;
  auto it = leases_.find(key);
  if (method == http::verb::post && it != leases_.end()) {
    return fail(409, "AlreadyExists", what + n + "\" already exists", n);
  }
  int code = 201;
  if (method == http::verb::put && it != leases_.end()) {
    const std::string rv = str_at(md, "resourceVersion");
    if (rv.empty()) {
      return fail(422, "Invalid",
                  "Lease.coordination.k8s.io \"" + n +
                      "\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be "
                      "specified for an update",
                  n);
    }
    if (rv != str_at(it->second["metadata"], "resourceVersion")) {
      return fail(409, "Conflict",
                  "Operation cannot be fulfilled on " + what + n +
                      "\": the object has been modified; please apply your changes to the "
                      "latest version and try again",
                  n);
    }
    md["uid"] = it->second["metadata"]["uid"];
    md["creationTimestamp"] = it->second["metadata"]["creationTimestamp"];
    code = 200;
  } else {
    md["uid"] = "l" + std::to_string(++uid_seq_);
    md["creationTimestamp"] = now_rfc3339();
  }
  md["name"] = n;
  md["namespace"] = ns;
  ++revision_;
  md["resourceVersion"] = rv_string(revision_);
  obj["apiVersion"] = "coordination.k8s.io/v1";
  obj["kind"] = "Lease";
  leases_[key] = obj;
  ++lease_writes[code];
  return {code, obj};
}

// ---- connections -------------------------------------------------------------------------------

net::awaitable<void> fake_apiserver::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket sock = co_await acceptor_.async_accept(net::redirect_error(net::use_awaitable, ec));
    if (ec || stopped_) co_return;
    sock.set_option(tcp::no_delay(true), ec);
    auto s = std::make_shared<session>();
    s->id = ++connections_;
    sessions_.push_back(s);
    if (tls_) {
      net::co_spawn(
          ex_,
          [this, s, sock = std::move(sock)]() mutable -> net::awaitable<void> {
            tls_stream stream(beast::tcp_stream(std::move(sock)), *tls_);
            s->kill = [&stream] {
              boost::system::error_code ignored;
              stream.next_layer().socket().set_option(net::socket_base::linger(true, 0), ignored);
              stream.next_layer().socket().close(ignored);
            };
            boost::system::error_code hec;
            stream.next_layer().expires_after(std::chrono::seconds(10));
            co_await stream.async_handshake(net::ssl::stream_base::server,
                                            net::redirect_error(net::use_awaitable, hec));
            stream.next_layer().expires_never();
            if (!hec) {
              X509* peer = SSL_get_peer_certificate(stream.native_handle());
              if (peer != nullptr) {
                s->client_cert_ok = SSL_get_verify_result(stream.native_handle()) == X509_V_OK;
                X509_free(peer);
              }
              co_await serve(stream, s);
            }
            s->kill = nullptr;
          },
          net::detached);
    } else {
      net::co_spawn(
          ex_,
          [this, s, sock = std::move(sock)]() mutable -> net::awaitable<void> {
            beast::tcp_stream stream(std::move(sock));
            s->kill = [&stream] {
              boost::system::error_code ignored;
              stream.socket().set_option(net::socket_base::linger(true, 0), ignored);
              stream.socket().close(ignored);
            };
            co_await serve(stream, s);
            s->kill = nullptr;
          },
          net::detached);
    }
  }
}

template <class Stream>
net::awaitable<void> fake_apiserver::serve(Stream& stream, std::shared_ptr<session> s) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    boost::system::error_code ec;
    co_await http::async_read(stream, buffer, req, net::redirect_error(net::use_awaitable, ec));
    if (ec || stopped_) co_return;
    if (!co_await handle(stream, s, req)) {
      if (s->kill) s->kill();
      co_return;
    }
  }
}

namespace {

template <class Stream>
net::awaitable<bool> write_response(Stream& stream, const http::request<http::string_body>& req,
                                    int status, std::string body, const std::string& content_type,
                                    const std::vector<std::pair<std::string, std::string>>& extra,
                                    bool close) {
  http::response<http::string_body> res{static_cast<http::status>(status), req.version()};
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-cache, private");
  for (const auto& [k, v] : extra) res.set(k, v);
  res.keep_alive(req.keep_alive() && !close);
  res.body() = std::move(body);
  res.prepare_payload();
  boost::system::error_code ec;
  co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
  co_return !ec && res.keep_alive();
}

template <class Stream>
net::awaitable<bool> write_raw(Stream& stream, const std::string& bytes) {
  boost::system::error_code ec;
  co_await net::async_write(stream, net::buffer(bytes),
                            net::redirect_error(net::use_awaitable, ec));
  co_return !ec;
}

std::string chunk(std::string_view data) {
  std::ostringstream s;
  s << std::hex << data.size() << "\r\n";
  std::string out = s.str();
  out.append(data);
  out.append("\r\n");
  return out;
}

}  // namespace

template <class Stream>
net::awaitable<bool> fake_apiserver::handle(Stream& stream, std::shared_ptr<session> s,
                                            http::request<http::string_body>& req) {
  request_info info;
  info.method = std::string(req.method_string());
  info.target = std::string(req.target());
  info.connection = s->id;
  const auto q = info.target.find('?');
  info.path = info.target.substr(0, q);
  if (q != std::string::npos) {
    std::stringstream in(info.target.substr(q + 1));
    std::string kv;
    while (std::getline(in, kv, '&')) {
      const auto eq = kv.find('=');
      info.query[percent_decode(kv.substr(0, eq))] =
          eq == std::string::npos ? "" : percent_decode(kv.substr(eq + 1));
    }
  }
  if (auto a = req.find(http::field::authorization); a != req.end()) {
    info.authorization = std::string(a->value());
  }
  auto qv = [&](const char* k) -> std::string {
    auto it = info.query.find(k);
    return it == info.query.end() ? std::string() : it->second;
  };
  auto has = [&](const char* k) { return info.query.count(k) > 0; };
  const std::string w = qv("watch");
  info.watch = has("watch") && !w.empty() && w != "0" && w != "false";
  requests.push_back(info);
  const std::size_t index = requests.size() - 1;
  auto answer = [&](int status_code, std::string body, const std::string& ct = "application/json",
                    const std::vector<std::pair<std::string, std::string>>& extra = {},
                    bool close = false) -> net::awaitable<bool> {
    requests[index].status = status_code;
    co_return co_await write_response(stream, req, status_code, std::move(body), ct, extra, close);
  };
  auto answer_status = [&](int code, const std::string& reason, const std::string& message,
                           const std::vector<std::pair<std::string, std::string>>& extra = {},
                           std::optional<json> st = std::nullopt) -> net::awaitable<bool> {
    json body = st ? *st : status(code, reason, message);
    co_return co_await answer(code, body.dump(), "application/json", extra);
  };

  // Routing facts.
  std::string events_ns;
  bool events_k8s = false;
  const bool is_events = detail::parse_events_path(info.path, events_ns, events_k8s);

  // Scripted faults.
  for (auto it = scripted_.begin(); it != scripted_.end(); ++it) {
    bool m = it->on == scripted::match::any || (it->on == scripted::match::watch && info.watch) ||
             (it->on == scripted::match::list && is_events && !info.watch) ||
             (it->on == scripted::match::get && !is_events);
    if (!m || info.path.rfind(it->path_prefix, 0) != 0) continue;
    scripted sc = *it;
    scripted_.erase(it);
    switch (sc.what) {
      case scripted::action::abort:
        co_return false;
      case scripted::action::stall: {
        auto t = std::make_shared<net::steady_timer>(ex_, std::chrono::hours(1));
        stalls_.push_back(t);
        boost::system::error_code ec;
        co_await t->async_wait(net::redirect_error(net::use_awaitable, ec));
        co_return false;
      }
      case scripted::action::empty_watch: {
        requests[index].status = 200;
        const std::string head =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-cache, "
            "private\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        co_return co_await write_raw(stream, head);
      }
      case scripted::action::respond:
        co_return co_await answer(sc.status, sc.body, sc.content_type, sc.headers, sc.close);
    }
  }

  // Authentication.
  if (!knobs.tokens.empty() && !s->client_cert_ok) {
    const std::string& a = info.authorization;
    const bool ok = a.rfind("Bearer ", 0) == 0 && knobs.tokens.count(a.substr(7)) > 0;
    if (!ok) {
      co_return co_await answer_status(401, "Unauthorized", "Unauthorized");
    }
  }
  for (const auto& prefix : knobs.forbidden_prefixes) {
    if (info.path.rfind(prefix, 0) == 0) {
      co_return co_await answer_status(
          403, "Forbidden",
          "events is forbidden: User \"system:serviceaccount:ke:exporter\" cannot list resource "
          "\"" +
              info.path + "\" at the cluster scope");
    }
  }
  {
    const std::string prefix = "/apis/coordination.k8s.io/v1/namespaces/";
    if (info.path.rfind(prefix, 0) == 0) {
      const std::string rest = info.path.substr(prefix.size());
      const auto slash = rest.find('/');
      const std::string tail = slash == std::string::npos ? "" : rest.substr(slash);
      if (tail == "/leases" || tail.rfind("/leases/", 0) == 0) {
        auto [code, body] = lease_request(req.method(), rest.substr(0, slash),
                                          tail.size() > 8 ? tail.substr(8) : "", req.body());
        co_return co_await answer(code, body.dump());
      }
    }
  }
  if (req.method() != http::verb::get) {
    co_return co_await answer_status(405, "MethodNotAllowed",
                                     "the server does not allow this "
                                     "method on the requested resource");
  }

  if (is_events) {
    // Common validation (apimachinery internalversion/validation).
    const std::string rv = qv("resourceVersion");
    const std::string rvm = qv("resourceVersionMatch");
    const bool sie = has("sendInitialEvents");
    const bool sie_true = qv("sendInitialEvents") == "true";
    std::vector<detail::selector_term> fields = detail::parse_selector(qv("fieldSelector"));
    std::vector<detail::selector_term> labels = detail::parse_selector(qv("labelSelector"));
    for (const auto& f : fields) {
      if (f.op != "=" && f.op != "!=") {
        co_return co_await answer_status(400, "BadRequest",
                                         "invalid field selector: \"" + f.key + "\"");
      }
      if (!event_field(json::object(), f.key)) {
        co_return co_await answer_status(400, "BadRequest", "field label not supported: " + f.key);
      }
    }
    auto matches = [fields, labels, ns = events_ns](const json& e) {
      const json md = e.value("metadata", json::object());
      if (!ns.empty() && str_at(md, "namespace") != ns) return false;
      for (const auto& f : fields) {
        const auto v = event_field(e, f.key).value_or("");
        if ((f.op == "=") != (v == f.value)) return false;
      }
      const json lbl = md.value("labels", json::object());
      for (const auto& l : labels) {
        const bool present = lbl.contains(l.key);
        const std::string v = present ? str_at(lbl, l.key.c_str()) : "";
        if (l.op == "exists" && !present) return false;
        if (l.op == "!exists" && present) return false;
        if (l.op == "=" && (!present || v != l.value)) return false;
        if (l.op == "!=" && present && v == l.value) return false;
      }
      return true;
    };

    if (info.watch) {
      if (!rvm.empty() && !sie) {
        co_return co_await answer_status(
            422, "Invalid",
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless "
            "sendInitialEvents is provided");
      }
      if (sie && rvm != "NotOlderThan") {
        co_return co_await answer_status(422, "Invalid",
                                         "resourceVersionMatch: Unsupported value: \"" + rvm +
                                             "\": supported values: \"NotOlderThan\"");
      }
      if (sie && !knobs.watch_list_gate) {
        co_return co_await answer_status(
            422, "Invalid",
            "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the "
            "WatchList feature gate is enabled");
      }
      // ---- WATCH
      auto wt = std::make_shared<watcher>();
      wt->ns = events_ns;
      wt->events_k8s = events_k8s;
      wt->bookmarks = qv("allowWatchBookmarks") == "true";
      wt->matches = matches;
      wt->wake = std::make_unique<net::steady_timer>(ex_);
      std::vector<std::string> initial;
      bool too_old = false;
      if (sie_true || rv.empty() || rv == "0") {
        const bool send_added = !(sie && !sie_true);
        if (send_added) {
          for (const auto& [k, e] : events_) {
            if (matches(e)) initial.push_back(watch_line("ADDED", typed(e, events_k8s)));
          }
        }
        if (wt->bookmarks && (sie_true || knobs.initial_events_end_bookmark)) {
          initial.push_back(
              watch_line("BOOKMARK", bookmark_object(rv_string(revision_), events_k8s, true)));
        }
      } else {
        auto x = parse_rv(rv);
        if (!x) {
          co_return co_await answer_status(400, "BadRequest",
                                           "invalid resource version \"" + rv + "\"");
        }
        if (*x < compacted_) {
          too_old = true;
        } else {
          for (const auto& h : history_) {
            if (h.revision > *x && matches(h.object)) {
              initial.push_back(watch_line(h.type, typed(h.object, events_k8s)));
            }
          }
        }
      }
      if (too_old && knobs.too_old_as_http_410) {
        co_return co_await answer_status(410, knobs.too_old_reason,
                                         "The resourceVersion for the provided watch is too old.");
      }
      requests[index].status = 200;
      const std::string head =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-cache, "
          "private\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\nTransfer-Encoding: chunked\r\n\r\n";
      if (!co_await write_raw(stream, head)) co_return false;
      if (too_old) {
        const std::string body =
            watch_line("ERROR", status(410, knobs.too_old_reason,
                                       "The resourceVersion for the provided watch is too old."));
        watch_bytes_ += body.size();
        co_return co_await write_raw(stream, chunk(body) + "0\r\n\r\n");
      }
      for (auto& l : initial) wt->outbox.push_back(std::move(l));
      watchers_.push_back(wt);
      auto split_at = std::move(knobs.split_at);
      knobs.split_at.clear();
      std::size_t offset = 0;  // bytes of this watch's stream written
      const int timeout_s = has("timeoutSeconds") ? std::atoi(qv("timeoutSeconds").c_str()) : -1;
      const auto timeout = timeout_s >= 0 ? std::chrono::milliseconds(static_cast<std::int64_t>(
                                                timeout_s * 1000.0 * knobs.watch_timeout_scale))
                                          : knobs.default_watch_timeout;
      const auto deadline = std::chrono::steady_clock::now() + timeout;
      for (;;) {
        if (wt->abort || stopped_) {
          co_return false;
        }
        if (!knobs.stall_watches && !wt->outbox.empty()) {
          std::string bytes;
          for (std::size_t n = 0;
               n < std::max<std::size_t>(1, knobs.events_per_chunk) && !wt->outbox.empty(); ++n) {
            bytes += wt->outbox.front();
            wt->outbox.pop_front();
          }
          // Cut into chunks: at split_at offsets (this watch), or every chunk_size bytes.
          std::vector<std::string_view> pieces;
          std::string_view rest(bytes);
          std::size_t pos = offset;
          while (!rest.empty()) {
            std::size_t take = rest.size();
            if (knobs.chunk_size > 0) take = std::min(take, knobs.chunk_size);
            for (std::size_t cut : split_at) {
              if (cut > pos && cut < pos + take) take = cut - pos;
            }
            pieces.push_back(rest.substr(0, take));
            rest.remove_prefix(take);
            pos += take;
          }
          for (auto p : pieces) {
            if (!co_await write_raw(stream, chunk(p))) co_return false;
            watch_bytes_ += p.size();
          }
          offset = pos;
          continue;
        }
        if (wt->end && (wt->outbox.empty() || knobs.stall_watches)) {
          break;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
          break;
        }
        // A client that went away is noticed within 50 ms (a real server notices through its
        // connection context): during a watch the client sends nothing, so readable bytes
        // (a TLS close_notify) or EOF mean it is gone.
        {
          char probe = 0;
          const int fd = beast::get_lowest_layer(stream).socket().native_handle();
          const auto n = ::recv(fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
          if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            wt->abort = true;
            co_return false;
          }
        }
        wt->wake->expires_at(
            std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
        boost::system::error_code ec;
        co_await wt->wake->async_wait(net::redirect_error(net::use_awaitable, ec));
      }
      wt->end = true;
      co_return co_await write_raw(stream, std::string("0\r\n\r\n"));
    }

    // ---- LIST
    if (sie) {
      co_return co_await answer_status(
          422, "Invalid", "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list");
    }
    const std::string cont = qv("continue");
    if (!rvm.empty()) {
      if (rvm != "Exact" && rvm != "NotOlderThan") {
        co_return co_await answer_status(
            422, "Invalid", "resourceVersionMatch: Unsupported value: \"" + rvm + "\"");
      }
      if (rv.empty() || !cont.empty()) {
        co_return co_await answer_status(
            422, "Invalid",
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless "
            "resourceVersion is provided and continue is not");
      }
      if (rvm == "Exact" && rv == "0") {
        co_return co_await answer_status(
            422, "Invalid",
            "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for "
            "resourceVersion \"0\"");
      }
    }
    std::size_t limit = 0;
    if (has("limit")) limit = static_cast<std::size_t>(std::atoll(qv("limit").c_str()));
    if (knobs.list_ignores_limit && (rv == "0" || rv.empty()) && cont.empty()) {
      limit = 0;  // the watch cache's answer to an RV=0 list on many releases: everything
    }
    std::uint64_t list_rev = revision_;
    std::string start_after;  // items with key > this
    if (!cont.empty()) {
      if (!rv.empty() && rv != "0") {
        co_return co_await answer_status(
            400, "BadRequest", "specifying resource version is not allowed when using continue");
      }
      auto raw = base64_decode(cont);
      json tok = raw ? json::parse(*raw, nullptr, false) : json();
      if (!tok.is_object() || !tok.contains("rv") || !tok.contains("start") ||
          !tok.contains("epoch")) {
        co_return co_await answer_status(400, "BadRequest", "continue key is not valid");
      }
      start_after = tok["start"].get<std::string>();
      list_rev = tok["rv"].get<std::uint64_t>();
      if (tok["epoch"].get<std::uint64_t>() != token_epoch_ || list_rev < compacted_) {
        json fresh = {{"rv", revision_}, {"start", start_after}, {"epoch", token_epoch_}};
        json st = status(
            410, "Expired",
            "The provided continue parameter is too old to display a consistent list result. You "
            "can start a new list without the continue parameter, or use the continue token in "
            "this response to retrieve the remainder of the results. Continuing with the "
            "provided token results in an inconsistent list - objects that were created, "
            "modified, or deleted between the time the first chunk was returned and now may show "
            "up in the list.");
        st["metadata"]["continue"] = base64_encode(fresh.dump());
        co_return co_await answer_status(410, "Expired", "", {}, st);
      }
    } else if (!rv.empty() && rv != "0") {
      auto x = parse_rv(rv);
      if (!x) {
        co_return co_await answer_status(400, "BadRequest",
                                         "invalid resource version \"" + rv + "\"");
      }
      if (*x > revision_) {
        json st = status(
            504, "Timeout",
            "Timeout: Too large resource version: " + rv + ", current: " + rv_string(revision_));
        st["details"] = {
            {"causes",
             {{{"reason", "ResourceVersionTooLarge"}, {"message", "Too large resource version"}}}},
            {"retryAfterSeconds", 1}};
        const std::vector<std::pair<std::string, std::string>> retry = {{"Retry-After", "1"}};
        co_return co_await answer_status(504, "Timeout", "", retry, st);
      }
      const bool exact = rvm == "Exact" || (rvm.empty() && limit > 0);
      if (exact) {
        if (*x < compacted_) {
          co_return co_await answer_status(410, "Expired",
                                           "The resourceVersion for the provided list is too old.");
        }
        list_rev = *x;
      }
    }
    const auto state = list_rev == revision_ ? events_ : state_at(list_rev);
    json items = json::array();
    std::size_t remaining = 0;
    std::string last_key;
    for (auto it = state.upper_bound(start_after); it != state.end(); ++it) {
      if (!matches(it->second)) continue;
      if (limit > 0 && items.size() >= limit) {
        ++remaining;
        continue;
      }
      json item = events_k8s ? to_events_v1(it->second) : it->second;
      if (events_k8s) {
        item.erase("kind");
        item.erase("apiVersion");
      }
      items.push_back(std::move(item));
      last_key = it->first;
    }
    json md = {{"resourceVersion", rv_string(list_rev)}};
    if (remaining > 0) {
      json tok = {{"rv", list_rev}, {"start", last_key}, {"epoch", token_epoch_}};
      md["continue"] = base64_encode(tok.dump());
      md["remainingItemCount"] = remaining;
    }
    json body = {{"kind", "EventList"},
                 {"apiVersion", events_k8s ? "events.k8s.io/v1" : "v1"},
                 {"metadata", md},
                 {"items", items}};
    co_return co_await answer(200, body.dump());
  }

  // ---- discovery
  for (const auto& [gv, list] : resources_) {
    const std::string base = gv.find('/') == std::string::npos ? "/api/" + gv : "/apis/" + gv;
    if (info.path != base) continue;
    json rs = json::array();
    for (const auto& r : list) {
      rs.push_back({{"name", r.resource},
                    {"singularName", ""},
                    {"namespaced", r.namespaced},
                    {"kind", r.kind},
                    {"verbs", {"get", "list", "watch"}}});
      rs.push_back({{"name", r.resource + "/status"},
                    {"singularName", ""},
                    {"namespaced", r.namespaced},
                    {"kind", r.kind},
                    {"verbs", {"get", "patch", "update"}}});
    }
    json body = {
        {"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", gv}, {"resources", rs}};
    co_return co_await answer(200, body.dump());
  }
  if (auto it = objects_.find(info.path); it != objects_.end()) {
    co_return co_await answer(200, it->second.dump());
  }
  const std::string name = info.path.substr(info.path.rfind('/') + 1);
  co_return co_await answer_status(404, "NotFound", "\"" + name + "\" not found");
}

}  // namespace ke::fakes
