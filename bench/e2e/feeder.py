"""A fake Kubernetes API server over HTTPS that feeds pre-generated Events to the exporter.

It answers as kube-apiserver does (shared/reference/kubernetes-api.md): Status objects for
errors, Go's compact JSON with a trailing newline, HTTP/1.1 keep-alive, and bodies framed as
Go's net/http frames them (GoChunks): Content-Length when the whole body fits its 2 KiB
buffer, else chunked transfer where every full 2 KiB buffer becomes a chunk, so chunk
boundaries fall inside events and list items ("chunk boundaries are not event boundaries");
a watch flushes (a shorter chunk) whenever it has nothing more to send.

The cluster model (Cluster): events 0..n0-1 exist from the start; the m watch events are
created over a timeline that starts when the first watch stream goes live (all at once at
rate 0, else one every 1/rate s). Event seq has resourceVersion base_rv+1+seq. So:
  - a list is a snapshot of the events created so far, in key order (namespace/name, as etcd
    returns them); with `limit` in pages of min(limit, page_size) items with opaque continue
    tokens that name the snapshot's resourceVersion and the next key, or in one response
    (one_response: as the watch cache serves resourceVersion=0, ignoring `limit`);
  - a watch from resourceVersion X sends every event with a larger resourceVersion, pacing
    to the timeline, and then stays open (idle) until timeoutSeconds, the client closes it,
    or the run ends; an X below base_rv is "too old" (ERROR 410 in the stream);
  - a watch-list (sendInitialEvents=true, resourceVersionMatch=NotOlderThan,
    allowWatchBookmarks=true) sends the snapshot as ADDED events, then the BOOKMARK annotated
    k8s.io/initial-events-end, then the live events. With watch_list=False (--no-watch-list,
    the WatchList gate off) such a request is refused with 422 Invalid, as a server does.
The time each watch event is handed to the socket is kept for the latency figures.
"""

import base64
import binascii
import bisect
import json
import os
import random
import re
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WATCH_PREFIX = b'{"type":"ADDED","object":'
GO_BUFFER = 2048  # net/http's bufferBeforeChunkingSize: Content-Length below, chunks above
SEND_BYTES = 128 * 1024  # join framed chunks into socket writes of about this size
FLOW_SCHEMA_UID = str(uuid.uuid4())
PRIORITY_LEVEL_UID = str(uuid.uuid4())

POD_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)$")
FALSE_STRINGS = ("", "0", "false")  # any other value of a bool parameter is true


def _dump(obj):
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def status(code, reason, message, details=None):
    """A metav1.Status failure body (Go field order)."""
    obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason}
    if details is not None:
        obj["details"] = details
    obj["code"] = code
    return obj


def invalid_list_options(field, detail):
    """422 Invalid for ListOptions, as apimachinery's validation answers."""
    return status(422, "Invalid",
                  f'ListOptions.meta.k8s.io "" is invalid: {field}: Forbidden: {detail}',
                  {"group": "meta.k8s.io", "kind": "ListOptions",
                   "causes": [{"reason": "FieldValueForbidden",
                               "message": f"Forbidden: {detail}", "field": field}]})


def _truthy(v):
    return v is not None and v.lower() not in FALSE_STRINGS


# ------------------------------------------------------------------------------------------
# Discovery documents, as a v1.34 kube-apiserver lists them (trimmed to a realistic subset).

def _resource(name, kind, namespaced, short=None, verbs=None, singular=None):
    r = {"name": name, "singularName": singular if singular is not None else kind.lower(),
         "namespaced": namespaced, "kind": kind,
         "verbs": verbs or ["create", "delete", "deletecollection", "get", "list", "patch",
                            "update", "watch"]}
    if short:
        r["shortNames"] = short
    return r


