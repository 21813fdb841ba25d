"""Smoke tests on the real test bed (scripts/testbed up). Run with test/e2e/run.

Each test proves one peer works as the exporter's tests will use it:
  kube-apiserver: TLS + client-cert auth + RBAC, namespace/Pod/100 core/v1 Events created through the
                  API, listed back and read from a JSON watch stream; TokenRequest + RBAC for a
                  service account (the exporter's in-cluster identity).
  VictoriaLogs:   100 lines pushed to the Loki push endpoint (JSON), read back with LogsQL.
  helm:           lint of a minimal chart; install/uninstall of it against the bed.
  Prometheus:     scrapes a target registered through the file_sd dir, and the Pushgateway.
"""

import datetime
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid

import bed
from bed import ApiError, Kube, env, http_json, poll

N_EVENTS = 100
N_LINES = 100
HERE = os.path.dirname(os.path.abspath(__file__))


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class KubeApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kube = Kube()
        cls.ns = f"ke-e2e-{uuid.uuid4().hex[:8]}"
        cls.kube.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                             "metadata": {"name": cls.ns}})
        # The ServiceAccount admission plugin needs the namespace's "default" ServiceAccount before
        # a Pod can be created; without a controller-manager nobody else makes it.
        cls.kube.post(f"/api/v1/namespaces/{cls.ns}/serviceaccounts",
                      {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}})

    def test_version_and_tls(self):
        v = self.kube.get("/version")
        self.assertRegex(v["gitVersion"], r"^v1\.\d+\.\d+")
        self.assertGreaterEqual(int(v["minor"].rstrip("+")), 34)

    def test_anonymous_is_denied(self):
        anon = Kube(client_cert=False)
        status, body = anon.request("GET", f"/api/v1/namespaces/{self.ns}/events", expect=None)
        self.assertIn(status, (401, 403), body)

    def test_pod_and_100_events_list_and_watch(self):
        k, ns = self.kube, self.ns
        pod = k.post(f"/api/v1/namespaces/{ns}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "smoke-pod", "labels": {"app": "smoke"}},
            "spec": {"containers": [{"name": "c", "image": "registry.invalid/none:0"}]},
        })
        self.assertEqual(pod["spec"]["serviceAccountName"], "default")
        start_rv = k.get(f"/api/v1/namespaces/{ns}/events")["metadata"]["resourceVersion"]

        seen, errors = {}, []

        def watcher():
            try:
                q = urllib.parse.urlencode({"watch": "1", "resourceVersion": start_rv, "timeoutSeconds": "90"})
                for ev in k.watch(f"/api/v1/namespaces/{ns}/events?{q}", timeout=100):
                    if ev["type"] == "ERROR":
                        errors.append(ev)
                        return
                    seen[ev["object"]["metadata"]["name"]] = ev
                    if len(seen) >= N_EVENTS:
                        return
            except Exception as e:  # reported by the main thread
                errors.append(e)

        t = threading.Thread(target=watcher, daemon=True)
        t.start()

        involved = {"apiVersion": "v1", "kind": "Pod", "namespace": ns, "name": "smoke-pod",
                    "uid": pod["metadata"]["uid"], "resourceVersion": pod["metadata"]["resourceVersion"]}
        ts = now_rfc3339()
        t0 = time.monotonic()
        for i in range(N_EVENTS):
            k.post(f"/api/v1/namespaces/{ns}/events", {
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"smoke-pod.{i:04d}", "labels": {"e2e": "smoke"}},
                "involvedObject": involved,
                "reason": "SmokeTest", "message": f"smoke event {i}",
                "type": "Warning" if i % 10 == 0 else "Normal",
                "source": {"component": "ke-e2e"},
                "reportingComponent": "ke-e2e", "reportingInstance": "e2e-runner",
                "firstTimestamp": ts, "lastTimestamp": ts, "count": 1,
            })
        create_s = time.monotonic() - t0

        t.join(60)
        self.assertFalse(errors, errors)
        self.assertEqual(len(seen), N_EVENTS, f"watch delivered {len(seen)} of {N_EVENTS}")
        self.assertEqual({e["type"] for e in seen.values()}, {"ADDED"})
        ev0 = seen["smoke-pod.0000"]["object"]
        self.assertEqual((ev0["kind"], ev0["apiVersion"]), ("Event", "v1"))
        self.assertEqual(ev0["involvedObject"]["uid"], pod["metadata"]["uid"])

        lst = k.get(f"/api/v1/namespaces/{ns}/events")
        self.assertEqual(lst["kind"], "EventList")
        self.assertEqual(len(lst["items"]), N_EVENTS)
        self.assertEqual(sorted(i["message"] for i in lst["items"]),
                         sorted(f"smoke event {i}" for i in range(N_EVENTS)))

        # Paged list with limit/continue and a field selector, as the exporter will do it.
        q = urllib.parse.urlencode({"limit": "30", "fieldSelector": "involvedObject.name=smoke-pod,type=Warning"})
        page = k.get(f"/api/v1/namespaces/{ns}/events?{q}")
        self.assertEqual(len(page["items"]), N_EVENTS // 10)
        q = urllib.parse.urlencode({"limit": "30"})
        page = k.get(f"/api/v1/namespaces/{ns}/events?{q}")
        self.assertEqual(len(page["items"]), 30)
        self.assertTrue(page["metadata"].get("continue"))
        # The cluster-wide list works too (the exporter's default scope).
        allq = urllib.parse.urlencode({"fieldSelector": f"metadata.namespace={ns}"})
        self.assertEqual(len(k.get(f"/api/v1/events?{allq}")["items"]), N_EVENTS)
        # Streaming list (KEP-3157, WatchList): initial ADDED burst, then the initial-events-end bookmark.
        q = urllib.parse.urlencode({"watch": "1", "sendInitialEvents": "true", "allowWatchBookmarks": "true",
                                    "resourceVersionMatch": "NotOlderThan", "timeoutSeconds": "30"})
        added = 0
        for ev in k.watch(f"/api/v1/namespaces/{ns}/events?{q}", timeout=40):
            if ev["type"] == "BOOKMARK":
                self.assertEqual(ev["object"]["metadata"].get("annotations", {}).get("k8s.io/initial-events-end"),
                                 "true", ev)
                break
            self.assertEqual(ev["type"], "ADDED", ev)
            added += 1
        self.assertEqual(added, N_EVENTS)
        # events.k8s.io/v1 view of the same objects.
        self.assertEqual(len(k.get(f"/apis/events.k8s.io/v1/namespaces/{ns}/events")["items"]), N_EVENTS)
        print(f"\n  created {N_EVENTS} events in {create_s:.2f}s; watch and list saw all", flush=True)

    def test_service_account_token_and_rbac(self):
        """TokenRequest issues a token; RBAC denies it until a ClusterRole allows events list/watch."""
        k, ns = self.kube, self.ns
        k.post(f"/api/v1/namespaces/{ns}/serviceaccounts",
               {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "exporter"}})
        tr = k.post(f"/api/v1/namespaces/{ns}/serviceaccounts/exporter/token",
                    {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                     "spec": {"expirationSeconds": 3600}})
        token = tr["status"]["token"]
        review = k.post("/apis/authentication.k8s.io/v1/tokenreviews",
                        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                         "spec": {"token": token}})
        self.assertTrue(review["status"]["authenticated"], review)
        self.assertEqual(review["status"]["user"]["username"], f"system:serviceaccount:{ns}:exporter")

        sa = Kube(token=token)
        status, _ = sa.request("GET", "/api/v1/events?limit=1", expect=None)
        self.assertEqual(status, 403)
        role = f"{ns}-events-reader"
        k.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": role},
            "rules": [{"apiGroups": ["", "events.k8s.io"], "resources": ["events"],
                       "verbs": ["get", "list", "watch"]}]})
        k.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": role},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": "exporter", "namespace": ns}]})
        # The RBAC authorizer reads roles from an informer: allow it a moment.
        poll(lambda: sa.request("GET", "/api/v1/events?limit=1", expect=None)[0] == 200, 15,
             what="RBAC binding to take effect")
        status, _ = sa.request("GET", f"/api/v1/namespaces/{ns}/pods", expect=None)
        self.assertEqual(status, 403)


