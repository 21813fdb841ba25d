// A faithful fake Kubernetes API server for Events list/watch clients, on 127.0.0.1 port 0,
// running on the test's io_context (Beast). It follows the checklist in
// shared/reference/kubernetes-api.md section 8 for what a real kube-apiserver does and adds the
// faults a real one will not produce on demand.
//
// Storage: one global revision, bumped by every create/update/delete; each object's
// metadata.resourceVersion is the revision of its last write. RVs are opaque strings; with
// options::opaque_rvs they are not numbers at all (a client comparing them numerically
// breaks). The full history is kept; compact() marks everything up to now as compacted.
// The same Events are served as core/v1 (/api/v1/...) and events.k8s.io/v1 (/apis/events.k8s.io
// /v1/...), converted field by field.
//
// LIST: EventList with metadata.resourceVersion/continue/remainingItemCount; RV semantics of
// the api-concepts table (unset/0 = latest; X without limit = not older than X, 504 TooLarge
// if X is in the future; X with limit = exact, 410 if compacted); limit/continue with opaque
// tokens and a constant list RV across pages; expire_continue_tokens() makes issued tokens
// expire (410 Expired carrying a fresh inconsistent token in metadata.continue); field and
// label selectors (Event field labels; others -> 400); resourceVersionMatch and
// sendInitialEvents validation -> 422.
//
// WATCH: 200, application/json, chunked, headers sent at once; one compact JSON object plus
// "\n" per event, grouped `events_per_chunk` to a chunk or cut into `chunk_size`-byte chunks;
// RV=X -> only changes after X; RV unset/0 -> synthetic ADDED first (and the
// initial-events-end bookmark if asked); sendInitialEvents watch-list mode (or 422 when the gate
// is off); too-old RV -> 200 + ERROR 410 (or HTTP 410, reason Expired or Gone); bookmarks only
// when allowWatchBookmarks=true and asked for (send_bookmark, or bookmark_every); timeoutSeconds
// honoured (scaled by watch_timeout_scale); end/abort/stall of open watches; ERROR events;
// malformed bytes.
//
// Errors/auth: scripted responses for the next matching request (429 text/plain with
// Retry-After, 504, 500, 403, a TCP abort, a stall, an empty watch); bearer tokens (401 Status
// otherwise) that tests rotate; client-certificate auth and TLS with a test CA; keep-alive.
//
// Other objects for enrichment: add_resource() for discovery (APIResourceList per group/version)
// and put_object()/remove_object() for GETs (404 Status NotFound when absent).
//
// Leases: GET/POST/PUT with the registry's rules: PUT without resourceVersion -> 422, a stale
// one -> 409 Conflict with the exact message, a duplicate POST -> 409 AlreadyExists, PUT to a
// missing name creates it (201); MicroTime fields must be "2006-01-02T15:04:05.000000Z" (400).
//
// Threading: the io_context thread only (the test drives it).
#pragma once
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/asio.hpp"

namespace ke::fakes {

class fake_apiserver {
 public:
  struct options {
    bool tls = false;
    std::string cert_pem;  // server certificate chain (tls)
    std::string key_pem;
    std::string client_ca_pem;  // when set, client certificates signed by it authenticate
    bool opaque_rvs = false;    // resourceVersions that are not numbers
  };

  // A response the server gives to the next request that matches, instead of the real one.
  struct scripted {
    enum class action {
      respond,      // status/body/content_type/headers as given
      abort,        // close the TCP connection without answering
      stall,        // read the request and never answer
      empty_watch,  // 200 and the terminating chunk at once (a "very short watch")
    };
    enum class match { any, list, watch, get };
    match on = match::any;
    std::string path_prefix;  // only requests whose path starts with it ("" = any)
    action what = action::respond;
    int status = 500;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    bool close = false;  // Connection: close
  };

