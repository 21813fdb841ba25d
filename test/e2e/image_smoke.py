"""Smoke test of the container image (scripts/build-image) as the chart's pod, on the test bed.
Not part of ctest: it needs root (chroot) and Debian's buildah, which CI does not have. Run it with
    test/e2e/run image_smoke

There is no container runtime and no kubelet here, so the pod is emulated as closely as this
machine allows: the OCI archive is built, its config checked (non-root user, entrypoint), its
layers unpacked; the chart is installed (Bitnami values-loki.yaml) and its Deployment's container
is run in that filesystem with chroot as the image's user, with the Deployment's own args and env
(POD_NAMESPACE resolved as the kubelet would), the chart's ConfigMap at /data/config.yaml, and a
TokenRequest token of the chart's ServiceAccount plus ca.crt and namespace at
/var/run/secrets/kubernetes.io/serviceaccount with KUBERNETES_SERVICE_HOST/PORT set: the in-cluster
path. Only the Loki URL is pointed at the bed's VictoriaLogs. Events reach it, enriched.
"""

import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import unittest
import urllib.parse
import uuid

from bed import Kube, env, http_json, poll, service_account_token
from test_helm import CHART, VALUES_LOKI, free_port, helm, logsql, yaml
from test_watch import post_events

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SA_DIR = "var/run/secrets/kubernetes.io/serviceaccount"


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


class ImageSmokeTest(unittest.TestCase):
    def unpack_image(self, tmp):
        archive = os.path.join(tmp, "image.oci.tar")
        args = [os.path.join(REPO, "scripts", "build-image"), "--out", archive]
        if os.environ.get("KE_BINARY"):
            args += ["--binary", os.environ["KE_BINARY"]]
        subprocess.run(args, check=True)
        oci, root = os.path.join(tmp, "oci"), os.path.join(tmp, "rootfs")
        with tarfile.open(archive) as t:
            t.extractall(oci)
        blob = lambda d: os.path.join(oci, "blobs", "sha256", d.split(":")[1])  # noqa: E731
        index = json.loads(read(os.path.join(oci, "index.json")))
        manifest = json.loads(read(blob(index["manifests"][0]["digest"])))
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
        return root, config

    def test_image_runs_the_charts_pod_spec(self):
        tmp = tempfile.mkdtemp(prefix="ke-e2e-image-")
        root, image_config = self.unpack_image(tmp)
        kube = Kube()
        ns, port = f"kee-img-{uuid.uuid4().hex[:6]}", free_port()
        helm("upgrade", "--install", "kee", CHART, "--namespace", ns, "--create-namespace", "--wait=false",
             "-f", VALUES_LOKI, "--set", f"containerPorts.http={port}")
        self.addCleanup(lambda: helm("uninstall", "kee", "--namespace", ns, check=False))
        docs = [d for d in yaml.safe_load_all(helm("get", "manifest", "kee", "--namespace", ns).stdout) if d]
        dep = [d for d in docs if d["kind"] == "Deployment"][0]
        pod = dep["spec"]["template"]["spec"]
        c = pod["containers"][0]
        self.assertEqual(c["volumeMounts"][0]["mountPath"], "/data")
        # /data: the chart's ConfigMap (Loki URL -> the bed's VictoriaLogs)
        text = kube.get(f"/api/v1/namespaces/{ns}/configmaps/kee-kube-event-exporter")["data"]["config.yaml"]
        text = text.replace("http://loki-gateway.kube-monitor.svc.cluster.local/loki/api/v1/push",
                            f"{env('VLOGS_URL')}/insert/loki/api/v1/push")
        write(os.path.join(root, "data", "config.yaml"), text)
        # the ServiceAccount volume the kubelet would mount
        sa = pod["serviceAccountName"]
        token = service_account_token(kube, ns, sa)
        write(os.path.join(root, SA_DIR, "token"), token)
        write(os.path.join(root, SA_DIR, "ca.crt"), read(env("KUBE_CA_FILE")))
        write(os.path.join(root, SA_DIR, "namespace"), ns)
        os.chmod(os.path.join(root, "tmp"), 0o1777)
        # the container's env, fieldRefs resolved
        fields = {"metadata.namespace": ns, "metadata.name": "kee-kube-event-exporter-0"}
        child_env = {"PATH": "/", "HOME": "/tmp"}
        for e in c["env"]:
            child_env[e["name"]] = e["value"] if "value" in e else fields[e["valueFrom"]["fieldRef"]["fieldPath"]]
        url = urllib.parse.urlsplit(env("KUBE_APISERVER_URL"))
        child_env.update(KUBERNETES_SERVICE_HOST=url.hostname, KUBERNETES_SERVICE_PORT=str(url.port))
        user = c["securityContext"]["runAsUser"], c["securityContext"]["runAsGroup"]
        argv = image_config["Entrypoint"] + c.get("args", image_config["Cmd"])
        self.assertEqual(argv, ["/kube-event-exporter", "-conf=/data/config.yaml", f"-metrics-address=:{port}"])
        app = f"kee-img-app-{uuid.uuid4().hex[:6]}"
        kube.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": app}})
        app_dep = kube.post(f"/apis/apps/v1/namespaces/{app}/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
        log_path = os.path.join(tmp, "exporter.log")
        log = open(log_path, "w")
        # The chart's runAsUser (1001) differs from the image's USER (65532): both are non-root and
        # the image needs no particular uid. Run as the chart says, as the kubelet would.
        p = subprocess.Popen([shutil.which("chroot"), f"--userspec={user[0]}:{user[1]}", root, *argv],
                             stdout=log, stderr=log, env=child_env)
        try:
            probe = lambda path: http_json(f"http://127.0.0.1:{port}{path}")[0] == 200  # noqa: E731
            poll(lambda: probe("/-/healthy") and probe("/-/ready"), 60, 0.2, "the chart's probes to pass")
            names = [f"img.{i}" for i in range(5)]
            post_events(app, app_dep, names, threads=1)
            query = f'{{job="kubernetes-event"}} involvedObject.namespace:="{app}"'
            rows = poll(lambda: (r := logsql(query)) and len(r) >= 5 and r, 60, 0.5, "events in VictoriaLogs")
            self.assertEqual(sorted(r["metadata.name"] for r in rows), names)
            self.assertTrue(all(r.get("involvedObject.labels.app") == "web" for r in rows))
            self.assertIn("in-cluster", read(log_path))
        finally:
            p.send_signal(signal.SIGTERM)
            rc = p.wait(timeout=30)
            log.close()
            self.assertEqual(rc, 0, read(log_path)[-2000:])


if __name__ == "__main__":
    unittest.main()