CORE_RESOURCES = {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
    _resource("configmaps", "ConfigMap", True, ["cm"]),
    _resource("endpoints", "Endpoints", True, ["ep"], singular="endpoints"),
    _resource("events", "Event", True, ["ev"]),
    _resource("namespaces", "Namespace", False, ["ns"],
              ["create", "delete", "get", "list", "patch", "update", "watch"]),
    _resource("nodes", "Node", False, ["no"]),
    _resource("persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"]),
    _resource("pods", "Pod", True, ["po"]),
    _resource("pods/binding", "Binding", True, verbs=["create"], singular=""),
    _resource("pods/eviction", "Eviction", True, verbs=["create"], singular=""),
    _resource("pods/log", "Pod", True, verbs=["get"], singular=""),
    _resource("pods/status", "Pod", True, verbs=["get", "patch", "update"], singular=""),
    _resource("secrets", "Secret", True),
    _resource("serviceaccounts", "ServiceAccount", True, ["sa"]),
    _resource("services", "Service", True, ["svc"]),
]}
GROUPS = {
    "apps/v1": [_resource("deployments", "Deployment", True, ["deploy"]),
                _resource("replicasets", "ReplicaSet", True, ["rs"]),
                _resource("statefulsets", "StatefulSet", True, ["sts"]),
                _resource("daemonsets", "DaemonSet", True, ["ds"])],
    "batch/v1": [_resource("jobs", "Job", True), _resource("cronjobs", "CronJob", True, ["cj"])],
    "coordination.k8s.io/v1": [_resource("leases", "Lease", True)],
    "events.k8s.io/v1": [_resource("events", "Event", True, ["ev"])],
}
VERSION = {"major": "1", "minor": "34", "emulationMajor": "1", "emulationMinor": "34",
           "minCompatibilityMajor": "1", "minCompatibilityMinor": "33",
           "gitVersion": "v1.34.1", "gitCommit": "93248f9ae092f571eb870b7664c534bfc7d00f03",
           "gitTreeState": "clean", "buildDate": "2025-09-09T19:44:50Z",
           "goVersion": "go1.24.6", "compiler": "gc", "platform": "linux/amd64"}


def _discovery(path, port):
    if path == "/version":
        return VERSION
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{port}"}]}
    if path == "/api/v1":
        return CORE_RESOURCES
    if path == "/apis":
        groups = []
        for gv in GROUPS:
            g, v = gv.split("/")
            ver = {"groupVersion": gv, "version": v}
            groups.append({"name": g, "versions": [ver], "preferredVersion": ver})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    if path.startswith("/apis/") and path[len("/apis/"):] in GROUPS:
        gv = path[len("/apis/"):]
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                "resources": GROUPS[gv]}
    return None


# ------------------------------------------------------------------------------------------

class Cluster:
    """The Events that exist over time, and when each watch event was written."""

    def __init__(self, events, rate, on_timeline_start=None):
        self.ev = events
        self.rate = rate
        self.t0 = None  # monotonic time the first watch stream went live
        self._on_start = on_timeline_start
        self._lock = threading.Lock()
        # Per watch event (seq - n0): monotonic time of its first and its last write.
        self.first_write = [0.0] * events.m
        self.last_write = [0.0] * events.m
        self._snap = None
        self.snapshot(events.n0)  # sort the initial list now, not while the exporter waits

    def start_timeline(self):
        with self._lock:
            if self.t0 is not None:
                return
            self.t0 = time.monotonic()
        if self._on_start:
            self._on_start(self.t0)

    def created(self, now=None):
        """How many events exist now (seqs 0..created-1)."""
        if self.t0 is None:
            return self.ev.n0
        if self.rate <= 0:
            return self.ev.total
        now = time.monotonic() if now is None else now
        return self.ev.n0 + min(self.ev.m, int((now - self.t0) * self.rate) + 1)

    def due(self, seq):
        """The monotonic time watch event seq is created (the timeline must have started)."""
        return self.t0 + (seq - self.ev.n0) / self.rate if self.rate > 0 else self.t0

    def snapshot(self, count):
        """(seqs in key order, their keys) of the state with `count` events; cached."""
        with self._lock:
            if self._snap is not None and self._snap[0] == count:
                return self._snap[1], self._snap[2]
        keys = self.ev.keys
        order = sorted(range(count), key=keys.__getitem__)
        sorted_keys = [keys[s] for s in order]
        with self._lock:
            self._snap = (count, order, sorted_keys)
        return order, sorted_keys

    def rv_of_count(self, count):
        """The resourceVersion of the state with `count` events."""
        return str(self.ev.base_rv + count)

    def line(self, seq):
        """The watch line (ADDED) of event seq."""
        if seq >= self.ev.n0:
            return self.ev.watch_lines[seq - self.ev.n0]
        return WATCH_PREFIX + self.ev.watch_object(self.ev.items[seq]) + b"}\n"

    def mark_written(self, start, end, t):
        n0 = self.ev.n0
        fw, lw = self.first_write, self.last_write
        for j in range(max(start, n0) - n0, end - n0):
            if fw[j] == 0.0:
                fw[j] = t
            lw[j] = t


