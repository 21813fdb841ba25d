#!/usr/bin/env python3
"""End-to-end load harness on the real test bed: kube-apiserver -> exporter -> file + VictoriaLogs.

  scripts/build-tools && scripts/testbed up
  eval "$(scripts/testbed env)" && bench/load.py [--events 5000] [--binary build/kube-event-exporter]
  scripts/testbed down

Two phases, each with a fresh exporter process (file receiver + Loki receiver to the bed's
VictoriaLogs, protobuf+snappy, enrichment on):
  list:  N Events exist before the exporter starts; time from start until all N are in the file
         and stored in VictoriaLogs (initial paged list, decode, lookup, route, ship).
  watch: the exporter is running; N Events are created through the API as fast as the bed
         takes them; time until the last is shipped (bounded by kube-apiserver's create rate).
Prints events/s, the exporter's CPU seconds (user+sys from /proc) and peak RSS (VmHWM).
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "e2e"))
from bed import Kube, env, http_json, poll  # noqa: E402


def create_events(ns, dep, names, threads=8):
    """POSTs Events over one keep-alive connection per thread."""
    kube = Kube()
    errors = []

    def work(chunk):
        conn = kube.conn()
        for n in chunk:
            ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": n, "namespace": ns},
                  "involvedObject": {"kind": "Deployment", "apiVersion": "apps/v1",
                                     "namespace": ns, "name": "web",
                                     "uid": dep["metadata"]["uid"]},
                  "reason": "BackOff", "type": "Warning", "count": 1,
                  "message": f"Back-off restarting failed container app in pod {n} " + "x" * 300,
                  "source": {"component": "kubelet", "host": "node-1"},
                  "firstTimestamp": "2026-01-01T00:00:00Z",
                  "lastTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            conn.request("POST", f"/api/v1/namespaces/{ns}/events", json.dumps(ev),
                         kube.headers({"Content-Type": "application/json"}))
            r = conn.getresponse()
            body = r.read()
            if r.status != 201:
                errors.append(f"{r.status} {body[:200]!r}")
                return
    ts = [threading.Thread(target=work, args=(names[i::threads],)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise RuntimeError(errors[0])


def proc_stats(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    return cpu, hwm * 1024


def lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def vlogs_count(run):
    q = urllib.parse.urlencode({"query": f'{{load_run="{run}"}} | stats count() n'})
    _, raw = http_json(f"{env('VLOGS_URL')}/select/logsql/query?{q}")
    rows = [json.loads(x) for x in raw.decode().splitlines() if x.strip()]
    return int(rows[0]["n"]) if rows else 0


def start_exporter(binary, tmp, ns, run):
    out = os.path.join(tmp, f"{run}.jsonl")
    conf = os.path.join(tmp, f"{run}.yaml")
    with open(conf, "w") as f:
        f.write(f"""logLevel: info
maxEventAgeSeconds: 86400
namespace: {ns}
kubeQPS: 50
kubeBurst: 100
route:
  routes:
    - match:
        - receiver: file
        - receiver: loki
receivers:
  - name: file
    file:
      path: {out}
  - name: loki
    loki:
      url: {env('VLOGS_URL')}/insert/loki/api/v1/push
      streamLabels: {{job: kubernetes-event, load_run: "{run}"}}
      labels: [namespace, type, reason]
""")
    log = open(os.path.join(tmp, f"{run}.log"), "w")
    p = subprocess.Popen([binary, "-conf", conf, "-kubeconfig", env("KUBECONFIG"),
                          "-metrics-address", "127.0.0.1:0"], stdout=log, stderr=log)
    return p, out, log.name


def phase(name, binary, tmp, n, precreate):
    kube = Kube()
    run = uuid.uuid4().hex[:10]
    ns = f"ke-load-{run}"
    kube.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                     "metadata": {"name": ns}})
    dep = kube.post(f"/apis/apps/v1/namespaces/{ns}/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    names = [f"load.{i:06d}" for i in range(n)]
    if precreate:
        create_events(ns, dep, names)
    p, out, log = start_exporter(binary, tmp, ns, run)
    try:
        t0 = time.monotonic()
        if not precreate:
            # The first (empty) list done: the timing is the watch's.
            poll(lambda: "listed" in open(log).read(), 60, 0.02, "the first list")
            t0 = time.monotonic()
            create_events(ns, dep, names)
        poll(lambda: lines(out) >= n, 600, 0.02, f"{n} lines in the file")
        t_file = time.monotonic() - t0
        poll(lambda: vlogs_count(run) >= n, 600, 0.2, f"{n} entries in VictoriaLogs")
        t_loki = time.monotonic() - t0
        cpu, rss = proc_stats(p.pid)
    finally:
        p.terminate()
        p.wait(timeout=30)
    stored = vlogs_count(run)
    print(f"{name:6} {n} events: file {t_file:6.2f}s ({n / t_file:7.0f} events/s), "
          f"VictoriaLogs {t_loki:6.2f}s ({n / t_loki:7.0f} events/s, {stored} stored); "
          f"exporter CPU {cpu:.2f}s ({cpu / n * 1e6:.0f} us/event), peak RSS "
          f"{rss / 2**20:.1f} MiB", flush=True)
    if stored != n or lines(out) != n:
        raise SystemExit(f"FAILED: file has {lines(out)}, VictoriaLogs has {stored}, want {n}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build",
                                                     "kube-event-exporter"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ke-load-")
    phase("list", a.binary, tmp, a.events, precreate=True)
    phase("watch", a.binary, tmp, a.events, precreate=False)


if __name__ == "__main__":
    main()
