"""e2e tests of the Loki sink (issue 7) on the real test bed. Run with test/e2e/run.

The exporter watches the bed's kube-apiserver and ships every Event both to a file receiver and
to a Loki receiver pointed at VictoriaLogs' Loki push endpoint (/insert/loki/api/v1/push), once
with the default protobuf+snappy body and once with JSON+gzip. Read back with LogsQL, every
Event is stored exactly once, in its own stream {job="kubernetes-event", namespace, type, reason},
at the Event's own timestamp, with the same line the file receiver got.
"""

import collections
import datetime
import json
import tempfile
import time
import unittest
import urllib.parse
import uuid

from bed import Kube, env, http_json, poll
from test_watch import Exporter, event, now, post_events


def logsql(query, limit=100000):
    """Runs a LogsQL query on the bed's VictoriaLogs; returns the rows (dicts)."""
    q = urllib.parse.urlencode({"query": query, "limit": str(limit)})
    _, raw = http_json(f"{env('VLOGS_URL')}/select/logsql/query?{q}")
    return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


class LokiE2ETest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kube = Kube()
        cls.tmp = tempfile.mkdtemp(prefix="ke-e2e-loki-")

    def ship(self, encoding_yaml, n):
        """Creates n Events (and one count bump) with the exporter running; returns (the file
        receiver's records, the VictoriaLogs rows of this run, the run id)."""
        run = uuid.uuid4().hex[:10]
        ns = f"ke-loki-{run}"
        self.kube.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": ns}})
        dep = self.kube.post(f"/apis/apps/v1/namespaces/{ns}/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
                     "template": {"metadata": {"labels": {"app": "api"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
        loki = f"""    loki:
      url: {env('VLOGS_URL')}/insert/loki/api/v1/push
      streamLabels:
        job: kubernetes-event
        e2e_run: "{run}"
      labels: [namespace, type, reason]
      batchWait: 200ms
{encoding_yaml}"""
        ex = Exporter(self.tmp, env("KUBECONFIG"), ns, f"loki-{run}", receivers={"loki": loki})
        try:
            names = [f"api.{i:04d}" for i in range(n)]
            t0 = time.monotonic()
            post_events(ns, dep, names)
            # Warnings with their own reasons, so several streams are in play.
            for i in range(0, n, 10):
                e = self.kube.get(f"/api/v1/namespaces/{ns}/events/{names[i]}")
                e.update(type="Warning", reason="BackOff", count=2, lastTimestamp=now())
                self.kube.request("PUT", f"/api/v1/namespaces/{ns}/events/{names[i]}", e)
            expected = n + len(range(0, n, 10))
            ex.wait(expected)
            rows = poll(lambda: (r := logsql(f'{{e2e_run="{run}"}}')) and len(r) >= expected
                        and r, 120, 0.25, f"{expected} entries in VictoriaLogs")
            took = time.monotonic() - t0
        finally:
            self.assertEqual(ex.stop(), 0, ex.read_log()[-3000:])
        # After the exporter has flushed and exited, nothing more arrives.
        rows = logsql(f'{{e2e_run="{run}"}}')
        print(f"\n  {expected} events through kube-apiserver -> exporter -> VictoriaLogs in "
              f"{took:.2f}s", flush=True)
        return ex.records(), rows, run, ns

    def check(self, records, rows, run, ns):
        self.assertEqual(len(rows), len(records))
        # Every (event, count) exactly once, in the stream its fields say.
        got = collections.Counter((r["metadata.name"], r["count"]) for r in rows)
        want = collections.Counter((r["metadata"]["name"], str(r["count"])) for r in records)
        self.assertEqual(got, want)
        self.assertEqual([k for k, c in got.items() if c != 1], [])
        by_key = {(r["metadata"]["name"], str(r["count"])): r for r in records}
        for row in rows:
            rec = by_key[(row["metadata.name"], row["count"])]
            self.assertEqual(row["_stream"],
                             f'{{e2e_run="{run}",job="kubernetes-event",namespace="{ns}",'
                             f'reason="{rec["reason"]}",type="{rec["type"]}"}}')
            # The entry's time is the event's own (lastTimestamp), not the send time.
            self.assertEqual(parse_time(row["_time"]), parse_time(rec["lastTimestamp"]))
            self.assertEqual(row["message"], rec["message"])
            self.assertEqual(row["involvedObject.name"], "api")
        streams = {row["_stream"] for row in rows}
        self.assertEqual(len(streams), 2)  # Normal/ScalingReplicaSet and Warning/BackOff

    def test_protobuf_snappy_every_event_once(self):
        self.check(*self.ship("", 500))

    def test_json_gzip_every_event_once(self):
        self.check(*self.ship("      encoding: json\n      gzip: true\n", 200))


if __name__ == "__main__":
    unittest.main()
