#include "kube/api_client.hpp"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ssl.hpp>
#include <charconv>

#include "core/version.hpp"
#include "kube/json_framer.hpp"

namespace ke::kube {

namespace {

constexpr std::size_t max_error_body = std::size_t{64} * 1024;
const std::string no_body;

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) {
    return {};
  }
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string reason_for(int status) {
  switch (status) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 406:
      return "NotAcceptable";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return {};
  }
}

std::optional<std::chrono::seconds> parse_retry_after(const http_response& r) {
  auto it = r.find(http::field::retry_after);
  if (it == r.end()) {
    return std::nullopt;
  }
  const std::string v = trim(std::string_view(it->value().data(), it->value().size()));
  long long secs = 0;
  const auto* end = v.data() + v.size();
  const auto [ptr, ec] = std::from_chars(v.data(), end, secs);
  if (ec != std::errc() || ptr != end || secs < 0) {
    return std::chrono::seconds(1);  // an HTTP date or junk: still a request to come back
  }
  return std::chrono::seconds(secs);
}

}  // namespace

api_status parse_status(const nlohmann::json& obj, int http_status) {
  api_status s;
  s.code = http_status;
  if (!obj.is_object()) {
    s.reason = reason_for(http_status);
    return s;
  }
  if (auto it = obj.find("code"); it != obj.end() && it->is_number_integer()) {
    s.code = it->get<int>();
  }
  if (auto it = obj.find("reason"); it != obj.end() && it->is_string()) {
    s.reason = it->get<std::string>();
  }
  if (auto it = obj.find("message"); it != obj.end() && it->is_string()) {
    s.message = it->get<std::string>();
  }
  if (auto md = obj.find("metadata"); md != obj.end() && md->is_object()) {
    if (auto c = md->find("continue"); c != md->end() && c->is_string()) {
      s.continue_token = c->get<std::string>();
    }
  }
  if (auto d = obj.find("details"); d != obj.end() && d->is_object()) {
    if (auto r = d->find("retryAfterSeconds"); r != d->end() && r->is_number_integer()) {
      s.retry_after_seconds = r->get<int>();
    }
  }
  if (s.reason.empty()) {
    s.reason = reason_for(s.code);
  }
  return s;
}

api_status parse_status_body(std::string_view body, int http_status) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    return parse_status(j, http_status);
  }
  api_status s;
  s.code = http_status;
  s.reason = reason_for(http_status);
  s.message = trim(body.substr(0, 500));
  return s;
}

std::string api_response::describe() const {
  if (error) {
    return error.message();
  }
  if (!decode_error.empty()) {
    return decode_error;
  }
  const api_status s = status_object();
  std::string out = "HTTP " + std::to_string(status);
  if (!s.reason.empty()) {
    out += " " + s.reason;
  }
  if (!s.message.empty()) {
    out += ": " + s.message;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

std::unique_ptr<api_client> api_client::create(net::any_io_executor ex, const rest_config& cfg,
                                               clock& c, options opt, std::string* error) {
  std::string e;
  auto u = url::parse(cfg.server, &e);
  if (!u) {
    if (error != nullptr) {
      *error = "Kubernetes API server \"" + cfg.server + "\" (" + cfg.source + "): " + e;
    }
    return nullptr;
  }
  std::unique_ptr<api_client> client(new api_client(std::move(ex), cfg, *u, c, opt));
  if (!client->rebuild_tls(error)) {
    return nullptr;
  }
  return client;
}

api_client::api_client(net::any_io_executor ex, const rest_config& cfg, url origin, clock& c,
                       options opt)
    : ex_(std::move(ex)),
      cfg_(cfg),
      origin_(std::move(origin)),
      clock_(c),
      opt_(opt),
      bucket_(opt.qps, opt.burst, c),
      creds_(ex_, cfg, c),
      slot_free_(ex_) {}

api_client::~api_client() { close_all(); }

bool api_client::rebuild_tls(std::string* error) {
  tls_generation_ = creds_.tls_generation();
  if (!origin_.https()) {
    tls_.reset();
    return true;
  }
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  auto fail = [&](const std::string& what) {
    if (error != nullptr) {
      *error = "Kubernetes client TLS (" + cfg_.source + "): " + what;
    }
    return false;
  };
  if (!cfg_.ca_pem.empty()) {
    ctx->add_certificate_authority(net::buffer(cfg_.ca_pem), ec);
    if (ec) {
      return fail("cannot load the CA certificates: " + ec.message());
    }
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec) {
      return fail("cannot load the system CA certificates: " + ec.message());
    }
  }
  const std::string& cert = creds_.client_cert_pem();
  const std::string& key = creds_.client_key_pem();
  if (!cert.empty()) {
    ctx->use_certificate_chain(net::buffer(cert), ec);
    if (ec) {
      return fail("cannot load the client certificate: " + ec.message());
    }
    ctx->use_private_key(net::buffer(key), net::ssl::context::pem, ec);
    if (ec) {
      return fail("cannot load the client key: " + ec.message());
    }
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
      return fail("the client key does not match the client certificate");
    }
  }
  ctx->set_verify_mode(cfg_.insecure ? net::ssl::verify_none : net::ssl::verify_peer);
  tls_ = std::move(ctx);
  return true;
}

