"""Building blocks of the chaos suite (test/chaos/run): a VictoriaLogs instance per scenario, the
exporter process, the sequence-numbered Event generator, the store count and a peak-RSS sampler.

Python 3 standard library only; the kube client and restart_apiserver() come from test/e2e.
Every process started here is registered and stopped on every exit path (cleanup_all(), also
run from atexit and on SIGINT/SIGTERM); a tmpfs mounted here is unmounted there too.
"""

import atexit
import base64
import collections
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "test", "e2e"))

import bed  # noqa: E402
from bed import ApiError, Kube, env, poll  # noqa: E402

CHART_MEMORY_LIMIT_MIB = 192  # the chart's default memory limit (resourcesPreset nano)

_procs = []       # every subprocess.Popen started by the suite
_mounts = []      # tmpfs mount points
_dirs = []        # temp dirs to remove at the end (unless KE_CHAOS_KEEP=1)
_keep = set()     # work dirs kept (failed scenarios)
_lock = threading.Lock()


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


_binary_copy = None


def binary():
    """The exporter binary, copied once per run into a temp dir (others may rebuild build/
    while the suite runs; every start of the suite's exporters uses the same build)."""
    global _binary_copy
    if _binary_copy is None:
        src = _find_binary()
        d = make_tmpdir("ke-chaos-bin-")
        _binary_copy = os.path.join(d, "kube-event-exporter")
        shutil.copy2(src, _binary_copy)
        log(f"exporter binary: {src} (copied to {_binary_copy})")
    return _binary_copy


def _find_binary():
    build = os.environ.get("KE_BUILD_DIR", os.path.join(REPO, "build"))
    for path in (os.environ.get("KE_BINARY", ""), os.path.join(build, "kube-event-exporter")):
        if path and os.access(path, os.X_OK):
            return path
    raise RuntimeError("exporter binary not found: build it (cmake --build build) or set KE_BINARY")


def tools_bin():
    return os.environ.get("KE_TOOLS_BIN", os.path.join(REPO, "test", "tools", "bin"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def register(p):
    with _lock:
        _procs.append(p)
    return p


def stop_process(p, sig=signal.SIGTERM, timeout=30):
    """Signals p (a Popen we started) and waits; SIGKILL after timeout. Returns the exit code."""
    if p.poll() is None:
        try:
            p.send_signal(sig)
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
        except ProcessLookupError:
            pass
    return p.returncode


def make_tmpdir(prefix):
    d = os.path.join(os.environ.get("KE_CHAOS_TMP", "/tmp"), f"{prefix}{uuid.uuid4().hex[:8]}")
    os.makedirs(d)
    with _lock:
        _dirs.append(d)
    return d


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", path],
                   check=True, capture_output=True, text=True)
    with _lock:
        _mounts.append(path)


def umount(path):
    for _ in range(20):
        r = subprocess.run(["umount", path], capture_output=True, text=True)
        if r.returncode == 0 or not os.path.ismount(path):
            break
        time.sleep(0.25)
    else:
        subprocess.run(["umount", "-l", path], capture_output=True)
    with _lock:
        if path in _mounts:
            _mounts.remove(path)


def stop_all():
    """Kills every process the suite started and unmounts its tmpfs mounts."""
    with _lock:
        procs, mounts = list(_procs), list(_mounts)
        _procs.clear()
    for p in procs:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
    for m in mounts:
        umount(m)


def remove_dirs(keep=()):
    """Removes the work dirs (except `keep`, and all of them with KE_CHAOS_KEEP=1)."""
    _keep.update(keep)
    if os.environ.get("KE_CHAOS_KEEP") == "1":
        return
    keep = set(_keep)
    with _lock:
        dirs = [d for d in _dirs if d not in keep]
        _dirs[:] = [d for d in _dirs if d in keep]
    for d in dirs:
        if not any(os.path.ismount(os.path.join(r, x)) for r, ds, _ in os.walk(d) for x in ds):
            shutil.rmtree(d, ignore_errors=True)


def cleanup_all():
    stop_all()
    remove_dirs(_keep)


atexit.register(cleanup_all)


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


# ---------------------------------------------------------------------------------------------
# Peak RSS

def vm_hwm_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssSampler:
    """Polls VmHWM (the kernel's peak RSS) of the watched pids; keeps the maximum seen."""

    def __init__(self, interval=0.1):
        self.pids = set()
        self.peak = 0.0
        self.interval = interval
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def watch(self, pid):
        self.pids.add(pid)
        self.sample()

    def sample(self):
        for pid in list(self.pids):
            v = vm_hwm_mib(pid)
            if v > self.peak:
                self.peak = v

    def _run(self):
        while not self._stop.wait(self.interval):
            self.sample()

    def close(self):
        self._stop.set()
        self._t.join(timeout=5)
        self.sample()


# ---------------------------------------------------------------------------------------------
# VictoriaLogs, one per scenario

class VictoriaLogs:
    """A VictoriaLogs instance of its own: own port, own data dir. stop()/start() give a store
    outage without touching the bed's instance or other tests."""

    def __init__(self, workdir):
        self.port = free_port()
        self.data = os.path.join(workdir, "vlogs-data")
        self.log_path = os.path.join(workdir, "vlogs.log")
        self.url = f"http://127.0.0.1:{self.port}"
        self.push_url = f"{self.url}/insert/loki/api/v1/push"
        self.p = None
        self.start()

    def start(self, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, "a") as logf:
                self.p = register(subprocess.Popen(
                    [os.path.join(tools_bin(), "victoria-logs"), f"-storageDataPath={self.data}",
                     f"-httpListenAddr=127.0.0.1:{self.port}", "-retentionPeriod=7d",
                     "-loggerLevel=WARN"], stdout=logf, stderr=logf, start_new_session=True))
            try:
                poll(lambda: self.p.poll() is not None or self.healthy(),
                     max(1.0, deadline - time.monotonic()), 0.1, "victoria-logs /health")
            except AssertionError:
                stop_process(self.p, signal.SIGKILL)
                raise
            if self.healthy():
                return
            # Exited: most likely the port is still held by the old instance's sockets.
            if time.monotonic() > deadline:
                raise RuntimeError(f"victoria-logs did not start on port {self.port}: "
                                   f"{read_tail(self.log_path)}")
            time.sleep(0.5)

    def healthy(self):
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
                return r.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def stop(self):
        if self.p is not None:
            stop_process(self.p, signal.SIGTERM, timeout=30)

    def query(self, q, limit=10_000_000, timeout=60):
        body = urllib.parse.urlencode({"query": q, "limit": str(limit)}).encode()
        req = urllib.request.Request(f"{self.url}/select/logsql/query", data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
        return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]


def read_tail(path, n=3000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------------
# The exporter

class Exporter:
    """One exporter process with a Loki receiver pointed at the scenario's VictoriaLogs.

    The config is written once (start() may be called again after a kill: same config, same
    spool, same checkpoint)."""

    def __init__(self, workdir, name, ns, vlogs, checkpoint=None, spool_dir=None,
                 spool_max="64MiB", max_queued="64MiB", queue_max=10000, on_full="block",
                 leader_id=None, extra="", sampler=None):
        self.name = name
        self.workdir = workdir
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.conf = os.path.join(workdir, f"{name}.yaml")
        self.metrics_port = free_port()
        self.sampler = sampler
        self.p = None
        self.starts = 0
        ck = ""
        if checkpoint:
            ck = "checkpoint:\n" + "".join(f"  {k}: {v}\n" for k, v in checkpoint.items())
        le = (f"leaderElection:\n  enabled: true\n  leaderElectionID: {leader_id}\n"
              if leader_id else "")
        spool = (f"      spool:\n        dir: {spool_dir}\n        maxBytes: {spool_max}\n"
                 if spool_dir else "")
        with open(self.conf, "w") as f:
            f.write(f"""# chaos scenario {name} (test/chaos)
logLevel: info
logFormat: json
namespace: {ns}
kubeQPS: 50
kubeBurst: 100
{le}{ck}{extra}route:
  routes:
    - match:
        - receiver: loki
receivers:
  - name: loki
    queue:
      maxRecords: {queue_max}
      onFull: {on_full}
    loki:
      url: {vlogs.push_url}
      streamLabels:
        job: kubernetes-event
        chaos_run: "{ns}"
      labels: [namespace, type, reason]
      batchWait: 200ms
      maxBackoff: 5s
      maxQueuedBytes: {max_queued}
{spool}""")

    def start(self, ready="listed", timeout=60):
        self.starts += 1
        with open(self.log_path, "a") as logf:
            logf.write(f"\n===== chaos: start #{self.starts} at {time.strftime('%H:%M:%S')} =====\n")
            logf.flush()
            self.p = register(subprocess.Popen(
                [binary(), "-conf", self.conf, "-kubeconfig", env("KUBECONFIG"),
                 "-metrics-address", f"127.0.0.1:{self.metrics_port}"],
                stdout=logf, stderr=logf, start_new_session=True))
        if self.sampler:
            self.sampler.watch(self.p.pid)
        self._log_offset_at_start = self._log_size_before()
        if ready:
            self.wait_log(ready, timeout)
        return self

    def _log_size_before(self):
        # The offset of this start's section in the (appended) log.
        text = read_all(self.log_path)
        return text.rfind("===== chaos: start #")

    def this_run_log(self):
        text = read_all(self.log_path)
        return text[max(0, self._log_offset_at_start):]

    def wait_log(self, needle, timeout=60):
        poll(lambda: (self.p.poll() is None or self._died()) and needle in self.this_run_log(),
             timeout, 0.05, f"{needle!r} in {self.name}'s log")

    def _died(self):
        raise AssertionError(f"{self.name} exited with {self.p.returncode}: "
                             f"{self.this_run_log()[-2000:]}")

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def kill(self, sig=signal.SIGKILL, timeout=40):
        if self.sampler:
            self.sampler.sample()
        return stop_process(self.p, sig, timeout)

    def metrics(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                        timeout=5) as r:
                return r.read().decode()
        except (OSError, urllib.error.URLError):
            return ""

    def metric_sum(self, name_substr):
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith("#"):
                continue
            m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
            if m and name_substr in m.group(1):
                try:
                    total += float(m.group(3))
                except ValueError:
                    pass
        return total


def read_all(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------------
# The Event generator

def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_namespace(kube, prefix):
    ns = f"{prefix}-{uuid.uuid4().hex[:6]}"
    kube.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                     "metadata": {"name": ns}})
    return ns


class Generator:
    """Creates core/v1 Events `chaos.<seq>` with message `seq=<n>` at a steady rate in one
    namespace, from one thread. A seq counts as created when the API answered 201, or 409 on a
    retry (created before the connection broke). created[seq] = monotonic time of the answer."""

    def __init__(self, ns, rate=8.0, pad_bytes=0):
        self.ns = ns
        self.rate = rate
        self.pad_bytes = pad_bytes
        self.created = {}           # seq -> monotonic time the API confirmed it
        self.errors = collections.Counter()
        self.pod_uid = str(uuid.uuid4())
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True, name=f"gen-{ns}")
        self.next_seq = 0

    def start(self):
        self._t.start()
        return self

    def event(self, seq):
        msg = f"seq={seq}"
        if self.pad_bytes:
            msg += " pad=" + os.urandom(self.pad_bytes // 2).hex()
        return {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"chaos.{seq:07d}", "namespace": self.ns},
                "involvedObject": {"kind": "Pod", "apiVersion": "v1", "namespace": self.ns,
                                   "name": "chaos-pod", "uid": self.pod_uid},
                "reason": "ChaosTick", "message": msg, "type": "Normal", "count": 1,
                "source": {"component": "chaos-generator"},
                "firstTimestamp": now_rfc3339(), "lastTimestamp": now_rfc3339()}

    def _create(self, kube, seq):
        """Returns True once seq exists (201 or 409), False if stopped before that."""
        body = self.event(seq)
        while True:
            try:
                kube.post(f"/api/v1/namespaces/{self.ns}/events", body)
                return True
            except ApiError as e:
                if e.status == 409:
                    return True
                self.errors[f"http {e.status}"] += 1
            except OSError as e:
                self.errors[type(e).__name__] += 1
            if self._stop.is_set():
                # In doubt: does it exist?
                try:
                    kube.get(f"/api/v1/namespaces/{self.ns}/events/chaos.{seq:07d}")
                    return True
                except (ApiError, OSError):
                    return False
            time.sleep(0.2)

    def _run(self):
        kube = Kube()
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while not self._stop.is_set():
            seq = self.next_seq
            if self._create(kube, seq):
                self.created[seq] = time.monotonic()
                self.next_seq += 1
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            elif delay < -1.0:
                next_at = time.monotonic()  # after an outage: no burst to catch up

    def stop(self):
        self._stop.set()
        self._t.join(timeout=60)

    def first_created_after(self, t):
        for seq in sorted(self.created):
            if self.created[seq] >= t:
                return seq
        return None


# ---------------------------------------------------------------------------------------------
# Counting in the store

SEQ_RE = re.compile(r"^seq=(\d+)(?:\s|$)")


def seq_of(row):
    msg = row.get("message")
    if msg is None:
        msg = row.get("_msg", "")
    m = SEQ_RE.match(msg)
    return int(m.group(1)) if m else None


class Count:
    def __init__(self, created, rows):
        created_set = set(created)
        by_seq = collections.defaultdict(list)
        for row in rows:
            s = seq_of(row)
            if s is not None:
                by_seq[s].append(json.dumps(row, sort_keys=True))
        self.sent = len(created_set)
        self.rows = sum(len(v) for v in by_seq.values())
        self.stored = len(created_set & set(by_seq))
        self.lost_seqs = sorted(created_set - set(by_seq))
        self.unexpected = sorted(set(by_seq) - created_set)
        # duplicated: a seq stored more than once with DIFFERENT rows (Loki keeps those too);
        # redelivered: extra identical copies (same _time, stream and line), Loki drops them.
        self.duplicated_seqs = sorted(s for s, v in by_seq.items() if len(set(v)) > 1)
        self.redelivered = sum(len(v) - len(set(v)) for v in by_seq.values())
        self.lost = len(self.lost_seqs)
        self.duplicated = len(self.duplicated_seqs)


def store_seqs(vlogs, ns):
    """The set of seqs present in the store (cheap form of the query, for polling)."""
    rows = vlogs.query(f'{{chaos_run="{ns}"}} | fields message, _msg', timeout=20)
    return {s for s in (seq_of(r) for r in rows) if s is not None}, len(rows)


def count(vlogs, ns, created):
    rows = vlogs.query(f'{{chaos_run="{ns}"}}')
    return Count(created, rows)


def wait_quiescent(vlogs, ns, gen, timeout, stable=3.0, give_up=30.0):
    """Polls the store until every created seq is there and the row count has not changed for
    `stable` seconds; returns True then. Returns False when seqs are still missing but nothing
    has arrived for `give_up` seconds (the sink retries at least every 5 s: maxBackoff), or at
    timeout; the count then shows what is missing."""
    deadline = time.monotonic() + timeout
    last_n, since = -1, time.monotonic()
    want = set(gen.created)
    while time.monotonic() < deadline:
        try:
            seqs, n = store_seqs(vlogs, ns)
        except (OSError, urllib.error.URLError, ValueError):
            seqs, n = set(), -2
        if n != last_n:
            last_n, since = n, time.monotonic()
        elif want <= seqs and time.monotonic() - since >= stable:
            return True
        elif time.monotonic() - since >= give_up:
            return False
        time.sleep(0.25)
    return False


def measure_recovery(vlogs, ns, gen, t_end, timeout):
    """Seconds from t_end (monotonic) until the first seq created at or after t_end is in the
    store; None if it did not show within timeout. The generator must be running."""
    deadline = t_end + timeout
    while time.monotonic() < deadline:
        first = gen.first_created_after(t_end)
        if first is not None:
            try:
                seqs, _ = store_seqs(vlogs, ns)
            except (OSError, urllib.error.URLError, ValueError):
                seqs = set()
            if any(s >= first for s in seqs):
                return time.monotonic() - t_end
        time.sleep(0.2)
    return None


# ---------------------------------------------------------------------------------------------
# etcd (the bed's), through its JSON gateway

def etcd_post(path, body):
    url = env("TESTBED_ETCD_URL") + path
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def etcd_revision():
    r = etcd_post("/v3/kv/range", {"key": base64.b64encode(b"/").decode(), "limit": 1,
                                   "keys_only": True})
    return int(r["header"]["revision"])


def etcd_compact(revision):
    return etcd_post("/v3/kv/compaction", {"revision": str(revision), "physical": True})