  struct request_info {
    std::string method;
    std::string target;
    std::string path;
    std::map<std::string, std::string> query;
    std::string authorization;
    bool watch = false;
    int status = 0;                // the status answered (0: aborted/stalled)
    std::uint64_t connection = 0;  // which connection it came on (1, 2, ...)
  };

  struct behaviour {
    std::size_t events_per_chunk = 1;   // events written per HTTP chunk when several are ready
    std::size_t chunk_size = 0;         // >0: cut the byte stream into chunks of this size
    std::vector<std::size_t> split_at;  // cut the next watch's stream at these byte offsets
    bool initial_events_end_bookmark = false;  // after the synthetic ADDED of an RV 0 watch
    bool watch_list_gate = true;               // sendInitialEvents accepted (else 422)
    bool list_ignores_limit = false;           // RV 0/unset lists answer everything in one response
    bool too_old_as_http_410 = false;          // too-old watch RV: HTTP 410 instead of ERROR
    std::string too_old_reason = "Expired";    // or "Gone" (servers <= 1.17)
    double watch_timeout_scale = 1.0;          // timeoutSeconds * this = real seconds
    std::chrono::milliseconds default_watch_timeout{1800000};  // no timeoutSeconds given
    std::size_t bookmark_every = 0;  // >0: a BOOKMARK after every N events (if allowed)
    bool stall_watches = false;      // open watches send nothing until this is false again
    std::set<std::string> tokens;    // accepted bearer tokens; empty = no authentication
    std::set<std::string> forbidden_prefixes;  // paths answered 403 (RBAC)
  };