class _ClientGone(Exception):
    """The client closed the connection (or the run is ending)."""


class Feeder:
    """The fake API server: state, counters and the request log."""

    def __init__(self, cluster, cert, key, token, page_size=500, one_response=False,
                 watch_list=True, lookup="none"):
        self.cluster = cluster
        self.token = token
        self.page_size = page_size
        self.one_response = one_response
        self.watch_list = watch_list
        self.lookup = lookup
        self.stop = threading.Event()
        self._stop_r, self._stop_w = os.pipe()  # readable once the run ends: wakes idle streams
        self._lock = threading.Lock()
        self.requests = []  # (t, method, target, status, note)
        self.lookups = 0
        self.connections = 0
        self.handshake_failures = 0
        self.unknown = 0
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["http/1.1"])
        self.server = _TLSServer(("127.0.0.1", 0), _Handler, ctx, self)
        self.port = self.server.server_address[1]
        self.t_start = time.monotonic()
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.2}, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def close(self):
        self.stop.set()
        os.write(self._stop_w, b"x")
        self.server.shutdown()
        self.server.server_close()

    def note(self, method, target, code, what=""):
        with self._lock:
            self.requests.append((time.monotonic() - self.t_start, method, target, code, what))

    # -- request handling (called on the connection's thread) --------------------------------

    def handle(self, h):
        target = h.path
        url = urllib.parse.urlsplit(target)
        path = url.path
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query,
                                                         keep_blank_values=True).items()}
        if h.headers.get("Authorization") != "Bearer " + self.token:
            self.note(h.command, target, 401)
            return h.send_json(401, _dump(status(401, "Unauthorized", "Unauthorized")))
        if h.command != "GET":
            self.note(h.command, target, 405, "UNKNOWN")
            with self._lock:
                self.unknown += 1
            print(f"run-e2e: feeder: unknown request {h.command} {target} -> 405",
                  file=sys.stderr)
            h.close_connection = True  # its body, if any, is not read
            return h.send_json(405, _dump(status(
                405, "MethodNotAllowed",
                "the server does not allow this method on the requested resource")))
        doc = _discovery(path, self.port)
        if doc is not None:
            self.note("GET", target, 200)
            return h.send_json(200, _dump(doc))
        if path == "/api/v1/events":
            if _truthy(q.get("watch")):
                return self.serve_watch(h, target, q)
            return self.serve_list(h, target, q)
        m = POD_PATH.match(path)
        if m:
            return self.serve_pod(h, target, urllib.parse.unquote(m.group(1)),
                                  urllib.parse.unquote(m.group(2)))
        with self._lock:
            self.unknown += 1
        self.note("GET", target, 404, "UNKNOWN")
        print(f"run-e2e: feeder: unknown request GET {target} -> 404", file=sys.stderr)
        return h.send_json(404, _dump(status(404, "NotFound",
                                             "the server could not find the requested resource",
                                             {})))

    def serve_pod(self, h, target, ns, name):
        with self._lock:
            self.lookups += 1
        pod = self.cluster.ev.pod_bytes.get((ns, name))
        if pod is not None and self.lookup != "missing":
            self.note("GET", target, 200, "lookup")
            return h.send_json(200, pod)
        self.note("GET", target, 404, "lookup")
        return h.send_json(404, _dump(status(404, "NotFound", f'pods "{name}" not found',
                                             {"name": name, "kind": "pods"})))

    def serve_list(self, h, target, q):
        c = self.cluster
        if "sendInitialEvents" in q:
            self.note("GET", target, 422)
            return h.send_json(422, _dump(invalid_list_options(
                "sendInitialEvents", "sendInitialEvents is forbidden for list")))
        rv, cont = q.get("resourceVersion", ""), q.get("continue", "")
        limit = int(q.get("limit") or 0) if q.get("limit", "").isdigit() else 0
        if self.one_response:
            limit = 0  # the watch cache serves resourceVersion=0 whole, ignoring limit
        elif limit:
            limit = min(limit, self.page_size)  # a server may return fewer, never more
        start = 0
        if cont:
            if rv:
                self.note("GET", target, 400)
                return h.send_json(400, _dump(status(
                    400, "BadRequest", "specifying resource version is not allowed when using "
                                       "continue")))
            try:
                tok = json.loads(base64.b64decode(cont))
                count = int(tok["rv"]) - c.ev.base_rv
                start_key = tok["start"]
            except (ValueError, KeyError, TypeError, binascii.Error):
                self.note("GET", target, 400)
                return h.send_json(400, _dump(status(400, "BadRequest",
                                                     "continue key is not valid")))
            order, keys = c.snapshot(count)
            start = bisect.bisect_left(keys, start_key)
        else:
            created = c.created()
            count = created
            if rv not in ("", "0"):
                try:
                    want = int(rv)
                except ValueError:
                    self.note("GET", target, 400)
                    return h.send_json(400, _dump(status(
                        400, "BadRequest", f"invalid resource version: {rv!r}")))
                if want > c.ev.base_rv + created:
                    self.note("GET", target, 504)
                    return h.send_json(504, _dump(status(
                        504, "Timeout",
                        f"Timeout: Too large resource version: {want}, current: "
                        f"{c.ev.base_rv + created}",
                        {"causes": [{"reason": "ResourceVersionTooLarge",
                                     "message": "Too large resource version"}],
                         "retryAfterSeconds": 1})), [("Retry-After", "1")])
                if limit and q.get("resourceVersionMatch", "") != "NotOlderThan":
                    count = max(0, want - c.ev.base_rv)  # limit + RV=X: Exact
            order, keys = c.snapshot(count)
        end = min(len(order), start + limit) if limit else len(order)
        meta = '{"resourceVersion":"%s"' % c.rv_of_count(count)
        if end < len(order):
            token = base64.b64encode(json.dumps(
                {"v": "meta.k8s.io/v1", "rv": c.ev.base_rv + count,
                 "start": keys[end - 1] + "\x00"}, separators=(",", ":")).encode()).decode()
            # The next page starts at the first key after the last one sent ("key\0"), as
            # etcd3's store encodes it.
            meta += ',"continue":"%s","remainingItemCount":%d' % (token, len(order) - end)
        meta += "}"
        head = ('{"kind":"EventList","apiVersion":"v1","metadata":%s,"items":[' % meta).encode()
        item = c.ev.item

        def pieces():
            # Item by item, as the streaming collection encoder (on since 1.33) writes them.
            yield head
            for i in range(start, end):
                yield item(order[i]) if i == start else b"," + item(order[i])
            yield b"]}\n"

        self.note("GET", target, 200, f"{end - start} items")
        h.send_json(200, pieces())

    def serve_watch(self, h, target, q):
        c = self.cluster
        rv = q.get("resourceVersion", "")
        bookmarks = _truthy(q.get("allowWatchBookmarks"))
        rvm = q.get("resourceVersionMatch", "")
        send_initial = None  # `limit` is not supported on a watch: ignored, as the server does
        if "sendInitialEvents" in q:
            send_initial = q["sendInitialEvents"].lower() == "true"
            problem = None
            if not self.watch_list:
                problem = ("sendInitialEvents", "sendInitialEvents is forbidden for watch "
                                                "unless the WatchList feature gate is enabled")
            elif rvm != "NotOlderThan":
                problem = ("resourceVersionMatch", "sendInitialEvents requires setting "
                                                   "resourceVersionMatch to NotOlderThan")
            elif send_initial and not bookmarks:
                problem = ("allowWatchBookmarks", "sendInitialEvents requires setting "
                                                  "allowWatchBookmarks to true")
            if problem:
                self.note("GET", target, 422, "watch-list refused")
                return h.send_json(422, _dump(invalid_list_options(*problem)))
        elif rvm:
            self.note("GET", target, 422)
            return h.send_json(422, _dump(invalid_list_options(
                "resourceVersionMatch", "resourceVersionMatch is forbidden for watch unless "
                                        "sendInitialEvents is provided")))
        elif rv in ("", "0") and self.watch_list:
            send_initial = True  # the server's defaulting with the WatchList gate on
        try:
            from_rv = None if rv in ("", "0") else int(rv)
        except ValueError:
            self.note("GET", target, 400)
            return h.send_json(400, _dump(status(400, "BadRequest",
                                                 f"invalid resource version: {rv!r}")))
        timeout = int(q["timeoutSeconds"]) if q.get("timeoutSeconds", "").isdigit() \
            else random.randint(1800, 3599)
        deadline = time.monotonic() + timeout
        out = h.start_stream()
        what = "watch-list" if send_initial and bookmarks else "watch"
        sent = 0
        ended = "client closed"
        try:
            if from_rv is not None and from_rv < c.ev.base_rv:
                # Compacted away: 200, one ERROR event, the end (the uncached etcd watcher).
                out.write(_dump({"type": "ERROR", "object": status(
                    410, "Expired", "The resourceVersion for the provided watch is too old.")}))
                out.end()
                ended = "timeoutSeconds"  # a clean end: the connection stays usable
                what = "ERROR 410"
                return
            if send_initial or from_rv is None:
                # Initial state: synthetic ADDED in key order, then (watch-list) the bookmark.
                count = c.created()
                order, _ = c.snapshot(count) if send_initial else ([], [])
                for s in order:
                    out.write(c.line(s))
                    sent += 1
                    if out.pending >= SEND_BYTES:
                        out.send()
                if send_initial and bookmarks:
                    out.write(_dump({"type": "BOOKMARK", "object": {
                        "kind": "Event", "apiVersion": "v1",
                        "metadata": {"resourceVersion": c.rv_of_count(count),
                                     "annotations": {"k8s.io/initial-events-end": "true"}},
                        # a zero-valued Event: the fields without omitempty (reference §1.8)
                        "involvedObject": {}, "source": {}, "firstTimestamp": None,
                        "lastTimestamp": None, "eventTime": None, "reportingComponent": "",
                        "reportingInstance": ""}}))
                out.flush()
                out.send()
                pos = count
            else:
                pos = max(0, from_rv - c.ev.base_rv)  # first seq with a larger RV
            c.start_timeline()
            sent += self._stream_live(out, pos, deadline)
            ended = self._idle(h, out, deadline)
        except _ClientGone as e:
            ended = str(e) or "client closed"
        except (OSError, ssl.SSLError) as e:
            ended = f"write failed: {e.__class__.__name__}"
        finally:
            self.note("GET", target, 200, f"{what}: {sent} events, {ended}")
            if ended != "timeoutSeconds":
                h.close_connection = True

    def _stream_live(self, out, pos, deadline):
        """Writes events pos.. as they are created; returns how many it wrote."""
        c = self.cluster
        total = c.ev.total
        start = pos
        while pos < total:
            now = time.monotonic()
            if now >= deadline:
                break
            avail = c.created(now)
            if pos >= avail:  # paced: wait for the next event's creation time
                if self.stop.wait(min(c.due(pos), deadline) - now):
                    raise _ClientGone("run ended")
                continue
            # Up to SEND_BYTES of the events that exist, in one socket write. Like the
            # server, flush (a short chunk) only when no more events are waiting.
            first = pos
            while pos < avail and out.pending < SEND_BYTES:
                out.write(c.line(pos))
                pos += 1
            if pos == avail:
                out.flush()
            c.mark_written(first, pos, time.monotonic())
            out.send()
        out.flush()
        out.send()
        return pos - start

    def _idle(self, h, out, deadline):
        """After the last event: keep the stream open until timeoutSeconds, a client close or
        the end of the run. Returns why it ended."""
        sock = h.connection
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                out.end()  # the server's timeout: a clean end (terminating chunk)
                return "timeoutSeconds"
            r, _, _ = select.select([sock, self._stop_r], [], [], left)
            if self._stop_r in r:
                raise _ClientGone("run ended")
            if sock in r:
                try:
                    data = sock.recv(4096)
                except (OSError, ssl.SSLError):
                    data = b""
                if not data:
                    raise _ClientGone("client closed")

    # -- reporting -------------------------------------------------------------------------

    def summary(self):
        """Requests grouped by method, path (pods collapsed) and query parameter names."""
        groups = {}
        for _, method, target, code, what in self.requests:
            url = urllib.parse.urlsplit(target)
            path = POD_PATH.sub("/api/v1/namespaces/{ns}/pods/{name}", url.path)
            params = sorted(urllib.parse.parse_qs(url.query, keep_blank_values=True))
            key = (method, path + ("?" + "&".join(params) if params else ""), code)
            g = groups.setdefault(key, [0, target, what])
            g[0] += 1
        return groups

    def write_log(self, path):
        with open(path, "w") as f:
            for t, method, target, code, what in self.requests:
                f.write(f"{t:9.3f} {method} {target} -> {code} {what}\n")


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, addr, handler, ctx, feeder):
        self.ctx = ctx
        self.feeder = feeder
        super().__init__(addr, handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, on the connection's own thread, not in accept().
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.feeder._lock:
            self.feeder.connections += 1
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            with self.feeder._lock:
                self.feeder.handshake_failures += 1
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (OSError, ssl.SSLError):
            pass  # the client went away mid-request
        finally:
            tls.close()

    def handle_error(self, request, client_address):
        pass  # disconnects are normal here (the exporter closes paused watches)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver"  # replaced: Go sends no Server header

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.server.feeder.handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _headers(self, code, extra=(), chunked=False, length=None):
        self.send_response_only(code)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Kubernetes-Pf-Flowschema-Uid", FLOW_SCHEMA_UID)
        self.send_header("X-Kubernetes-Pf-Prioritylevel-Uid", PRIORITY_LEVEL_UID)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Date", self.date_time_string())
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def send_json(self, code, body, extra=()):
        """body: bytes, or an iterable of byte pieces; framed as Go's net/http would."""
        pieces = [body] if isinstance(body, bytes) else body
        out = GoChunks(self.connection)
        first = b""
        for p in pieces:  # hold the start back: a body that fits the buffer gets a length
            if out.started:
                out.write(p)
                if out.pending >= SEND_BYTES:
                    out.send()
            elif len(first) + len(p) <= GO_BUFFER:
                first += p
            else:
                self._headers(code, extra, chunked=True)
                out.started = True
                out.write(first)
                out.write(p)
        if not out.started:
            self._headers(code, extra, length=len(first))
            self.wfile.write(first)
            return
        out.end()

    def start_stream(self):
        """The headers of a watch, sent at once (BeginStream); returns the body writer."""
        self._headers(200, chunked=True)
        out = GoChunks(self.connection)
        out.started = True
        return out


class GoChunks:
    """A chunked HTTP/1.1 body as Go's net/http writes it: a 2048-byte bufio.Writer in front
    of the chunk writer. A full buffer becomes one chunk; a write larger than the buffer
    while it is empty goes out as one chunk of its own; flush() makes what is buffered a
    chunk (http.Flusher). Framed chunks collect in memory until send() writes them in one
    socket write."""

    def __init__(self, sock):
        self.sock = sock
        self.started = False  # headers sent (send_json holds small bodies back)
        self.buf = bytearray()
        self.framed = []
        self.pending = 0  # bytes framed but not yet sent

    def _chunk(self, data):
        self.framed.append(b"%x\r\n" % len(data))
        self.framed.append(data)
        self.framed.append(b"\r\n")
        self.pending += len(data)

    def write(self, p):
        while len(p) > GO_BUFFER - len(self.buf):  # bufio.Writer.Write
            if not self.buf:
                self._chunk(bytes(p))  # large write, empty buffer: straight through
                return
            n = GO_BUFFER - len(self.buf)
            self.buf += p[:n]
            p = p[n:]
            self.flush()
        self.buf += p

    def flush(self):
        if self.buf:
            self._chunk(bytes(self.buf))
            self.buf.clear()

    def send(self):
        if self.framed:
            self.sock.sendall(b"".join(self.framed))
            self.framed.clear()
            self.pending = 0

    def end(self):
        """Flushes and writes the terminating chunk."""
        self.flush()
        self.framed.append(b"0\r\n\r\n")
        self.send()