class VictoriaLogsTest(unittest.TestCase):
    def test_loki_push_json_and_logsql_query(self):
        base = env("VLOGS_URL")
        run = uuid.uuid4().hex
        t_ns = time.time_ns()
        values = [[str(t_ns + i * 1000), f"smoke line {i} run={run}"] for i in range(N_LINES)]
        body = {"streams": [{"stream": {"job": "ke-e2e", "run": run, "level": "info"}, "values": values}]}
        status, _ = http_json(f"{base}/insert/loki/api/v1/push", json.dumps(body).encode(),
                              {"Content-Type": "application/json"})
        self.assertIn(status, (200, 204))

        query = urllib.parse.urlencode({"query": f'_stream:{{run="{run}"}}', "limit": "1000"})

        def read_back():
            _, raw = http_json(f"{base}/select/logsql/query?{query}")
            rows = [json.loads(l) for l in raw.decode().splitlines() if l.strip()]
            return rows if len(rows) >= N_LINES else None

        rows = poll(read_back, 30, what=f"{N_LINES} lines in VictoriaLogs")
        self.assertEqual(len(rows), N_LINES)
        self.assertEqual(sorted(r["_msg"] for r in rows), sorted(v[1] for v in values))
        self.assertEqual({r["job"] for r in rows}, {"ke-e2e"})
        # A LogsQL pipe: count by level.
        q = urllib.parse.urlencode({"query": f'run:="{run}" | stats by (level) count() as n'})
        _, raw = http_json(f"{base}/select/logsql/query?{q}")
        stats = [json.loads(l) for l in raw.decode().splitlines() if l.strip()]
        self.assertEqual(stats, [{"level": "info", "n": str(N_LINES)}])