  fake_apiserver(net::any_io_executor ex, options opt);
  explicit fake_apiserver(net::any_io_executor ex) : fake_apiserver(std::move(ex), options{}) {}
  ~fake_apiserver();
  fake_apiserver(const fake_apiserver&) = delete;
  fake_apiserver& operator=(const fake_apiserver&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const;

  behaviour knobs;

  // ---- Events storage
  // Creates an Event (namespace and name from metadata; name generated if absent). Fills uid,
  // resourceVersion and creationTimestamp. Returns the stored object.
  nlohmann::json create_event(nlohmann::json ev);
  // Applies f to the stored Event and stores it as a new revision (MODIFIED).
  nlohmann::json update_event(const std::string& ns, const std::string& name,
                              const std::function<void(nlohmann::json&)>& f);
  // The legacy recorder's repeat: count+1, lastTimestamp now (series.count+1 if present).
  nlohmann::json bump_count(const std::string& ns, const std::string& name);
  // Deletes (TTL expiry or API delete): DELETED with the last state.
  void delete_event(const std::string& ns, const std::string& name);
  std::size_t event_count() const { return events_.size(); }
  std::string current_rv() const { return rv_string(revision_); }
  // Everything written so far is compacted: watches or exact lists from older RVs get 410.
  // break_watches: open watches get ERROR 410 and close (compaction mid-stream).
  void compact(bool break_watches = false);

  // ---- Other objects (for enrichment)
  void add_resource(const std::string& group_version, const std::string& resource,
                    const std::string& kind, bool namespaced);
  // Stores an object at its URL (fills uid and resourceVersion if absent). Returns it.
  nlohmann::json put_object(const std::string& group_version, const std::string& resource,
                            nlohmann::json obj);
  void remove_object(const std::string& group_version, const std::string& resource,
                     const std::string& ns, const std::string& name);

  // ---- Leases (coordination.k8s.io/v1): GET/POST/PUT .../namespaces/{ns}/leases[/{name}]
  // The stored Lease (null if none).
  nlohmann::json lease(const std::string& ns, const std::string& name) const;
  // Lease writes answered, by status (200, 201, 409, 422 ...).
  std::map<int, std::size_t> lease_writes;

  // ---- Faults and watch control
  void script(scripted s) { scripted_.push_back(std::move(s)); }
  // The APF 429: text/plain "Too many requests, please try again later." with Retry-After.
  void script_429(scripted::match on, int retry_after_seconds, bool close = false);
  // Issued continue tokens expire (the next use gets 410 Expired with a fresh token).
  void expire_continue_tokens() { ++token_epoch_; }
  void end_watches();    // terminating chunk now (clean end, like a timeout)
  void abort_watches();  // close the connections without the terminating chunk
  void send_watch_error(nlohmann::json status);  // ERROR event, then a clean end
  void send_bookmark();                          // BOOKMARK at the current RV (if allowed)
  void send_raw(std::string bytes);              // raw bytes into open watches
  std::size_t open_watches() const;

  // ---- Observations
  std::vector<request_info> requests;
  std::size_t count_requests(const std::function<bool(const request_info&)>& pred) const;
  std::size_t lists() const;    // event LIST requests
  std::size_t watches() const;  // event WATCH requests
  std::uint64_t connections() const { return connections_; }
  // Bytes of watch stream written so far.
  std::uint64_t watch_bytes() const { return watch_bytes_; }

  // Status JSON like the API server's.
  static nlohmann::json status(int code, const std::string& reason, const std::string& message);
  // A realistic core/v1 Event (legacy recorder style) about a Pod.
  static nlohmann::json make_event(const std::string& ns, const std::string& name,
                                   const std::string& reason, const std::string& message,
                                   std::int32_t count = 1);

  void stop();

  struct watcher;  // an open watch (implementation)
  struct session;  // a connection (implementation)

 private:
  struct history_entry {
    std::uint64_t revision;
    std::string type;  // ADDED MODIFIED DELETED
    nlohmann::json object;
  };
  struct resource_info {
    std::string resource;
    std::string kind;
    bool namespaced;
  };

  net::awaitable<void> accept_loop();
  template <class Stream>
  net::awaitable<void> serve(Stream& stream, std::shared_ptr<session> s);
  // Returns false when the connection must close.
  template <class Stream>
  net::awaitable<bool> handle(Stream& stream, std::shared_ptr<session> s,
                              http::request<http::string_body>& req);
  template <class Stream>
  net::awaitable<bool> serve_watch(Stream& stream, std::shared_ptr<session> s, request_info& info,
                                   bool events_k8s, const std::string& ns);

  std::string rv_string(std::uint64_t rev) const;
  std::optional<std::uint64_t> parse_rv(const std::string& rv) const;
  void record(std::string type, const nlohmann::json& obj);
  std::map<std::string, nlohmann::json> state_at(std::uint64_t rev) const;
  void push_to_watchers(const history_entry& h);

  net::any_io_executor ex_;
  options opt_;
  std::shared_ptr<net::ssl::context> tls_;
  net::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;

  std::uint64_t revision_ = 1;
  std::uint64_t compacted_ = 0;                   // revisions <= this are compacted
  std::map<std::string, nlohmann::json> events_;  // "ns/name" -> object
  std::vector<history_entry> history_;
  std::uint64_t uid_seq_ = 0;
  std::uint64_t token_epoch_ = 0;
  mutable std::map<std::string, std::uint64_t> opaque_;  // opaque rv string -> revision

  std::map<std::string, std::vector<resource_info>> resources_;  // group/version -> resources
  std::map<std::string, nlohmann::json> objects_;                // URL path -> object
  std::map<std::string, nlohmann::json> leases_;                 // "ns/name" -> Lease
  // A Lease request (not a coroutine): the status and body to answer.
  std::pair<int, nlohmann::json> lease_request(http::verb method, const std::string& ns,
                                               const std::string& name, const std::string& body);

  std::deque<scripted> scripted_;
  std::list<std::weak_ptr<watcher>> watchers_;
  std::list<std::weak_ptr<session>> sessions_;
  std::vector<std::weak_ptr<net::steady_timer>> stalls_;
  std::uint64_t connections_ = 0;
  std::uint64_t watch_bytes_ = 0;
};

}  // namespace ke::fakes
