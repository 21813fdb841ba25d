"""Smoke test of the container image (scripts/build-image) on the test bed. Not part of ctest:
it needs root and Debian's buildah, which CI does not have. Run it with
    test/e2e/run image_smoke

There is no container runtime here, so the image is checked the closest way: the OCI archive is
built, its config checked (non-root user, entrypoint), its layers unpacked, and the exporter started
in that filesystem with chroot as the image's user (so only the libraries and CA bundle the image
holds are available). It watches the bed's kube-apiserver (a kubeconfig with a ServiceAccount
token and the bed's CA inside the rootfs), ships events to a file receiver and serves /metrics.
"""

import base64
import json
import os
import signal
import subprocess
import tarfile
import tempfile
import unittest
import uuid

from bed import Kube, env, http_json, poll
from test_helm import free_port
from test_watch import post_events

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


class ImageSmokeTest(unittest.TestCase):
    def test_image_runs_as_non_root_and_exports(self):
        tmp = tempfile.mkdtemp(prefix="ke-e2e-image-")
        archive = os.path.join(tmp, "image.oci.tar")
        args = [os.path.join(REPO, "scripts", "build-image"), "--out", archive]
        if os.environ.get("KE_BINARY"):
            args += ["--binary", os.environ["KE_BINARY"]]
        subprocess.run(args, check=True)
        oci, root = os.path.join(tmp, "oci"), os.path.join(tmp, "rootfs")
        with tarfile.open(archive) as t:
            t.extractall(oci)
        blob = lambda d: os.path.join(oci, "blobs", "sha256", d.split(":")[1])  # noqa: E731
        manifest = json.loads(read(blob(json.loads(read(os.path.join(oci, "index.json")))["manifests"][0]["digest"])))
        config = json.loads(read(blob(manifest["config"]["digest"])))["config"]
        self.assertEqual(config["User"], "65532:65532")
        self.assertEqual(config["Entrypoint"], ["/kube-event-exporter"])
        for layer in manifest["layers"]:
            with tarfile.open(blob(layer["digest"])) as t:
                t.extractall(root)
        # Nothing but the binary, its libraries and loader, /etc (CA bundle, passwd), /data, /tmp.
        self.assertTrue({"kube-event-exporter", "etc", "tmp", "data"} <= set(os.listdir(root)))
        self.assertFalse({"bin", "sbin", "usr"} & set(os.listdir(root)), "no shell or tools in the image")
        self.assertTrue(os.path.exists(os.path.join(root, "etc", "ssl", "certs", "ca-certificates.crt")))
        # A ServiceAccount that may read events (the RBAC the chart grants, reduced to events).
        kube, ns = Kube(), f"ke-image-{uuid.uuid4().hex[:6]}"
        kube.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        kube.post(f"/api/v1/namespaces/{ns}/serviceaccounts",
                  {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "exporter"}})
        kube.post(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "events"},
            "rules": [{"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
                      {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]})
        kube.post(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "events"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "events"},
            "subjects": [{"kind": "ServiceAccount", "name": "exporter", "namespace": ns}]})
        token = kube.post(f"/api/v1/namespaces/{ns}/serviceaccounts/exporter/token",
                          {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                           "spec": {"expirationSeconds": 3600}})["status"]["token"]
        with open(env("KUBE_CA_FILE"), "rb") as f:
            ca = base64.b64encode(f.read()).decode()
        with open(os.path.join(root, "tmp", "kubeconfig"), "w") as f:
            f.write(f"""apiVersion: v1
kind: Config
current-context: sa
clusters: [{{name: bed, cluster: {{server: "{env('KUBE_APISERVER_URL')}", certificate-authority-data: {ca}}}}}]
users: [{{name: sa, user: {{token: {token}}}}}]
contexts: [{{name: sa, context: {{cluster: bed, user: sa, namespace: {ns}}}}}]
""")
        with open(os.path.join(root, "data", "config.yaml"), "w") as f:
            f.write(f"""logFormat: json
maxEventAgeSeconds: 3600
namespace: {ns}
metricsNamePrefix: event_exporter_
receivers: [{{name: file, file: {{path: /tmp/events.jsonl}}}}]
route: {{routes: [{{match: [{{receiver: file}}]}}]}}
""")
        os.chmod(os.path.join(root, "tmp"), 0o1777)
        dep = kube.post(f"/apis/apps/v1/namespaces/{ns}/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
        port = free_port()
        log = open(os.path.join(tmp, "exporter.log"), "w")
        # The image's ENTRYPOINT + CMD, plus the flags a pod would get.
        p = subprocess.Popen(["chroot", "--userspec=65532:65532", root, "/kube-event-exporter",
                              "-conf=/data/config.yaml", "-kubeconfig=/tmp/kubeconfig",
                              f"-metrics-address=127.0.0.1:{port}"], stdout=log, stderr=log)
        try:
            poll(lambda: http_json(f"http://127.0.0.1:{port}/-/ready")[0] == 200, 60, 0.2, "ready")
            post_events(ns, dep, [f"img.{i}" for i in range(5)], threads=1)
            out = os.path.join(root, "tmp", "events.jsonl")
            recs = poll(lambda: os.path.exists(out) and len(lines := read(out).splitlines()) >= 5 and
                        [json.loads(x) for x in lines], 60, 0.2, "5 records")
            self.assertEqual(sorted(r["metadata"]["name"] for r in recs), [f"img.{i}" for i in range(5)])
            self.assertEqual(recs[0]["involvedObject"]["labels"], {"app": "web"})
            self.assertIn("event_exporter_events_sent 5", http_json(f"http://127.0.0.1:{port}/metrics")[1].decode())
            self.assertEqual(os.stat(out).st_uid, 65532)
        finally:
            p.send_signal(signal.SIGTERM)
            rc = p.wait(timeout=30)
            log.close()
            self.assertEqual(rc, 0, read(os.path.join(tmp, "exporter.log"))[-2000:])


def read(path):
    with open(path) as f:
        return f.read()


if __name__ == "__main__":
    unittest.main()
