"""Realistic core/v1 Events (~1.2 KB of JSON each) and the Pods they are about, pre-generated.

Every event has a global sequence number `seq`: 0..n0-1 are the listed events (they exist
before the exporter starts), n0..n0+m-1 the watch events (created while it runs). Event `seq`
has resourceVersion base_rv+1+seq and the uid `SSSSSSSS-e2e0-4000-8000-TAG`, where SSSSSSSS is
seq in hex and TAG a per-run hex string: a receiver finds which event a shipped line carries
with one regular expression (`EventSet.seq_re`), without parsing the line. Pod uids use
another second group, so they never match.

Field order and forms follow what kube-apiserver writes (Go struct order, compact JSON):
list items carry no kind/apiVersion, watch objects do; Time is RFC 3339 in whole seconds;
eventTime is null and reportingComponent/Instance are always present (legacy recorder);
metadata carries one managedFields entry as a real server sends it.
"""

import json
import random
import re
import time

NAMESPACES = [
    "default", "kube-system", "monitoring", "logging", "ingress-nginx", "cert-manager",
    "payments", "checkout", "catalog", "search", "auth", "billing", "data-pipeline", "ml-serving",
    "web-frontend", "api-gateway", "notifications", "reporting", "staging", "batch-jobs",
]
APPS = ["web", "api", "worker", "cache", "db-proxy", "scheduler", "indexer", "gateway",
        "frontend", "ingest", "exporter", "sidecar-injector"]
CONTAINERS = ["app", "main", "server", "istio-proxy", "init-config"]
REGISTRY = "registry.example.com"

_WATCH_PREFIX = b'{"type":"ADDED","object":'
_KIND_PREFIX = b'{"kind":"Event","apiVersion":"v1",'


def _rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _dump(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class Pod:
    """An involved object: a Pod owned by a ReplicaSet."""

    def __init__(self, rng, index, tag, now):
        self.namespace = rng.choice(NAMESPACES)
        self.app = rng.choice(APPS)
        self.template_hash = "%010x" % rng.getrandbits(40)
        suffix = "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        self.name = f"{self.app}-{self.template_hash[:9]}-{suffix}"
        self.uid = f"{index:08x}-90d0-4000-8000-{tag}"
        self.resource_version = str(500000 + index * 7)
        self.container = rng.choice(CONTAINERS)
        version = f"1.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        self.image = f"{REGISTRY}/{self.namespace}/{self.app}:{version}"
        self.node = f"node-{rng.randint(1, 40):02d}"
        self.ip = f"10.244.{rng.randint(0, 63)}.{rng.randint(2, 254)}"
        self.created = _rfc3339(now - rng.randint(600, 86400 * 7))
        self.rs_uid = f"{index:08x}-75e0-4000-8000-{tag}"

    def object_bytes(self):
        """GET /api/v1/namespaces/NS/pods/NAME: a Pod with labels, annotations, owner."""
        rs = f"{self.app}-{self.template_hash[:9]}"
        return _dump({
            "kind": "Pod", "apiVersion": "v1",
            "metadata": {
                "name": self.name, "generateName": rs + "-", "namespace": self.namespace,
                "uid": self.uid, "resourceVersion": self.resource_version,
                "creationTimestamp": self.created,
                "labels": {"app.kubernetes.io/name": self.app,
                           "app.kubernetes.io/part-of": self.namespace,
                           "pod-template-hash": self.template_hash[:9], "tier": "backend"},
                "annotations": {"kubectl.kubernetes.io/restartedAt": self.created,
                                "prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                     "uid": self.rs_uid, "controller": True,
                                     "blockOwnerDeletion": True}],
            },
            "spec": {"containers": [{"name": self.container, "image": self.image,
                                     "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                                     "resources": {"requests": {"cpu": "100m",
                                                                "memory": "128Mi"}}}],
                     "nodeName": self.node, "restartPolicy": "Always",
                     "serviceAccountName": self.app},
            "status": {"phase": "Running", "podIP": self.ip, "hostIP": "192.0.2.10",
                       "startTime": self.created, "qosClass": "Burstable"},
        }) + b"\n"


# (reason, type, reporting component, has fieldPath, repeats?, message template). Templates
# are formatted with the pod's fields and a few random numbers (_message).
REASONS = [
    ("Scheduled", "Normal", "default-scheduler", False, False,
     "Successfully assigned {ns}/{pod} to {node}"),
    ("Pulling", "Normal", "kubelet", True, False, 'Pulling image "{img}"'),
    ("Pulled", "Normal", "kubelet", True, False,
     'Successfully pulled image "{img}" in {ms}ms ({ms2}ms including waiting). '
     "Image size: {size} bytes."),
    ("Created", "Normal", "kubelet", True, False, "Created container: {c}"),
    ("Started", "Normal", "kubelet", True, False, "Started container {c}"),
    ("Killing", "Normal", "kubelet", True, False, "Stopping container {c}"),
    ("BackOff", "Warning", "kubelet", True, True,
     "Back-off restarting failed container {c} in pod {pod}_{ns}({uid})"),
    ("Unhealthy", "Warning", "kubelet", True, True,
     'Readiness probe failed: Get "http://{ip}:8080/healthz": context deadline exceeded '
     "(Client.Timeout exceeded while awaiting headers)"),
    ("Unhealthy", "Warning", "kubelet", True, True,
     'Liveness probe failed: Get "http://{ip}:8080/livez": dial tcp {ip}:8080: connect: '
     "connection refused"),
    ("FailedMount", "Warning", "kubelet", False, True,
     'MountVolume.SetUp failed for volume "{app}-config" : configmap "{app}-config" not found'),
    ("FailedScheduling", "Warning", "default-scheduler", False, True,
     "0/{nodes} nodes are available: 3 Insufficient memory, 2 node(s) had untolerated taint "
     "{{node-role.kubernetes.io/control-plane: }}, 5 node(s) didn't match Pod's node "
     "affinity/selector. preemption: 0/{nodes} nodes are available: 7 Preemption is not "
     "helpful for scheduling, 5 No preemption victims found for incoming pod."),
    ("SandboxChanged", "Normal", "kubelet", False, False,
     "Pod sandbox changed, it will be killed and re-created."),
    ("FailedCreatePodSandBox", "Warning", "kubelet", False, True,
     'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network '
     'for sandbox "{sandbox}": plugin type="calico" failed (add): error getting '
     "ClusterInformation: connection is unauthorized"),
    ("Evicted", "Warning", "kubelet", False, False,
     "The node was low on resource: memory. Threshold quantity: 100Mi, available: {avail}Ki. "
     "Container {c} was using {using}Mi, request is 128Mi, has larger consumption of memory."),
    ("FailedPreStopHook", "Warning", "kubelet", True, False,
     'PreStopHook failed: command "/bin/sh -c sleep 5 && /app/drain" exited with 137'),
    ("ProbeWarning", "Warning", "kubelet", True, True,
     'Readiness probe warning: Probe terminated redirects, Response body: '
     '{{"status":"degraded","checks":{checks}}}'),
]


def _message(rng, template, pod):
    ms = rng.randint(200, 9000)
    return template.format(
        ns=pod.namespace, pod=pod.name, node=pod.node, img=pod.image, c=pod.container,
        uid=pod.uid, ip=pod.ip, app=pod.app, ms=ms, ms2=ms + rng.randint(0, 900),
        size=rng.randint(20, 900) * 1048576 + rng.randint(0, 99999), nodes=rng.randint(8, 60),
        sandbox="%032x" % rng.getrandbits(128), avail=rng.randint(10000, 99999),
        using=rng.randint(200, 900), checks=rng.randint(1, 9))


def _managed_fields(component, stamp):
    return _dump([{"manager": component, "operation": "Update", "apiVersion": "v1",
                   "time": stamp, "fieldsType": "FieldsV1",
                   "fieldsV1": {"f:count": {}, "f:firstTimestamp": {}, "f:involvedObject": {},
                                "f:lastTimestamp": {}, "f:message": {}, "f:reason": {},
                                "f:reportingComponent": {}, "f:reportingInstance": {},
                                "f:source": {"f:component": {}, "f:host": {}},
                                "f:type": {}}}]).decode()