class HelmTest(unittest.TestCase):
    chart = os.path.join(HERE, "testdata", "smoke-chart")

    def helm(self, *args, check=True):
        with tempfile.TemporaryDirectory() as home:
            e = dict(os.environ, HOME=home, HELM_CACHE_HOME=f"{home}/cache",
                     HELM_CONFIG_HOME=f"{home}/config", HELM_DATA_HOME=f"{home}/data")
            p = subprocess.run([env("HELM_BIN"), *args], env=e, capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            self.fail(f"helm {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p

    def test_lint(self):
        p = self.helm("lint", "--strict", self.chart)
        self.assertIn("1 chart(s) linted, 0 chart(s) failed", p.stdout)

    def test_install_against_bed(self):
        kube = Kube()
        ns = f"ke-e2e-helm-{uuid.uuid4().hex[:6]}"
        kube.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        self.helm("install", "smoke", self.chart, "--namespace", ns, "--kubeconfig", env("KUBECONFIG"),
                  "--set", "message=installed")
        cm = kube.get(f"/api/v1/namespaces/{ns}/configmaps/smoke-smoke")
        self.assertEqual(cm["data"]["message"], "installed")
        self.helm("uninstall", "smoke", "--namespace", ns, "--kubeconfig", env("KUBECONFIG"))
        status, _ = kube.request("GET", f"/api/v1/namespaces/{ns}/configmaps/smoke-smoke", expect=None)
        self.assertEqual(status, 404)


class PrometheusTest(unittest.TestCase):
    def query(self, promql):
        q = urllib.parse.urlencode({"query": promql})
        _, raw = http_json(f"{env('PROMETHEUS_URL')}/api/v1/query?{q}")
        doc = json.loads(raw)
        self.assertEqual(doc["status"], "success", doc)
        return doc["data"]["result"]

    def test_file_sd_target_is_scraped(self):
        """A test registers a target by writing a file_sd JSON file; Prometheus scrapes it."""
        run = uuid.uuid4().hex[:8]
        job = f"e2e-{run}"
        pgw = urllib.parse.urlsplit(env("PUSHGATEWAY_URL")).netloc
        # Something to find on the target: a metric pushed to the Pushgateway.
        metric = f'ke_e2e_smoke_value{{run="{run}"}} 42\n'
        status, _ = http_json(f"{env('PUSHGATEWAY_URL')}/metrics/job/ke_e2e/instance/{run}",
                              metric.encode(), {"Content-Type": "text/plain"}, method="PUT")
        self.assertIn(status, (200, 202))

        sd_dir = env("PROMETHEUS_FILE_SD_DIR")
        path = os.path.join(sd_dir, f"{job}.json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump([{"targets": [pgw], "labels": {"job": job}}], f)
        os.replace(tmp, path)  # atomic: Prometheus never reads a half-written file
        try:
            up = poll(lambda: self.query(f'up{{job="{job}"}}'), 30, what=f"target {job} to be scraped")
            self.assertEqual(up[0]["value"][1], "1")
            # Without honor_labels the pushed job label is kept as exported_job.
            got = poll(lambda: self.query(f'ke_e2e_smoke_value{{job="{job}",run="{run}"}}'), 30,
                       what="pushed metric via file_sd target")
            self.assertEqual(got[0]["value"][1], "42")
            self.assertEqual(got[0]["metric"].get("exported_job"), "ke_e2e")
            # The statically configured pushgateway job (honor_labels) sees the same sample.
            got = poll(lambda: self.query(f'ke_e2e_smoke_value{{job="ke_e2e",run="{run}"}}'), 30,
                       what="pushed metric via the pushgateway job")
            self.assertEqual(got[0]["value"][1], "42")
        finally:
            os.remove(path)
            http_json(f"{env('PUSHGATEWAY_URL')}/metrics/job/ke_e2e/instance/{run}", method="DELETE")


if __name__ == "__main__":
    unittest.main()