net::awaitable<std::unique_ptr<http_client>> api_client::borrow() {
  for (;;) {
    if (closed_) {
      co_return nullptr;
    }
    if (creds_.tls_generation() != tls_generation_) {
      std::string e;
      if (!rebuild_tls(&e)) {
        spdlog::error("watch: {}", e);
      }
      idle_.clear();  // connections made with the old client certificate
    }
    while (!idle_.empty()) {
      auto [c, gen] = std::move(idle_.back());
      idle_.pop_back();
      if (gen == tls_generation_) {
        busy_.insert(c.get());
        co_return std::move(c);
      }
    }
    if (busy_.size() < opt_.max_connections) {
      tls_options t;
      t.insecure_skip_verify = cfg_.insecure;
      t.server_name = cfg_.tls_server_name;
      http_client::options o;
      o.user_agent = "kube-event-exporter/" + std::string(ke::version());
      o.max_response_body = 256ull << 20;
      auto c = std::make_unique<http_client>(ex_, origin_, tls_, t, o);
      busy_.insert(c.get());
      co_return c;
    }
    slot_free_.expires_at(std::chrono::steady_clock::time_point::max());
    boost::system::error_code ec;
    co_await slot_free_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

void api_client::give_back(std::unique_ptr<http_client> c, std::uint64_t generation) {
  busy_.erase(c.get());
  if (!closed_ && generation == tls_generation_ && c->connected()) {
    idle_.emplace_back(std::move(c), generation);
  }
  slot_free_.cancel();
}

void api_client::close_all() {
  closed_ = true;
  for (auto* c : busy_) {
    c->close();
  }
  idle_.clear();
  slot_free_.cancel();
}

net::awaitable<api_response> api_client::get(std::string target, get_options go) {
  co_return co_await exchange(http::verb::get, target, no_body, go.rate_limited, go, stream{}, {});
}

net::awaitable<api_response> api_client::send(http::verb method, std::string target,
                                              std::string body) {
  const get_options go;
  co_return co_await exchange(method, target, body, true, go, stream{}, {});
}

// Frames and parses a streamed response: WatchEvents (watch) or the items of a list. Objects
// are parsed as each chunk arrives and handed to the callback one by one; the callback may
// suspend, and nothing more is read meanwhile, so at most one chunk's objects are held. A body
// that is not what was asked for (a Status error body, APF's plain-text 429) is kept as the
// error body; whether it was an error is decided by the HTTP status afterwards.
class api_client::streamer {
 public:
  streamer(stream s, std::size_t max_object, api_response& out)
      : s_(s), watch_framer_(max_object), list_framer_(max_object), max_(max_object), out_(out) {}

  net::awaitable<bool> on_body(std::string_view piece) {
    if (out_.events == 0 && head_.size() < max_error_body) {
      head_.append(piece.substr(0, max_error_body - head_.size()));
    }
    ready_.clear();
    if (s_.what == stream::kind::watch) {
      const auto st = watch_framer_.feed(piece, [&](std::string_view obj) { return take(obj); });
      if (st == json_framer::status::not_an_object) {
        if (out_.events > 0 || !ready_.empty()) {
          out_.decode_error = "bytes that are not JSON in the watch stream";
        }
        failed_ = true;
      } else if (st == json_framer::status::too_large) {
        out_.decode_error = "a watch event larger than " + std::to_string(max_) + " bytes";
        failed_ = true;
      }
    } else {
      const auto st = list_framer_.feed(piece, [&](std::string_view obj) { return take(obj); });
      if (st == list_framer::status::not_a_list) {
        failed_ = true;  // a plain-text body; reported in finish()
      } else if (st == list_framer::status::too_large) {
        out_.decode_error = "a list item larger than " + std::to_string(max_) + " bytes";
        failed_ = true;
      }
    }
    for (auto& obj : ready_) {
      ++out_.events;
      if (!co_await (*s_.on_object)(std::move(obj))) {
        out_.stopped = true;
        co_return false;
      }
    }
    co_return !failed_;
  }

  // After the body: decides what the bytes were, given the HTTP status.
  void finish(int status) {
    const bool ok = status >= 200 && status < 300;
    if (!ok) {
      if (out_.body.empty()) {
        out_.body = head_;
      }
      return;
    }
    out_.body.clear();
    if (s_.what == stream::kind::watch) {
      if (failed_ && out_.decode_error.empty()) {
        out_.decode_error = "the response is not a watch stream: " + trim(head_.substr(0, 200));
      } else if (!failed_ && !out_.stopped && watch_framer_.in_object()) {
        out_.decode_error = "the stream ended inside an event";
      }
      return;
    }
    if (out_.stopped || !out_.decode_error.empty()) {
      return;
    }
    if (failed_ || !list_framer_.complete() || !list_framer_.saw_items()) {
      out_.decode_error = list_framer_.complete() || failed_
                              ? "the response is not a list: " + trim(head_.substr(0, 200))
                              : "the list response ended early";
      return;
    }
    auto md = nlohmann::json::parse(list_framer_.metadata(), nullptr, false);
    if (md.is_object()) {
      if (auto rv = md.find("resourceVersion"); rv != md.end() && rv->is_string()) {
        out_.resource_version = rv->get<std::string>();
      }
      if (auto c = md.find("continue"); c != md.end() && c->is_string()) {
        out_.continue_token = c->get<std::string>();
      }
    }
  }

 private:
  // Parses one framed object into ready_; false stops the framer.
  bool take(std::string_view obj) {
    auto j = nlohmann::json::parse(obj, nullptr, false);
    if (j.is_discarded()) {
      out_.decode_error = s_.what == stream::kind::watch ? "malformed JSON in the watch stream"
                                                         : "malformed JSON in a list item";
      failed_ = true;
      return false;
    }
    if (s_.what == stream::kind::list) {
      ready_.push_back(std::move(j));
      return true;
    }
    auto t = j.find("type");
    if (!j.is_object() || t == j.end() || !t->is_string() || !j.contains("object")) {
      if (out_.events == 0 && ready_.empty()) {
        out_.body = std::string(obj);  // a Status error body
      } else {
        out_.decode_error = "an object that is not a WatchEvent";
      }
      failed_ = true;
      return false;
    }
    const auto& type = t->get_ref<const std::string&>();
    if (type != "ADDED" && type != "MODIFIED" && type != "DELETED" && type != "BOOKMARK" &&
        type != "ERROR") {
      out_.decode_error = "invalid watch event type \"" + type + "\"";
      failed_ = true;
      return false;
    }
    ready_.push_back(std::move(j));
    return true;
  }

  stream s_;
  json_framer watch_framer_;
  list_framer list_framer_;
  std::size_t max_;
  api_response& out_;
  std::vector<nlohmann::json> ready_;
  std::string head_;  // first bytes, for a non-JSON error body
  bool failed_ = false;
};

net::awaitable<api_response> api_client::watch(std::string target,
                                               std::chrono::milliseconds idle_timeout,
                                               event_callback on_event) {
  const get_options go;
  co_return co_await exchange(http::verb::get, target, no_body, false, go,
                              stream{stream::kind::watch, &on_event}, idle_timeout);
}

net::awaitable<api_response> api_client::list(std::string target, event_callback on_item) {
  const get_options go;
  co_return co_await exchange(http::verb::get, target, no_body, true, go,
                              stream{stream::kind::list, &on_item}, opt_.request_timeout);
}

net::awaitable<api_response> api_client::exchange(http::verb method, const std::string& target,
                                                  const std::string& body, bool rate_limited,
                                                  const get_options& go, stream streamed,
                                                  std::chrono::milliseconds idle_timeout) {
  api_response out;
  const int max_tries = go.max_tries > 0 ? go.max_tries : opt_.max_tries;
  bool retried_401 = false;
  for (int attempt = 1;; ++attempt) {
    out = api_response{};
    out.tries = attempt;
    if (closed_) {
      out.error = net::error::operation_aborted;
      co_return out;
    }
    if (rate_limited) {
      if (go.max_rate_wait) {
        auto wait = bucket_.try_reserve(*go.max_rate_wait);
        if (!wait) {
          out.error = net::error::would_block;
          co_return out;
        }
        if (*wait > clock::duration::zero() && !co_await clock_.sleep(*wait)) {
          out.error = net::error::operation_aborted;
          co_return out;
        }
      } else if (!co_await bucket_.acquire()) {
        out.error = net::error::operation_aborted;
        co_return out;
      }
    }
    std::string auth_error;
    const std::string auth = co_await creds_.authorization(&auth_error);
    http_request req(method, target, 11);
    req.set(http::field::accept, "application/json");
    if (method != http::verb::get) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    if (!auth.empty()) {
      req.set(http::field::authorization, auth);
    }
    auto client = co_await borrow();
    if (!client) {
      out.error = net::error::operation_aborted;
      co_return out;
    }
    const std::uint64_t generation = tls_generation_;
    ++requests_sent_;
    http_result res;
    if (streamed.what == stream::kind::none) {
      res = co_await client->send(std::move(req), opt_.request_timeout);
      if (res.ok()) {
        out.body = std::move(res.response.body());
      }
    } else {
      streamer st(streamed, opt_.max_event_bytes, out);
      // A named callback: GCC 12 destroys lambda temporaries inside a co_await expression twice.
      http_client::body_callback on_body = [&st](std::string_view piece) {
        return st.on_body(piece);
      };
      res = co_await client->send_streaming(std::move(req), opt_.watch_open_timeout, idle_timeout,
                                            on_body);
      if (res.ok()) {
        st.finish(static_cast<int>(res.response.result_int()));
      }
    }
    give_back(std::move(client), generation);
    if (!res.ok()) {
      out.error = res.error;
      if (closed_) {
        out.error = net::error::operation_aborted;
      }
      co_return out;
    }
    out.status = static_cast<int>(res.response.result_int());
    out.retry_after = parse_retry_after(res.response);
    if (out.status == 401 && !retried_401) {
      retried_401 = true;
      creds_.invalidate(auth);
      const std::string fresh = co_await creds_.authorization(nullptr);
      if (fresh != auth) {
        spdlog::warn("watch: {} {}: 401 Unauthorized; retrying with refreshed credentials",
                     std::string(http::to_string(method)), target.substr(0, target.find('?')));
        continue;
      }
      co_return out;
    }
    const bool retryable = out.status == 429 || (out.status >= 500 && out.retry_after);
    if (retryable && out.retry_after && attempt < max_tries) {
      const auto wait = std::min(*out.retry_after, opt_.max_retry_after);
      ++retries_unlogged_;
      const auto now = clock_.now();
      if (now - last_retry_log_ >= std::chrono::seconds(10) || last_retry_log_ == decltype(now){}) {
        spdlog::warn("watch: {} {}: {} (try {}/{}); retrying after {}s{}",
                     std::string(http::to_string(method)), target.substr(0, target.find('?')),
                     out.describe(), attempt, max_tries, wait.count(),
                     retries_unlogged_ > 1
                         ? " (" + std::to_string(retries_unlogged_) + " retries since last log)"
                         : std::string());
        last_retry_log_ = now;
        retries_unlogged_ = 0;
      }
      if (!co_await clock_.sleep(wait)) {
        out.error = net::error::operation_aborted;
        co_return out;
      }
      continue;
    }
    co_return out;
  }
}

std::string query_escape(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace ke::kube
