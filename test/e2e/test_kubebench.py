"""e2e tests of the kube-bench ingest (issue 5) on the real test bed. Run with test/e2e/run.

The exporter runs against the bed's kube-apiserver with its ingest listener (tokenReview auth)
and a Loki receiver pointed at VictoriaLogs (/insert/loki/api/v1/push):
  - a real report posted with a real ServiceAccount token (TokenRequest API) -> 202; its gauges
    are scraped by the bed's Prometheus (target registered through PROMETHEUS_FILE_SD_DIR) and
    its per-check lines are found in VictoriaLogs by LogsQL;
  - another ServiceAccount -> 403, a garbage token -> 401, no token -> 401;
  - oversized (413), truncated and deeply nested (400 with the byte offset), unknown content type
    (415) bodies are rejected and the server keeps serving;
  - post-bench (the node client) posts a report; Pushgateway forwarding reaches the real
    Pushgateway with correctly quoted labels.
Measured numbers (reports/s over HTTP) are printed to stderr.

The binary: $KE_BINARY, else $KE_BUILD_DIR/kube-event-exporter (KE_BUILD_DIR defaults to build).
"""

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import uuid

import bed
from bed import Kube, env, http_json, poll, service_account_token

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(REPO, "test", "data", "kubebench")


def binary():
    build = os.environ.get("KE_BUILD_DIR", os.path.join(REPO, "build"))
    for path in [os.environ.get("KE_BINARY", ""), os.path.join(build, "kube-event-exporter"),
                 os.path.join(build, "src", "kube-event-exporter")]:
        if path and os.access(path, os.X_OK):
            return path
    raise RuntimeError("exporter binary not found: build it or set KE_BINARY")


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


class KubeBenchIngestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ke-kubebench-")
        cls.run_id = uuid.uuid4().hex[:12]
        cls.kube = Kube()
        cls.ns = f"kb-{cls.run_id}"
        cls.kube.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": cls.ns}})
        for sa in ("kube-bench", "intruder"):
            cls.kube.post(f"/api/v1/namespaces/{cls.ns}/serviceaccounts",
                          {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa}})
        cls.good = cls.token("kube-bench")
        cls.bad = cls.token("intruder")
        cls.pgw_job = f"kb-{cls.run_id}"
        conf = os.path.join(cls.tmp, "config.yaml")
        with open(conf, "w") as f:
            f.write(f"""logLevel: info
logFormat: json
metricsNamePrefix: event_exporter_
namespace: {cls.ns}
ingest:
  address: "127.0.0.1:0"
  maxBodyBytes: 262144
  readTimeout: 5s
  auth:
    mode: tokenReview
    allowedServiceAccounts: ["{cls.ns}:kube-bench"]
kubeBench:
  streamLabels: {{job: kube-bench, run: "{cls.run_id}"}}
  pushgateway: {{url: "{env('PUSHGATEWAY_URL')}", job: "{cls.pgw_job}"}}
route:
  routes:
    - match:
        - kind: "^KubeBench$"
          receiver: vlogs
receivers:
  - name: vlogs
    loki:
      url: {env('VLOGS_URL')}/insert/loki/api/v1/push
      streamLabels: {{job: kube-bench}}
      encoding: json
      batchWait: 200ms
""")
        cls.log_path = os.path.join(cls.tmp, "exporter.log")
        cls.log = open(cls.log_path, "w")
        cls.p = subprocess.Popen([binary(), "-conf", conf, "-kubeconfig", env("KUBECONFIG"),
                                  "-metrics-address", "127.0.0.1:0"],
                                 stdout=cls.log, stderr=cls.log)
        ports = poll(cls.ports, 60, 0.05, "the exporter's listen log lines")
        cls.metrics_port, cls.ingest_port = ports
        cls.base = f"http://127.0.0.1:{cls.ingest_port}/api/v1/kube-bench"

    @classmethod
    def tearDownClass(cls):
        if cls.p.poll() is None:
            cls.p.send_signal(signal.SIGTERM)
            cls.p.wait(timeout=30)
        cls.log.close()
        try:
            os.remove(os.path.join(env("PROMETHEUS_FILE_SD_DIR"), f"kb-{cls.run_id}.json"))
        except OSError:
            pass
        cls.kube.request("DELETE", f"/api/v1/namespaces/{cls.ns}", expect=None)

    @classmethod
    def token(cls, sa):
        return service_account_token(cls.kube, cls.ns, sa)

    @classmethod
    def ports(cls):
        if cls.p.poll() is not None:
            raise AssertionError(f"exporter exited {cls.p.returncode}: {read(cls.log_path)}")
        log = read(cls.log_path)
        m = re.search(r"serving /metrics.*?\(port (\d+)\)", log)
        i = re.search(r"kube-bench ingest: POST /api/v1/kube-bench on .*?\(port (\d+)\)", log)
        return (int(m.group(1)), int(i.group(1))) if m and i else None

    def post(self, body, query="node=wk1-k8s&target=node", token=None, ctype="application/json",
             headers=None):
        """Raw POST (http.client, so that any status comes back). Returns (status, body)."""
        c = http.client.HTTPConnection("127.0.0.1", self.ingest_port, timeout=30)
        try:
            h = {"Content-Type": ctype} if ctype else {}
            if token is not False:
                h["Authorization"] = f"Bearer {token or self.good}"
            h.update(headers or {})
            c.request("POST", f"/api/v1/kube-bench?{query}", body=body, headers=h)
            r = c.getresponse()
            raw = r.read()
            return r.status, (json.loads(raw) if raw[:1] == b"{" else raw)
        except (ConnectionResetError, BrokenPipeError) as e:  # server closed on an oversized body
            return 0, str(e)
        finally:
            c.close()

    def assert_serving(self):
        status, body = self.post(read(os.path.join(DATA, "result.json")), "node=alive&target=node")
        self.assertEqual(status, 202, body)

    def logsql(self, query):
        q = urllib.parse.urlencode({"query": query, "limit": "1000"})
        _, raw = http_json(f"{env('VLOGS_URL')}/select/logsql/query?{q}")
        return [json.loads(l) for l in raw.decode().splitlines() if l.strip()]

    def prom(self, expr):
        q = urllib.parse.urlencode({"query": expr})
        _, raw = http_json(f"{env('PROMETHEUS_URL')}/api/v1/query?{q}")
        return json.loads(raw)["data"]["result"]

    # ---------------------------------------------------------------------------------------

    def test_1_report_reaches_prometheus_and_victorialogs(self):
        body = read(os.path.join(DATA, "result.json"))
        status, res = self.post(body, "node=wk1-k8s&target=master"
                                      "&syntax=kube-bench%20run%20--targets%3Dmaster")
        self.assertEqual(status, 202, res)
        self.assertEqual(res["accepted"], 3)
        self.assertEqual(res["totals"], {"total_pass": 49, "total_fail": 12, "total_warn": 14,
                                         "total_info": 0})

        # Prometheus scrapes the exporter's /metrics (registered through file_sd).
        sd = os.path.join(env("PROMETHEUS_FILE_SD_DIR"), f"kb-{self.run_id}.json")
        with open(sd + ".tmp", "w") as f:
            json.dump([{"targets": [f"127.0.0.1:{self.metrics_port}"],
                        "labels": {"job": f"kb-{self.run_id}"}}], f)
        os.rename(sd + ".tmp", sd)
        # instance: the exporter's own /metrics, not the copies it pushed to the Pushgateway
        # (scraped with honor_labels, they carry the same job label).
        inst = f'instance="127.0.0.1:{self.metrics_port}"'
        sel = f'kube_bench_info{{job="kb-{self.run_id}",{inst},kube_bench_node_name="wk1-k8s"}}'
        rows = poll(lambda: len(self.prom(sel)) == 4 and self.prom(sel), 60, 0.5,
                    "kube_bench_info in Prometheus")
        got = {r["metric"]["kube_bench_type"]: float(r["value"][1]) for r in rows}
        self.assertEqual(got, {"total_pass": 49, "total_fail": 12, "total_warn": 14,
                               "total_info": 0})
        for r in rows:
            self.assertEqual(r["metric"]["kube_bench_target"], "master")
            self.assertEqual(r["metric"]["kube_bench_syntax"], "kube-bench run --targets=master")
        ts = poll(lambda: self.prom(f'kube_bench_last_report_timestamp_seconds{{job="kb-{self.run_id}",'
                                    f'{inst},kube_bench_node_name="wk1-k8s"}}'), 30, 0.5,
                  "timestamp gauge")
        self.assertLess(abs(float(ts[0]["value"][1]) - time.time()), 120)

        # One line per check in VictoriaLogs, with the design's keys.
        q = f'_stream:{{run="{self.run_id}",kube_bench_node_name="wk1-k8s"}}'
        lines = poll(lambda: len(self.logsql(q)) >= 3 and self.logsql(q), 60, 0.5,
                     "3 check lines in VictoriaLogs")
        self.assertEqual(len(lines), 3)
        by_check = {l["kube_bench_gb_tg_test_minor_section"]: l for l in lines}
        self.assertEqual(set(by_check), {"1.1.1", "2.1", "3.1.1"})
        warn = by_check["3.1.1"]
        self.assertEqual(warn["status"], "WARN")
        self.assertEqual(warn["kube_bench_target"], "master")
        self.assertEqual(warn["job"], "kube-bench")
        self.assertEqual(warn["kube_bench_gb_tg_test_minor_status"], "WARN")
        self.assertEqual(warn["kube_bench_gb_cis_id"], "3")
        self.assertEqual(warn["kube_bench_gb_tg_type"], "controlplane")
        # A LogsQL filter on a line key: the FAIL/WARN findings.
        found = self.logsql(f'_stream:{{run="{self.run_id}"}} kube_bench_gb_tg_test_minor_status:WARN')
        self.assertTrue(any(l["kube_bench_node_name"] == "wk1-k8s" for l in found))

        # The same gauges reached the Pushgateway, labels quoted (Pushgateway parses them).
        def pushed():
            _, raw = http_json(f"{env('PUSHGATEWAY_URL')}/metrics")
            return [l for l in raw.decode().splitlines()
                    if l.startswith("kube_bench_info{") and f'job="{self.pgw_job}"' in l
                    and 'kube_bench_node_name="wk1-k8s"' in l]
        lines = poll(pushed, 30, 0.5, "kube_bench_info on the Pushgateway")
        self.assertEqual(len(lines), 4, lines)
        self.assertTrue(any('kube_bench_type="total_fail"' in l and l.endswith(" 12")
                            for l in lines), lines)

    def test_2_new_report_replaces_series(self):
        first = read(os.path.join(DATA, "result.json"))
        self.assertEqual(self.post(first, "node=wk2-k8s&target=node")[0], 202)
        second = json.dumps([{"id": "4", "node_type": "node", "tests": [{"section": "4.1",
                             "results": [{"test_number": "4.1.1", "status": "FAIL"}]}]}])
        status, res = self.post(second, "node=wk2-k8s&target=node")
        self.assertEqual(status, 202, res)
        self.assertEqual(res["totals"], {"total_pass": 0, "total_fail": 1, "total_warn": 0,
                                         "total_info": 0})
        _, raw = http_json(f"http://127.0.0.1:{self.metrics_port}/metrics")
        series = [l for l in raw.decode().splitlines()
                  if l.startswith("kube_bench_info{") and 'node_name="wk2-k8s"' in l]
        self.assertEqual(len(series), 4, series)
        self.assertIn('kube_bench_type="total_fail"} 1', "\n".join(series))

    def test_3_token_review(self):
        body = read(os.path.join(DATA, "result.json"))
        status, res = self.post(body, token=self.bad)
        self.assertEqual(status, 403, res)
        self.assertIn(f"system:serviceaccount:{self.ns}:intruder", res["error"])
        status, res = self.post(body, token="garbage.not-a-token")
        self.assertEqual(status, 401, res)
        status, res = self.post(body, token=False)
        self.assertEqual(status, 401, res)
        self.assertNotIn(self.good, read(self.log_path))
        self.assertNotIn(self.bad, read(self.log_path))
        self.assert_serving()

    def test_4_bad_bodies_rejected_server_keeps_serving(self):
        body = read(os.path.join(DATA, "result.json"))
        status, res = self.post(body[:1000])
        self.assertEqual(status, 400, res)
        self.assertEqual(res["offset"], 1000)
        status, res = self.post("[" * 100000 + "]" * 100000)
        self.assertEqual(status, 400, res)
        self.assertEqual(res["offset"], 32)
        status, _ = self.post("x" * 300000)
        self.assertIn(status, (413, 0))  # 413, or a reset if the server closed first
        status, res = self.post(body, ctype="application/xml")
        self.assertEqual(status, 415, res)
        status, res = self.post(body, query="target=node")
        self.assertEqual(status, 400, res)  # no node name
        status, res = self.post(read(os.path.join(DATA, "Expected_output.data")),
                                "node=kind", ctype="text/plain")
        self.assertEqual(status, 202, res)
        self.assertEqual(res["accepted"], 123)
        self.assert_serving()

    def test_5_slow_client_is_cut_off(self):
        c = http.client.HTTPConnection("127.0.0.1", self.ingest_port, timeout=30)
        c.putrequest("POST", "/api/v1/kube-bench?node=slow")
        c.putheader("Authorization", f"Bearer {self.good}")  # authenticated: its body is awaited
        c.putheader("Content-Length", "1000")
        c.endheaders()
        c.send(b"[")  # and then nothing: the read timeout (5s) closes the connection
        t0 = time.monotonic()
        c.sock.settimeout(20)
        data = c.sock.recv(100)
        self.assertEqual(data, b"")
        self.assertLess(time.monotonic() - t0, 15)
        c.close()
        self.assert_serving()

    def test_6_post_bench_client(self):
        tok = os.path.join(self.tmp, "token")
        with open(tok, "w") as f:
            f.write(self.good + "\n")
        p = subprocess.run([binary(), "post-bench", "--file", os.path.join(DATA, "result_no_totals.json"),
                            "--url", f"http://127.0.0.1:{self.ingest_port}", "--node", "cp-k8s",
                            "--target", "master", "--token-file", tok],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        res = json.loads(p.stdout)
        self.assertEqual(res["accepted"], 3)
        self.assertEqual(res["totalsSource"], "Controls")
        with open(tok, "w") as f:
            f.write(self.bad)
        p = subprocess.run([binary(), "post-bench", "-file", os.path.join(DATA, "result.json"),
                            "-url", self.base, "-node", "cp-k8s", "-token-file", tok],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("HTTP 403", p.stderr)
        self.assertNotIn(self.bad, p.stderr)

    def test_7_throughput(self):
        checks = [{"test_number": f"4.{i // 10}.{i % 10}", "test_desc": f"check {i}",
                   "status": ["PASS", "FAIL", "WARN", "INFO"][i % 4], "audit": "/bin/true",
                   "remediation": "do it", "test_info": ["do it"], "scored": True}
                  for i in range(500)]
        big = json.dumps({"Controls": [{"id": "4", "node_type": "node", "tests": [
            {"section": "4.1", "results": checks}]}],
            "Totals": {"total_pass": 125, "total_fail": 125, "total_warn": 125, "total_info": 125}})
        t0 = time.monotonic()
        status, res = self.post(big, "node=perf-500&target=node")
        one = time.monotonic() - t0
        self.assertEqual(status, 202, res)
        small = read(os.path.join(DATA, "result.json"))
        c = http.client.HTTPConnection("127.0.0.1", self.ingest_port, timeout=30)
        n = 200
        t0 = time.monotonic()
        for i in range(n):
            c.request("POST", f"/api/v1/kube-bench?node=perf-{i % 20}&target=node", body=small,
                      headers={"Authorization": f"Bearer {self.good}",
                               "Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 202)
        rate = n / (time.monotonic() - t0)
        c.close()
        print(f"\nkube-bench ingest (Debug build, keep-alive, TokenReview cached): "
              f"500-check report {one * 1000:.1f} ms; {rate:.0f} reports/s (3-check reports)",
              file=sys.stderr)


class KubeBenchBackpressureTest(unittest.TestCase):
    """A receiver whose Loki is down and whose queue holds 4 records: static-token auth, 413 for a
    report bigger than the queue, 429 with Retry-After once the queue is full (all checks or
    none), post-bench retrying and then giving up with the server's message."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ke-kubebench-bp-")
        cls.secret = uuid.uuid4().hex
        token_file = os.path.join(cls.tmp, "ingest-token")
        with open(token_file, "w") as f:
            f.write(cls.secret + "\n")
        conf = os.path.join(cls.tmp, "config.yaml")
        with open(conf, "w") as f:
            f.write(f"""logLevel: info
logFormat: json
metricsNamePrefix: event_exporter_
namespace: kb-backpressure-none
ingest:
  auth: {{mode: staticToken, tokenFile: {token_file}}}
route:
  routes:
    - match:
        - kind: "^KubeBench$"
          receiver: dead-loki
receivers:
  - name: dead-loki
    loki:
      url: http://127.0.0.1:1/loki/api/v1/push
      streamLabels: {{job: kube-bench}}
      minBackoff: 10s
      maxRetries: 1000
      maxQueuedBytes: 1             # the sink buffers one batch, then pushes back
      batchWait: 10ms
    queue: {{maxRecords: 4}}
""")
        cls.log_path = os.path.join(cls.tmp, "exporter.log")
        cls.log = open(cls.log_path, "w")
        cls.p = subprocess.Popen([binary(), "-conf", conf, "-kubeconfig", env("KUBECONFIG"),
                                  "-metrics-address", "127.0.0.1:0",
                                  "-ingest-address", "127.0.0.1:0"],
                                 stdout=cls.log, stderr=cls.log)

        def port():
            if cls.p.poll() is not None:
                raise AssertionError(f"exporter exited: {read(cls.log_path)}")
            m = re.search(r"kube-bench ingest: POST /api/v1/kube-bench on .*?\(port (\d+)\)",
                          read(cls.log_path))
            return int(m.group(1)) if m else None
        cls.port = poll(port, 60, 0.05, "the ingest listen log line")

    @classmethod
    def tearDownClass(cls):
        if cls.p.poll() is None:
            cls.p.kill()  # its Loki is down: a graceful stop would wait out the flush deadline
            cls.p.wait(timeout=30)
        cls.log.close()

    def post(self, body, token=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request("POST", "/api/v1/kube-bench?node=bp&target=node", body=body,
                      headers={"Authorization": f"Bearer {token or self.secret}",
                               "Content-Type": "application/json"})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), json.loads(r.read())
        finally:
            c.close()

    def test_queue_limits(self):
        report = read(os.path.join(DATA, "result.json"))  # 3 checks
        self.assertEqual(self.post(report, token="wrong")[0], 401)
        five = json.dumps([{"node_type": "node", "tests": [{"results": [
            {"test_number": f"4.1.{i}", "status": "PASS"} for i in range(5)]}]}])
        status, _, res = self.post(five)
        self.assertEqual(status, 413, res)
        self.assertIn("queue", res["error"])
        # The sink takes records into its open batch until batchWait (10 ms) seals it; from then
        # on it has no room and the receiver queue (4) fills: 429. Post until then (bounded).
        statuses = []
        for i in range(500):
            # Each post a different body: the same report again would be answered as a duplicate.
            status, headers, res = self.post(report + " " * i)
            statuses.append(status)
            if status == 429:
                self.assertEqual(headers.get("Retry-After"), "5")
                break
        self.assertEqual(statuses[0], 202)
        self.assertEqual(statuses[-1], 429, statuses)
        # post-bench: retries the 429 once (after Retry-After), then gives up with the message.
        tok = os.path.join(self.tmp, "client-token")
        with open(tok, "w") as f:
            f.write(self.secret)
        p = subprocess.run([binary(), "post-bench", "-file", os.path.join(DATA, "result.json"),
                            "-url", f"http://127.0.0.1:{self.port}/", "-node", "bp-cli",
                            "-target", "node", "-token-file", tok, "-retries", "1"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("HTTP 429", p.stderr)
        self.assertIn("retrying", p.stderr)
        self.assertIn("giving up after 2 attempts", p.stderr)
        self.assertNotIn(self.secret, p.stderr + read(self.log_path))
        _, raw = http_json(f"http://127.0.0.1:{self.port}/-/healthy")
        self.assertEqual(raw, b"OK")

if __name__ == "__main__":
    unittest.main()