class EventSet:
    """All events of a run, pre-generated: list items, watch lines, the involved Pods."""

    def __init__(self, n0, m, pods=None, seed=1):
        rng = random.Random(seed)
        self.tag = "%012x" % random.getrandbits(48)  # per run: lines of another run never match
        self.n0, self.m, self.total = n0, m, n0 + m
        self.base_rv = 1000000
        now = time.time()
        npods = pods if pods else max(1, self.total // 10)
        self.pods = [Pod(rng, i, self.tag, now) for i in range(npods)]
        self.pod_bytes = {(p.namespace, p.name): p.object_bytes() for p in self.pods}
        self.seq_re = re.compile(rb"([0-9a-f]{8})-e2e0-4000-8000-" + self.tag.encode())
        self.keys = []   # "namespace/name" of each event (the order of a real list)
        self.items = []  # list-item form (no kind/apiVersion) of the listed events
        self.watch_lines = []  # b'{"type":"ADDED","object":{...}}\n' of the watch events
        nanos = int(now * 1e9)
        stamp = _rfc3339(now)
        managed = {c: _managed_fields(c, stamp) for c in ("kubelet", "default-scheduler")}
        for seq in range(self.total):
            # Built as text in the server's field order (json.dumps per event is 3x slower);
            # every value but the message is plain ASCII without quotes.
            pod = self.pods[rng.randrange(npods)]
            reason, etype, comp, has_field_path, repeats, template = \
                REASONS[rng.randrange(len(REASONS))]
            message = json.dumps(_message(rng, template, pod), ensure_ascii=False)
            count = rng.choice((2, 3, 5, 8, 13, 27, 41)) if repeats and rng.random() < 0.6 else 1
            first = _rfc3339(now - 37 * (count - 1)) if count > 1 else stamp
            name = f"{pod.name}.{nanos + seq * 7919:x}"
            field_path = f',"fieldPath":"spec.containers{{{pod.container}}}"' \
                if has_field_path else ""
            if comp == "kubelet":
                source, instance = f'{{"component":"kubelet","host":"{pod.node}"}}', pod.node
            else:
                source, instance = f'{{"component":"{comp}"}}', ""
            item = (
                f'{{"metadata":{{"name":"{name}","namespace":"{pod.namespace}",'
                f'"uid":"{seq:08x}-e2e0-4000-8000-{self.tag}",'
                f'"resourceVersion":"{self.rv(seq)}","creationTimestamp":"{first}",'
                f'"managedFields":{managed[comp]}}},'
                f'"involvedObject":{{"kind":"Pod","namespace":"{pod.namespace}",'
                f'"name":"{pod.name}","uid":"{pod.uid}","apiVersion":"v1",'
                f'"resourceVersion":"{pod.resource_version}"{field_path}}},'
                f'"reason":"{reason}","message":{message},"source":{source},'
                f'"firstTimestamp":"{first}","lastTimestamp":"{stamp}","count":{count},'
                f'"type":"{etype}","eventTime":null,"reportingComponent":"{comp}",'
                f'"reportingInstance":"{instance}"}}').encode()
            self.keys.append(pod.namespace + "/" + name)
            if seq < n0:
                self.items.append(item)
            else:
                self.watch_lines.append(_WATCH_PREFIX + self.watch_object(item) + b"}\n")

    def rv(self, seq):
        """resourceVersion of event seq (strictly increasing)."""
        return str(self.base_rv + 1 + seq)

    @staticmethod
    def watch_object(item):
        """A list item as a watch object: kind and apiVersion first, as the server writes it."""
        return _KIND_PREFIX + item[1:]

    def item(self, seq):
        """The list-item form of any event (watch events: derived from their watch line)."""
        if seq < self.n0:
            return self.items[seq]
        line = self.watch_lines[seq - self.n0]
        return b"{" + line[len(_WATCH_PREFIX) + len(_KIND_PREFIX):-2]

    def seqs_in(self, data):
        """The event seqs whose uid appears in data (a shipped line or many)."""
        return [int(h, 16) for h in self.seq_re.findall(data)]

    def mean_size(self):
        sample = self.items[:200] + [self.item(self.n0 + i) for i in range(min(200, self.m))]
        return sum(len(s) for s in sample) / max(1, len(sample))
