"""Clients for the e2e test bed (scripts/testbed), standard library only.

Reads the env that `scripts/testbed up` writes ($TESTBED_DIR/env, sourced by test/e2e/run):
KUBE_APISERVER_URL, KUBE_CA_FILE, KUBE_ADMIN_CERT, KUBE_ADMIN_KEY, VLOGS_URL, PROMETHEUS_URL,
PUSHGATEWAY_URL, PROMETHEUS_FILE_SD_DIR, HELM_BIN, KUBECONFIG.
"""

import base64
import http.client
import json
import os
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

REQUIRED_ENV = (
    "KUBECONFIG", "KUBE_APISERVER_URL", "KUBE_CA_FILE", "KUBE_ADMIN_CERT", "KUBE_ADMIN_KEY",
    "VLOGS_URL", "PROMETHEUS_URL", "PUSHGATEWAY_URL", "PROMETHEUS_FILE_SD_DIR", "HELM_BIN",
    "TESTBED_DIR",
)


def env(name):
    value = os.environ.get(name)
    if not value:
        # Never skip: a missing bed is a failure with a reason.
        raise RuntimeError(
            f"{name} is not set: the test bed is not up. Run scripts/testbed up, then test/e2e/run")
    return value


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body[:500]!r}")
        self.status = status
        self.body = body


class Kube:
    """A raw HTTPS client for kube-apiserver: TLS with the bed's CA, client-cert or bearer auth."""

    def __init__(self, token=None, client_cert=True):
        url = urllib.parse.urlsplit(env("KUBE_APISERVER_URL"))
        self.host, self.port = url.hostname, url.port
        self.ctx = ssl.create_default_context(cafile=env("KUBE_CA_FILE"))
        if client_cert and token is None:
            self.ctx.load_cert_chain(env("KUBE_ADMIN_CERT"), env("KUBE_ADMIN_KEY"))
        self.token = token

    def conn(self, timeout=30):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)

    def headers(self, extra=None):
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(extra or {})
        return h

    def request(self, method, path, body=None, expect=(200, 201), content_type="application/json"):
        c = self.conn()
        try:
            data = None if body is None else json.dumps(body).encode()
            c.request(method, path, body=data,
                      headers=self.headers({"Content-Type": content_type} if data else None))
            r = c.getresponse()
            raw = r.read()
            if expect and r.status not in expect:
                raise ApiError(r.status, raw.decode(errors="replace"))
            return r.status, (json.loads(raw) if raw and raw[:1] in (b"{", b"[") else raw)
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)[1]

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)[1]

    def watch(self, path, timeout=60):
        """Yields decoded watch events ({"type":..., "object":...}) from a JSON watch stream.

        http.client undoes the chunked transfer encoding; each event is one JSON document
        followed by a newline (kube-apiserver's JSON watch framing)."""
        c = self.conn(timeout=timeout)
        try:
            c.request("GET", path, headers=self.headers())
            r = c.getresponse()
            if r.status != 200:
                raise ApiError(r.status, r.read().decode(errors="replace"))
            while True:
                line = r.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        finally:
            c.close()


def http_json(url, data=None, headers=None, method=None, timeout=15):
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        raw = r.read()
        return r.status, raw


def poll(fn, timeout, interval=0.5, what="condition"):
    """Calls fn() until it returns a truthy value; raises AssertionError after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
            last = v
        except (OSError, urllib.error.URLError, ApiError, ValueError) as e:  # not up yet
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


def service_account_token(kube, ns, sa, seconds=3600):
    """A bound token for ns/sa from the TokenRequest API."""
    return kube.post(f"/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token",
                     {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                      "spec": {"expirationSeconds": seconds}})["status"]["token"]


def service_account_kubeconfig(kube, tmp, ns, sa):
    """A kubeconfig for the bed as ns/sa (token from TokenRequest, read through tokenFile, as
    in a pod); the context's namespace plays the pod's namespace. Returns (token, path)."""
    token = service_account_token(kube, ns, sa)
    token_file = os.path.join(tmp, f"{ns}-{sa}.token")
    with open(token_file, "w") as f:
        f.write(token)
    with open(env("KUBE_CA_FILE"), "rb") as f:
        ca = base64.b64encode(f.read()).decode()
    kubeconfig = os.path.join(tmp, f"{ns}-{sa}.kubeconfig")
    with open(kubeconfig, "w") as f:
        f.write(f"""apiVersion: v1
kind: Config
current-context: sa
clusters:
- name: bed
  cluster: {{server: "{env('KUBE_APISERVER_URL')}", certificate-authority-data: {ca}}}
users:
- name: sa
  user: {{tokenFile: {token_file}}}
contexts:
- name: sa
  context: {{cluster: bed, user: sa, namespace: {ns}}}
""")
    return token, kubeconfig


def flood(targets, connections, size):
    """Hostile clients: `connections` per (port, path) in targets, each POSTing a Content-Length
    of `size` bytes without credentials; every other one sends the whole body as fast as it goes
    (the server answers, drains a little and closes, so its end may be a reset), the rest only
    the header and wait for the answer (a server that waited for the body would never answer).
    Returns (port, sent_body, status) per connection: the HTTP status, "reset", or the error."""
    body = b"x" * size
    codes, lock = [], threading.Lock()

    def attack(port, path, send_body):
        status = "no answer"
        try:
            with socket.create_connection(("127.0.0.1", port), 10) as s:
                s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n"
                          .encode())
                if send_body:
                    try:
                        s.sendall(body)
                    except OSError:
                        pass
                s.settimeout(30)
                head = s.recv(64)
                if head:
                    status = head.split(b" ")[1].decode()
        except OSError as e:
            status = "reset" if send_body and isinstance(e, ConnectionError) else type(e).__name__
        with lock:
            codes.append((port, send_body, status))

    threads = [threading.Thread(target=attack, args=(port, path, i % 2 == 0))
               for port, path in targets for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes
