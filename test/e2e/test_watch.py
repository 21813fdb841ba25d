"""e2e tests of the Kubernetes watch (issue 4) on the real test bed. Run with test/e2e/run.

The exporter binary runs with a file receiver against the bed's kube-apiserver:
  - 1,000 Events created through the API each reach the file exactly once; a count bump gives
    exactly one more record; an update without a count change and a delete give none;
  - kube-apiserver killed and restarted while Events are being created: none lost, none repeated;
  - as a ServiceAccount bound to a ClusterRole with only get/list/watch on events and get on
    deployments (token from the TokenRequest API, read through tokenFile): works, enriches.
Measured rates are printed (stderr).

The binary: $KE_BINARY, else $KE_BUILD_DIR/kube-event-exporter (KE_BUILD_DIR defaults to build).
"""

import collections
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import bed
from bed import ApiError, Kube, env, poll, service_account_kubeconfig

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def binary():
    build = os.environ.get("KE_BUILD_DIR", os.path.join(REPO, "build"))
    candidates = [os.environ.get("KE_BINARY", ""), os.path.join(build, "kube-event-exporter")]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    raise RuntimeError(f"exporter binary not found (tried {candidates[1:]}): build it "
                       "(cmake --build build) or set KE_BINARY")


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(ns, name, dep, count=1, reason="ScalingReplicaSet"):
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": {"kind": "Deployment", "apiVersion": "apps/v1", "namespace": ns,
                               "name": dep["metadata"]["name"], "uid": dep["metadata"]["uid"]},
            "reason": reason, "message": f"{reason} {name}", "type": "Normal", "count": count,
            "source": {"component": "deployment-controller"},
            "firstTimestamp": now(), "lastTimestamp": now()}


def post_events(ns, dep, names, threads=8):
    """Creates the Events from several threads; returns the names created."""
    errors = []

    def work(chunk):
        k = Kube()
        for n in chunk:
            try:
                k.post(f"/api/v1/namespaces/{ns}/events", event(ns, n, dep))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
    ts = [threading.Thread(target=work, args=(names[i::threads],)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


class Exporter:
    """The exporter with a file receiver; records() reads what it shipped."""

    def __init__(self, tmp, kubeconfig, namespace, name="exporter", extra="", ready="listed",
                 receivers=None):
        """extra: more top-level config; receivers: {name: YAML of its sink}, shipped to besides
        the file receiver."""
        receivers = receivers or {}
        matches = "".join(f"        - receiver: {n}\n" for n in ["file", *receivers])
        more = "".join(f"  - name: {n}\n{sink}" for n, sink in receivers.items())
        self.out = os.path.join(tmp, f"{name}.jsonl")
        self.log_path = os.path.join(tmp, f"{name}.log")
        conf = os.path.join(tmp, f"{name}.yaml")
        with open(conf, "w") as f:
            f.write(f"""logLevel: info
logFormat: json
maxEventAgeSeconds: 3600
namespace: {namespace}
kubeQPS: 50
kubeBurst: 100
route:
  routes:
    - match:
{matches}receivers:
  - name: file
    file:
      path: {self.out}
{more}{extra}""")
        self.log = open(self.log_path, "w")
        self.p = subprocess.Popen([binary(), "-conf", conf, "-kubeconfig", kubeconfig,
                                   "-metrics-address", "127.0.0.1:0"],
                                  stdout=self.log, stderr=self.log)
        poll(lambda: self.p.poll() is None and ready in self.read_log(), 60, 0.05,
             f"{ready!r} in the exporter's log")

    def read_log(self):
        return read(self.log_path)

    def records(self):
        if not os.path.exists(self.out):
            return []
        with open(self.out) as f:
            return [json.loads(line) for line in f if line.strip()]

    def wait(self, n, timeout=120):
        return poll(lambda: len(self.records()) >= n and self.records(), timeout, 0.05,
                    f"{n} records")

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            self.p.wait(timeout=30)
        self.log.close()
        return self.p.returncode


def read(path):
    with open(path) as f:
        return f.read()


def restart_apiserver(kill=signal.SIGKILL):
    """Kills kube-apiserver and starts it again with the same arguments (recorded in the bed's
    pid file, so scripts/testbed down stops it); returns the seconds until it was ready again."""
    tb = env("TESTBED_DIR")
    pid = int(read(f"{tb}/pids/kube-apiserver"))
    args = read(f"/proc/{pid}/cmdline").split("\0")[:-1]
    t0 = time.monotonic()
    os.kill(pid, kill)
    while os.path.exists(f"/proc/{pid}") and read(f"/proc/{pid}/stat").split()[2] != "Z":
        time.sleep(0.02)
    log = f"{tb}/logs/kube-apiserver.log"
    kube = Kube()

    def ready():
        try:
            return kube.get("/readyz", expect=(200,)) == b"ok"
        except (OSError, ApiError):
            return False
    # The killed server's sockets may still hold the port for a moment (bind: address already in
    # use): start again until it serves.
    deadline = time.monotonic() + 120
    while True:
        new_pid = os.posix_spawn(args[0], args, os.environ, setsid=True, file_actions=[
            (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2)])
        with open(f"{tb}/pids/kube-apiserver", "w") as f:
            f.write(str(new_pid))
        exited = lambda: os.waitpid(new_pid, os.WNOHANG) != (0, 0)  # noqa: E731
        poll(lambda: ready() or exited(), max(1.0, deadline - time.monotonic()), 0.1,
             "kube-apiserver ready")
        if ready():
            return time.monotonic() - t0
        if time.monotonic() > deadline:
            raise AssertionError("kube-apiserver did not come back")
        time.sleep(0.5)


class WatchE2ETest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kube = Kube()
        cls.tmp = tempfile.mkdtemp(prefix="ke-e2e-watch-")

    def namespace_with_deployment(self, name):
        ns = f"ke-watch-{uuid.uuid4().hex[:8]}"
        self.kube.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": ns}})
        dep = self.kube.post(f"/apis/apps/v1/namespaces/{ns}/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": {"app": name, "tier": "web"},
                         "annotations": {"team": "a"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}})
        return ns, dep

    def test_thousand_events_exactly_once_and_count_bump(self):
        ns, dep = self.namespace_with_deployment("web")
        ex = Exporter(self.tmp, env("KUBECONFIG"), ns, "thousand")
        try:
            names = [f"web.{i:05d}" for i in range(1000)]
            t0 = time.monotonic()
            post_events(ns, dep, names)
            created = time.monotonic() - t0
            ex.wait(1000)
            shipped = time.monotonic() - t0
            recs = ex.records()
            counts = collections.Counter(r["metadata"]["name"] for r in recs)
            self.assertEqual(set(counts), set(names))
            self.assertEqual([n for n, c in counts.items() if c != 1], [])
            self.assertEqual(recs[0]["involvedObject"]["labels"], {"app": "web", "tier": "web"})
            self.assertEqual(recs[0]["involvedObject"]["deleted"], False)
            print(f"\n  1000 events created in {created:.2f}s ({1000 / created:.0f}/s through "
                  f"kube-apiserver); all shipped {shipped - created:.2f}s after the last create",
                  file=sys.stderr)

            # A repeat (count 1 -> 2): exactly one more record.
            e = self.kube.get(f"/api/v1/namespaces/{ns}/events/web.00007")
            e["count"], e["lastTimestamp"] = 2, now()
            self.kube.request("PUT", f"/api/v1/namespaces/{ns}/events/web.00007", e)
            recs = ex.wait(1001)
            self.assertEqual((recs[1000]["metadata"]["name"], recs[1000]["count"]),
                             ("web.00007", 2))
            # An update without a count change and a delete: nothing. A marker event proves the
            # exporter has seen both by the time it arrives.
            e = self.kube.get(f"/api/v1/namespaces/{ns}/events/web.00008")
            e["message"] = "edited"
            self.kube.request("PUT", f"/api/v1/namespaces/{ns}/events/web.00008", e)
            self.kube.request("DELETE", f"/api/v1/namespaces/{ns}/events/web.00009",
                              expect=(200,))
            self.kube.post(f"/api/v1/namespaces/{ns}/events", event(ns, "marker", dep))
            recs = ex.wait(1002)
            time.sleep(0.5)  # e2e only: room for a wrong extra record to show up
            recs = ex.records()
            self.assertEqual(len(recs), 1002)
            self.assertEqual(recs[-1]["metadata"]["name"], "marker")
        finally:
            self.assertEqual(ex.stop(), 0, ex.read_log()[-3000:])

    def test_apiserver_restart_mid_stream_loses_and_repeats_nothing(self):
        ns, dep = self.namespace_with_deployment("api")
        ex = Exporter(self.tmp, env("KUBECONFIG"), ns, "restart")
        created, stop = [], threading.Event()

        def creator():
            k = Kube()
            i = 0
            while not stop.is_set() and i < 400:
                name = f"api.{i:05d}"
                try:
                    k.post(f"/api/v1/namespaces/{ns}/events", event(ns, name, dep))
                except ApiError as e:
                    if e.status != 409:  # 409: it was created before the connection broke
                        time.sleep(0.05)
                        continue
                except OSError:
                    time.sleep(0.05)
                    continue
                created.append(name)
                i += 1
        th = threading.Thread(target=creator)
        try:
            th.start()
            poll(lambda: len(created) >= 150, 60, 0.01, "150 events created")
            down = restart_apiserver()
            th.join(timeout=240)
            self.assertEqual(len(created), 400)
            ex.wait(400, timeout=180)
            time.sleep(0.5)  # e2e only: room for a duplicate to show up
            counts = collections.Counter(r["metadata"]["name"] for r in ex.records())
            self.assertEqual(set(counts), set(created), "lost or unexpected events")
            self.assertEqual([n for n, c in counts.items() if c != 1], [], "repeated events")
            print(f"\n  kube-apiserver killed and back after {down:.1f}s; 400/400 events "
                  "shipped once", file=sys.stderr)
        finally:
            stop.set()
            th.join(timeout=10)
            self.assertEqual(ex.stop(), 0, ex.read_log()[-3000:])

    def test_service_account_with_minimal_rbac(self):
        ns, dep = self.namespace_with_deployment("rb")
        sa, role = "exporter", f"ke-watch-{ns}"
        k = self.kube
        k.post(f"/api/v1/namespaces/{ns}/serviceaccounts",
               {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa}})
        k.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": role},
            "rules": [{"apiGroups": [""], "resources": ["events"],
                       "verbs": ["get", "list", "watch"]},
                      {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]})
        k.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": role},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]})
        _, kubeconfig = service_account_kubeconfig(k, self.tmp, ns, sa)
        ex = Exporter(self.tmp, kubeconfig, ns, "rbac")
        try:
            post_events(ns, dep, [f"rb.{i:03d}" for i in range(50)], threads=4)
            recs = ex.wait(50)
            self.assertEqual(len({r["metadata"]["name"] for r in recs}), 50)
            self.assertTrue(all(r["involvedObject"].get("labels") == {"app": "rb", "tier": "web"}
                                for r in recs))
        finally:
            self.assertEqual(ex.stop(), 0, ex.read_log()[-3000:])

    def test_leader_election_one_replica_exports_and_hands_over(self):
        ns, dep = self.namespace_with_deployment("le")
        lease = f"ke-e2e-{ns}"
        extra = f"leaderElection:\n  enabled: true\n  leaderElectionID: {lease}\n"
        a = Exporter(self.tmp, env("KUBECONFIG"), ns, "le-a", extra, "leading, starting")
        b = Exporter(self.tmp, env("KUBECONFIG"), ns, "le-b", extra, "leader election: Lease")
        try:
            path = f"/apis/coordination.k8s.io/v1/namespaces/default/leases/{lease}"
            holder = self.kube.get(path)["spec"]["holderIdentity"]
            self.assertIn(f" as {holder}", a.read_log())
            first = [f"le.a{i:02d}" for i in range(20)]
            post_events(ns, dep, first, threads=4)
            a.wait(20)
            self.assertNotIn("leading, starting", b.read_log())
            self.assertEqual(b.records(), [])

            t0 = time.monotonic()
            self.assertEqual(a.stop(), 0, a.read_log()[-3000:])  # releases the Lease
            poll(lambda: "leading, starting" in b.read_log(), 30, 0.05, "b leading")
            handover = time.monotonic() - t0
            self.assertNotEqual(self.kube.get(path)["spec"]["holderIdentity"], holder)
            second = [f"le.b{i:02d}" for i in range(20)]
            post_events(ns, dep, second, threads=4)
            poll(lambda: set(second) <= {r["metadata"]["name"] for r in b.records()}, 60, 0.05,
                 "b ships the events created after the handover")
            counts = collections.Counter(r["metadata"]["name"] for r in b.records())
            self.assertEqual([n for n, c in counts.items() if c != 1], [])
            self.assertEqual(collections.Counter(r["metadata"]["name"] for r in a.records()),
                             collections.Counter(first))
            print(f"\n  leader handover after SIGTERM (Lease released): {handover:.2f}s",
                  file=sys.stderr)
        finally:
            a.stop()
            self.assertEqual(b.stop(), 0, b.read_log()[-3000:])


if __name__ == "__main__":
    unittest.main()
