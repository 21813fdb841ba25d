#!/usr/bin/env python3
"""Creates what a busy cluster would emit, through the test bed's kube-apiserver: a namespace, a
Deployment and a Pod, then FailedScheduling, Pulled, BackOff events and a repeated BackOff whose
count rises."""
import datetime
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "e2e"))
import bed  # noqa: E402

kube = bed.Kube()
ns = os.environ.get("DEMO_NAMESPACE", "demo")


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def create(path, body):
    try:
        return kube.post(path, body)
    except bed.ApiError as e:
        if e.status != 409:
            raise
        return None


create("/api/v1/namespaces", {"metadata": {"name": ns}})
create(f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": "default"}})
dep = create(f"/apis/apps/v1/namespaces/{ns}/deployments", {
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
pod = create(f"/api/v1/namespaces/{ns}/pods", {
    "metadata": {"name": "web-0", "labels": {"app": "web", "team": "shop"}},
    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})
pod = pod or kube.get(f"/api/v1/namespaces/{ns}/pods/web-0")


def event(reason, type_, message, obj, kind, api_version="v1", component="kubelet"):
    name = f"{obj['metadata']['name']}.{uuid.uuid4().hex[:12]}"
    ts = now()
    return kube.post(f"/api/v1/namespaces/{ns}/events", {
        "metadata": {"name": name},
        "involvedObject": {"kind": kind, "name": obj["metadata"]["name"], "namespace": ns,
                           "uid": obj["metadata"]["uid"], "apiVersion": api_version},
        "reason": reason, "message": message, "type": type_,
        "source": {"component": component, "host": "node-1"},
        "firstTimestamp": ts, "lastTimestamp": ts, "count": 1})


event("FailedScheduling", "Warning", "0/3 nodes are available: 3 Insufficient cpu.", pod, "Pod",
      component="default-scheduler")
event("Pulled", "Normal", 'Successfully pulled image "nginx:1.27" in 1.2s', pod, "Pod")
if dep:
    event("ScalingReplicaSet", "Normal", "Scaled up replica set web-7d4b9c8f5d to 1", dep,
          "Deployment", "apps/v1", "deployment-controller")
backoff = event("BackOff", "Warning", "Back-off restarting failed container web", pod, "Pod")
for count in (2, 3, 4):
    backoff["count"] = count
    backoff["lastTimestamp"] = now()
    backoff = kube.request("PUT", f"/api/v1/namespaces/{ns}/events/{backoff['metadata']['name']}",
                           backoff)[1]
print(f"demo-events: created events in namespace {ns} (BackOff repeated up to count 4)")
