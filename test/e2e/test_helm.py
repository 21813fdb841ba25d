"""e2e tests of the Helm chart helm/kube-event-exporter (issue 6) on the real test bed.

Run with test/e2e/run test_helm (needs the bed: helm, kube-apiserver, VictoriaLogs, Prometheus,
Pushgateway).
  - helm lint --strict and helm template with the default values, with a Bitnami values.yaml
    (testdata/helm/values-loki.yaml, a copy of ../shared/testdata/values-loki.yaml) and with every
    documented option set (testdata/helm/values-all.yaml); secure defaults; least-privilege RBAC;
    the rendered config passes `kube-event-exporter check-config`; the schema rejects typos and
    bad values with the path in the message; PrometheusRule passes promtool.
  - helm upgrade --install into kube-apiserver: every object of the release exists; a Pod from the
    Deployment's template passes the "restricted" Pod Security Standard. Then the exporter binary
    runs outside the cluster with the config the chart put in the cluster and a TokenRequest token
    of the chart's ServiceAccount (so with exactly the chart's RBAC): events reach VictoriaLogs
    (Loki push) enriched and it creates and updates the checkpoint ConfigMap (chart's Role, also
    with Bitnami's default values); with replicaCount 2 it takes and releases the chart's Lease; with
    kubeBench.enabled it authenticates the Jobs' ServiceAccount by TokenReview; a
    SubjectAccessReview matrix shows nothing wider is granted.
  - dashboards: valid JSON, every panel titled and on a datasource variable, every metric a panel
    queries exists in a real /metrics scrape of the binary, every PromQL query is accepted by the
    bed's Prometheus scraping that binary and the kube-bench ones return pushed totals; the fields
    the Loki panels use exist in the lines the binary ships.
"""

import copy
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import uuid

try:
    import yaml
except ImportError:  # a python3 other than Debian's: use Debian's python3-yaml (scripts/install-deps)
    sys.path.append("/usr/lib/python3/dist-packages")
    import yaml

from bed import Kube, env, http_json, poll, service_account_kubeconfig
from test_watch import binary, post_events

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CHART = os.path.join(REPO, "helm", "kube-event-exporter")
TOOLS = os.path.join(REPO, "helm", "tools")
DATA = os.path.join(HERE, "testdata", "helm")
VALUES_LOKI = os.path.join(DATA, "values-loki.yaml")
VALUES_ALL = os.path.join(DATA, "values-all.yaml")
DASHBOARDS = os.path.join(CHART, "dashboards")

# Series Prometheus makes itself, not the exporter.
PROMETHEUS_OWN = {"up"}


def helm(*args, check=True, timeout=120):
    p = subprocess.run([env("HELM_BIN"), *args], capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    return p


class StrictLoader(yaml.SafeLoader):
    """A YAML loader that rejects a mapping with a key twice, as Flux and kustomize do (PyYAML
    keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def render(*args, release="t", namespace="kee"):
    """helm template; every manifest is parsed strictly (no duplicate keys)."""
    out = helm("template", release, CHART, "--namespace", namespace, *args).stdout
    return [d for d in yaml.load_all(out, Loader=StrictLoader) if d]


def find(docs, kind, name=None):
    got = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    return got


def one(docs, kind, name=None):
    got = find(docs, kind, name)
    if len(got) != 1:
        raise AssertionError(f"expected one {kind} {name or ''}, got {[d['metadata']['name'] for d in got]}")
    return got[0]


def config_of(docs):
    """The config.yaml the chart rendered (ConfigMap or Secret)."""
    for d in docs:
        if d["kind"] == "ConfigMap" and "config.yaml" in d.get("data", {}):
            return d["data"]["config.yaml"]
        if d["kind"] == "Secret" and "config.yaml" in d.get("stringData", {}):
            return d["stringData"]["config.yaml"]
    raise AssertionError("no config object rendered")


def check_config(text, tmp):
    path = os.path.join(tmp, f"check-{uuid.uuid4().hex[:6]}.yaml")
    with open(path, "w") as f:
        f.write(text)
    p = subprocess.run([binary(), "check-config", "-conf", path], capture_output=True, text=True,
                       timeout=60)
    return p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rules_of(role):
    return [(tuple(r.get("apiGroups", [])), tuple(r.get("resources", [])), tuple(r.get("verbs", [])),
             tuple(r.get("resourceNames", []))) for r in role.get("rules", [])]


def containers(dep):
    return dep["spec"]["template"]["spec"]["containers"]


CHECKPOINT_DEFAULT = {"configMap": "t-kube-event-exporter-checkpoint", "namespace": "kee", "interval": "5s"}


def checkpoint_rules(name):
    return [(("",), ("configmaps",), ("get", "update"), (name,)),
            (("",), ("configmaps",), ("create",), ())]


class HelmTemplateTest(unittest.TestCase):
    """helm lint/template; no cluster needed but the bed's helm."""

    def assert_checkpoint_role(self, docs, name, namespace, release="t", sa="t-kube-event-exporter",
                               sa_namespace="kee", fullname="t-kube-event-exporter"):
        role = one(docs, "Role", f"{fullname}-checkpoint")
        self.assertEqual(role["metadata"]["namespace"], namespace)
        self.assertEqual(role["metadata"]["labels"]["app.kubernetes.io/instance"], release)
        self.assertEqual(rules_of(role), checkpoint_rules(name))
        binding = one(docs, "RoleBinding", f"{fullname}-checkpoint")
        self.assertEqual(binding["metadata"]["namespace"], namespace)
        self.assertEqual(binding["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                              "name": f"{fullname}-checkpoint"})
        self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount", "name": sa, "namespace": sa_namespace}])

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ke-e2e-helm-")

    def test_values_loki_is_the_shared_copy(self):
        # The copy stays byte-identical to ../shared/testdata/values-loki.yaml (its SHA-256 as
        # handed to us; compared with the original too where ../shared is present).
        with open(VALUES_LOKI, "rb") as f:
            ours = f.read()
        self.assertEqual(hashlib.sha256(ours).hexdigest(),
                         "db95e49f41dec67677455d71215625157cde462d5a6dea67e3b27ab8b92951ab")
        shared = os.path.join(REPO, "..", "shared", "testdata", "values-loki.yaml")
        if os.path.exists(shared):
            with open(shared, "rb") as f:
                self.assertEqual(f.read(), ours)

    def test_lint(self):
        for args in ([], ["-f", VALUES_LOKI], ["-f", VALUES_ALL]):
            p = helm("lint", "--strict", CHART, *args)
            self.assertIn("1 chart(s) linted, 0 chart(s) failed", p.stdout, p.stdout + p.stderr)

    def test_generated_files_match_their_generators(self):
        p = subprocess.run([sys.executable, os.path.join(TOOLS, "gen-values-schema.py")],
                           capture_output=True, text=True, check=True)
        with open(os.path.join(CHART, "values.schema.json")) as f:
            self.assertEqual(p.stdout, f.read(), "run helm/tools/gen-values-schema.py")
        out = os.path.join(self.tmp, "dashboards")
        os.makedirs(out, exist_ok=True)
        subprocess.run([sys.executable, os.path.join(TOOLS, "gen-dashboards.py"), out], check=True)
        self.assertEqual(sorted(os.listdir(out)), sorted(os.listdir(DASHBOARDS)))
        for name in os.listdir(out):
            with open(os.path.join(out, name)) as a, open(os.path.join(DASHBOARDS, name)) as b:
                self.assertEqual(a.read(), b.read(), f"{name}: run helm/tools/gen-dashboards.py")

    def test_defaults_are_secure_and_least_privilege(self):
        docs = render()
        kinds = sorted(d["kind"] for d in docs)
        self.assertEqual(kinds, sorted(["ServiceAccount", "ConfigMap", "ClusterRole", "ClusterRoleBinding",
                                        "Role", "RoleBinding",  # the checkpoint ConfigMap
                                        "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"]
                                       + ["ConfigMap"] * 4))
        dep = one(docs, "Deployment")
        pod = dep["spec"]["template"]["spec"]
        c = containers(dep)[0]
        sc = c["securityContext"]
        self.assertTrue(sc["runAsNonRoot"])
        self.assertNotEqual(sc["runAsUser"], 0)
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertFalse(sc["privileged"])
        self.assertEqual(sc["capabilities"], {"drop": ["ALL"]})
        self.assertEqual(sc["seccompProfile"], {"type": "RuntimeDefault"})
        # The ServiceAccount does not hand its token to every pod; the exporter's pod mounts it.
        self.assertIs(one(docs, "ServiceAccount")["automountServiceAccountToken"], False)
        self.assertIs(pod["automountServiceAccountToken"], True)
        self.assertEqual(pod["serviceAccountName"], "t-kube-event-exporter")
        self.assertEqual(c["args"], ["-conf=/data/config.yaml", "-metrics-address=:2112"])
        self.assertEqual(c["ports"], [{"name": "http", "containerPort": 2112, "protocol": "TCP"}])
        self.assertEqual(c["livenessProbe"]["httpGet"], {"path": "/-/healthy", "port": "http"})
        self.assertEqual(c["readinessProbe"]["httpGet"], {"path": "/-/ready", "port": "http"})
        self.assertNotIn("startupProbe", c)
        self.assertIn({"name": "tmp", "mountPath": "/tmp"}, c["volumeMounts"])
        # The checksum annotation is the config's hash: a config change rolls the pods.
        cfg = config_of(docs)
        self.assertEqual(dep["spec"]["template"]["metadata"]["annotations"]["checksum/config"],
                         hashlib.sha256(cfg.rstrip("\n").encode()).hexdigest())
        self.assertEqual(check_config(cfg, self.tmp).returncode, 0)
        # RBAC: read events, get the enrichment kinds; nothing else (no *, no secrets/configmaps,
        # no writes, no leases, no tokenreviews).
        role = one(docs, "ClusterRole")
        rules = rules_of(role)
        self.assertEqual(rules[0], (("",), ("events",), ("get", "list", "watch"), ()))
        for groups, resources, verbs, _ in rules[1:]:
            self.assertEqual(verbs, ("get",))
            self.assertFalse({"secrets", "configmaps", "*"} & set(resources), resources)
            self.assertNotIn("*", groups)
        self.assertIn(("apps",), [r[0] for r in rules])
        # The delivery checkpoint (on by default): the config names the ConfigMap, and the only
        # Role grants get/update on that one ConfigMap and create (not restrictable by name).
        self.assertEqual(yaml.safe_load(cfg)["checkpoint"], CHECKPOINT_DEFAULT)
        self.assert_checkpoint_role(docs, "t-kube-event-exporter-checkpoint", "kee")
        self.assertEqual([r["metadata"]["name"] for r in find(docs, "Role")], ["t-kube-event-exporter-checkpoint"])
        binding = one(docs, "ClusterRoleBinding")
        self.assertEqual(binding["roleRef"]["name"], role["metadata"]["name"])
        self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount", "name": "t-kube-event-exporter",
                                                "namespace": "kee"}])
        svc = one(docs, "Service")
        self.assertEqual(svc["metadata"]["name"], "t-kube-event-exporter-metrics")
        self.assertEqual(svc["spec"]["ports"], [{"name": "http", "port": 2112, "targetPort": "http",
                                                 "protocol": "TCP"}])
        self.assertEqual(svc["metadata"]["annotations"]["prometheus.io/port"], "2112")
        labels = dep["spec"]["template"]["metadata"]["labels"]
        self.assertTrue(all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()))
        self.assertEqual(one(docs, "PodDisruptionBudget")["spec"]["maxUnavailable"], 1)
        dash = [d for d in find(docs, "ConfigMap") if "dashboard" in d["metadata"]["name"]]
        self.assertEqual(len(dash), 4)
        for d in dash:
            self.assertEqual(d["metadata"]["labels"]["grafana_dashboard"], "1")
            for v in d["data"].values():
                json.loads(v)

    def test_bitnami_values_loki_renders_unchanged(self):
        with open(VALUES_LOKI) as f:
            user = yaml.safe_load(f)["config"]
        docs = render("-f", VALUES_LOKI)
        text = config_of(docs)
        cfg = yaml.safe_load(text)
        for key, value in user.items():  # every key the user wrote, as written
            self.assertEqual(cfg[key], value, key)
        self.assertEqual(set(cfg) - set(user), {"clusterName", "maxEventAgeSeconds", "checkpoint"})
        self.assertEqual(cfg["checkpoint"], CHECKPOINT_DEFAULT)
        self.assertEqual(cfg["receivers"][0]["loki"]["streamLabels"], {"job": "kubernetes-event"})
        p = check_config(text, self.tmp)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # replicaCount 1: no leader election, only the checkpoint's Role
        self.assertEqual([r["metadata"]["name"] for r in find(docs, "Role")], ["t-kube-event-exporter-checkpoint"])

    def test_every_option(self):
        docs = render("-f", VALUES_ALL, "--api-versions", "autoscaling.k8s.io/v1/VerticalPodAutoscaler",
                      release="all", namespace="mon")
        # fullname = release-nameOverride
        dep = one(docs, "Deployment", "all-kee")
        pod = dep["spec"]["template"]["spec"]
        c = [x for x in pod["containers"] if x["name"] == "event-exporter"][0]
        self.assertEqual(c["image"], "registry.example.com/kube-event-exporter/kube-event-exporter:0.1.0")
        self.assertEqual(c["imagePullPolicy"], "Always")
        self.assertEqual(pod["imagePullSecrets"], [{"name": "global-pull"}, {"name": "image-pull"}])
        # terminationGracePeriodSeconds 45: the exporter's shutdown budget ends 5 s before
        self.assertEqual(c["args"], ["-conf=/data/config.yaml", "-metrics-address=:9112", "-shutdown-timeout=40s"])
        self.assertEqual([p["containerPort"] for p in c["ports"]], [9112, 9080, 9999])
        self.assertEqual(c["resources"], {"requests": {"cpu": "20m", "memory": "48Mi"},
                                          "limits": {"memory": "256Mi"}})
        self.assertEqual(c["startupProbe"]["httpGet"]["path"], "/-/healthy")
        self.assertEqual(c["lifecycle"]["preStop"]["exec"]["command"][1], "--version")
        self.assertIn({"name": "LOKI_USER", "value": "events"}, c["env"])
        self.assertEqual(c["envFrom"], [{"configMapRef": {"name": "kee-env"}},
                                        {"secretRef": {"name": "kee-loki-credentials"}}])
        self.assertIn({"name": "spool", "mountPath": "/var/spool/kee"}, c["volumeMounts"])
        self.assertEqual([x["name"] for x in pod["containers"]], ["event-exporter", "sidecar"])
        self.assertEqual([x["name"] for x in pod["initContainers"]], ["init"])
        self.assertEqual(pod["terminationGracePeriodSeconds"], 45)
        self.assertEqual(pod["hostAliases"][0]["ip"], "10.0.0.10")
        self.assertEqual(pod["nodeSelector"], {"kubernetes.io/os": "linux"})
        self.assertEqual(pod["tolerations"][0]["key"], "dedicated")
        self.assertIn("requiredDuringSchedulingIgnoredDuringExecution", pod["affinity"]["podAntiAffinity"])
        self.assertIn("preferredDuringSchedulingIgnoredDuringExecution", pod["affinity"]["nodeAffinity"])
        self.assertEqual(pod["topologySpreadConstraints"][0]["maxSkew"], 1)
        self.assertEqual(pod["securityContext"]["supplementalGroups"], [2000])
        self.assertEqual(dep["spec"]["replicas"], 2)
        self.assertEqual(dep["spec"]["revisionHistoryLimit"], 3)
        self.assertEqual(dep["spec"]["strategy"]["rollingUpdate"]["maxSurge"], 0)
        self.assertEqual(dep["metadata"]["labels"]["team"], "platform")
        self.assertEqual(dep["metadata"]["annotations"]["owner"], "all")
        self.assertEqual(dep["spec"]["template"]["metadata"]["labels"]["tier"], "monitoring")
        # config as a tpl string, in a Secret
        secret = one(docs, "Secret", "all-kee")
        cfg = yaml.safe_load(secret["stringData"]["config.yaml"])
        self.assertEqual(cfg["clusterName"], "mon-cluster")
        self.assertEqual(cfg["checkpoint"], {"configMap": "all-delivery", "namespace": "mon", "interval": "10s"})
        self.assertEqual(cfg["leaderElection"], {"enabled": True, "leaderElectionID": "all-kee-leader-election"})
        self.assertEqual(cfg["ingest"], {"address": "0.0.0.0:9080", "maxBodyBytes": 1048576,
                                         "auth": {"mode": "tokenReview", "allowedServiceAccounts":
                                                  ["monitoring:bench-sender", "mon:all-kee-kube-bench"]},
                                         "tls": {"certFile": "/etc/kube-event-exporter/ingest-tls/tls.crt",
                                                 "keyFile": "/etc/kube-event-exporter/ingest-tls/tls.key"}})
        self.assertEqual(pod["volumes"][0], {"name": "config", "secret": {"secretName": "all-kee"}})
        self.assertFalse([d for d in find(docs, "ConfigMap") if d["metadata"]["name"] == "all-kee"])
        # RBAC: lease Role (only that Lease), tokenreviews create, the listed enrichment kinds
        sa = one(docs, "ServiceAccount", "kee-sa")
        self.assertEqual(sa["metadata"]["annotations"]["example.com/role"], "exporter")
        role = one(docs, "Role", "all-kee-leader-election")
        self.assertEqual(rules_of(role), [(("coordination.k8s.io",), ("leases",), ("get", "update"),
                                           ("all-kee-leader-election",)),
                                          (("coordination.k8s.io",), ("leases",), ("create",), ())])
        self.assertEqual(one(docs, "RoleBinding", "all-kee-leader-election")["subjects"][0]["name"], "kee-sa")
        self.assert_checkpoint_role(docs, "all-delivery", "mon", release="all", sa="kee-sa", sa_namespace="mon",
                                    fullname="all-kee")
        cr = rules_of(one(docs, "ClusterRole"))
        self.assertIn((("authentication.k8s.io",), ("tokenreviews",), ("create",), ()), cr)
        self.assertIn((("apps",), ("deployments", "replicasets"), ("get",), ()), cr)
        self.assertEqual(len(cr), 4)
        # Services, monitoring objects
        ingest = one(docs, "Service", "all-kee-ingest")
        self.assertEqual(ingest["spec"]["ports"][0]["port"], 8081)
        self.assertEqual(ingest["spec"]["ports"][0]["targetPort"], "ingest")
        self.assertEqual(ingest["metadata"]["labels"]["exposure"], "internal")
        self.assertEqual(one(docs, "Service", "all-kee-metrics")["metadata"]["labels"]["scrape"], "yes")
        sm = one(docs, "ServiceMonitor")
        ep = sm["spec"]["endpoints"][0]
        self.assertEqual((ep["port"], ep["path"], ep["interval"], ep["scrapeTimeout"], ep["honorLabels"]),
                         ("http", "/metrics", "15s", "10s", True))
        self.assertEqual(sm["spec"]["jobLabel"], "app.kubernetes.io/name")
        self.assertEqual(sm["metadata"]["labels"]["release"], "prometheus")
        pr = one(docs, "PrometheusRule")
        self.assertEqual([g["name"] for g in pr["spec"]["groups"]], ["kube-event-exporter", "custom"])
        self.assertIn("kee_send_event_errors", json.dumps(pr["spec"]))  # the config's prefix
        np = one(docs, "NetworkPolicy")
        self.assertNotIn({}, np["spec"]["egress"])
        self.assertIn({"ports": [{"port": 80}, {"port": 3100}]}, np["spec"]["egress"])
        # the Loki receiver's port (http://loki-gateway...: 80) is open without extraEgress
        self.assertIn({"ports": [{"port": 80, "protocol": "TCP"}]}, np["spec"]["egress"])
        self.assertEqual(np["spec"]["ingress"][0]["from"][2]["namespaceSelector"]["matchLabels"],
                         {"kubernetes.io/metadata.name": "monitoring"})
        self.assertEqual(one(docs, "PodDisruptionBudget")["spec"], {
            "minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "kee",
                                                            "app.kubernetes.io/instance": "all"}}})
        self.assertEqual(one(docs, "VerticalPodAutoscaler")["spec"]["updatePolicy"],
                         {"minReplicas": 1, "updateMode": "Auto"})
        self.assertEqual(one(docs, "ConfigMap", "all-extra")["data"]["note"], "extra object")
        dash = [d for d in find(docs, "ConfigMap") if "dashboard" in d["metadata"]["name"]]
        self.assertEqual(len(dash), 4)
        for d in dash:
            self.assertEqual(d["metadata"]["annotations"]["grafana_folder"], "Kubernetes")
            for v in d["data"].values():
                j = json.loads(v)
                for var in j["templating"]["list"]:
                    if var["name"] == "metrics_prefix":
                        self.assertEqual(var["query"], "kee_")
        # kube-bench: a CronJob per node, pinned, posting to the ingest Service with its own token
        crons = find(docs, "CronJob")
        self.assertEqual(len(crons), 3)
        by_node = {c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["nodeName"]: c for c in crons}
        self.assertEqual(set(by_node), {"cp-k8s", "wk1-k8s", "wk2-k8s"})
        self.assertEqual(by_node["wk2-k8s"]["spec"]["schedule"], "30 0 * * 5")
        jp = by_node["cp-k8s"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        self.assertEqual(jp["serviceAccountName"], "all-kee-kube-bench")
        self.assertIs(jp["automountServiceAccountToken"], False)
        # a control-plane node: every target in one run, one report
        self.assertIn("--targets=master,etcd,controlplane,policies", jp["initContainers"][0]["command"])
        self.assertEqual(jp["initContainers"][0]["args"], ["--benchmark", "cis-1.10"])
        post = jp["containers"][0]
        # ingest.tls: HTTPS, the Job trusts the Secret's ca.crt
        self.assertEqual(post["args"][:5], ["post-bench", "--file=/out/report.json",
                                            "--url=https://all-kee-ingest.mon.svc:8081/api/v1/kube-bench",
                                            "--node=cp-k8s", "--target=master,etcd,controlplane,policies"])
        self.assertIn("--syntax=kube-bench run --targets=master,etcd,controlplane,policies", post["args"])
        self.assertIn("--ca-file=/var/run/secrets/kube-bench-ca/ca.crt", post["args"])
        vols = {v["name"]: v for v in jp["volumes"]}
        self.assertEqual(vols["ingest-ca"]["secret"], {"secretName": "all-ingest-tls",
                                                       "items": [{"key": "ca.crt", "path": "ca.crt"}]})
        cfg_ingest = yaml.safe_load(config_of(docs))["ingest"]
        self.assertEqual(cfg_ingest["tls"], {"certFile": "/etc/kube-event-exporter/ingest-tls/tls.crt",
                                             "keyFile": "/etc/kube-event-exporter/ingest-tls/tls.key"})
        dep_vols = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
        self.assertEqual(dep_vols["ingest-tls"]["secret"]["secretName"], "all-ingest-tls")
        self.assertEqual(one(docs, "Service", "all-kee-ingest")["spec"]["ports"][0]["name"], "https")
        self.assertTrue(post["securityContext"]["readOnlyRootFilesystem"])
        self.assertEqual(one(docs, "ServiceAccount", "all-kee-kube-bench")["automountServiceAccountToken"],
                         False)
        # The Job pods are not endpoints of the exporter's Services nor covered by its PDB/policy.
        bench_labels = by_node["cp-k8s"]["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
        selectors = [s["spec"]["selector"] for s in find(docs, "Service")] + [
            one(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
            np["spec"]["podSelector"]["matchLabels"], dep["spec"]["selector"]["matchLabels"]]
        for sel in selectors:
            self.assertFalse(all(bench_labels.get(k) == v for k, v in sel.items()), sel)
        self.assertIn({"podSelector": {"matchLabels": bench_labels}}, np["spec"]["ingress"][0]["from"])

    def test_kube_bench_cronjob_names_are_unique_per_node_and_targets(self):
        # Nodes of one GKE pool share everything but a suffix beyond the name budget.
        pool = "gke-production-cluster-default-pool-1a2b3c4d"
        nodes = [f"{pool}-{s}" for s in ("x1y2", "z3w4", "q5r6")]
        args = ["--set", "kubeBench.enabled=true"]
        for i, n in enumerate(nodes):
            args += ["--set", f"kubeBench.nodes[{i}].name={n}", "--set", f"kubeBench.nodes[{i}].target=node"]
        # the same node twice with different targets is two CronJobs
        args += ["--set", f"kubeBench.nodes[3].name={nodes[0]}",
                 "--set", "kubeBench.nodes[3].targets={master,etcd}"]
        docs = render(*args)
        names = [c["metadata"]["name"] for c in find(docs, "CronJob")]
        self.assertEqual(len(names), 4)
        self.assertEqual(len(set(names)), 4, names)
        for n in names:
            self.assertLessEqual(len(n), 52, n)
            self.assertRegex(n, r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
        # stable: the same values give the same names (an upgrade does not recreate them)
        self.assertEqual(names, [c["metadata"]["name"] for c in find(render(*args), "CronJob")])
        # the same node and targets twice: an error, not two CronJobs fighting over one name
        p = helm("template", "t", CHART, *args, "--set", f"kubeBench.nodes[4].name={nodes[1]}",
                 "--set", "kubeBench.nodes[4].target=node", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("listed twice", p.stderr)

    def test_kube_bench_with_static_token_mounts_it_in_the_jobs(self):
        base = ["--set", "kubeBench.enabled=true", "--set", "kubeBench.nodes[0].name=wk1",
                "--set", "kubeBench.nodes[0].target=node", "--set", "ingest.auth.mode=staticToken"]
        p = helm("template", "t", CHART, *base, "--set", "ingest.auth.tokenFile=/mnt/token", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("ingest.auth.tokenSecret", p.stderr)
        docs = render(*base, "--set", "ingest.auth.tokenSecret=bench-token")
        jp = one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        vols = {v["name"]: v for v in jp["volumes"]}
        self.assertEqual(vols["token"]["secret"], {"secretName": "bench-token",
                                                   "items": [{"key": "token", "path": "token"}]})
        self.assertIn("--token-file=/var/run/secrets/kube-bench/token", jp["containers"][0]["args"])
        self.assertEqual(yaml.safe_load(config_of(docs))["ingest"]["auth"],
                         {"mode": "staticToken", "tokenFile": "/etc/kube-event-exporter/ingest/token"})

    def test_ingest_tls_from_cert_manager(self):
        base = ["--set", "kubeBench.enabled=true", "--set", "kubeBench.nodes[0].name=wk1",
                "--set", "kubeBench.nodes[0].target=node", "--set", "ingest.tls.enabled=true"]
        for extra, msg in ((["--set", "ingest.tls.certManager.enabled=true"], "issuerRef.name"),
                           ([], "ingest.tls.existingSecret")):
            p = helm("template", "t", CHART, *base, *extra, check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(msg, p.stderr)
        docs = render(*base, "--set", "ingest.tls.certManager.enabled=true",
                      "--set", "ingest.tls.certManager.issuerRef.name=ca", "--set", "ingest.tls.caKey=")
        cert = one(docs, "Certificate")
        self.assertEqual(cert["spec"]["secretName"], "t-kube-event-exporter-ingest-tls")
        self.assertIn("t-kube-event-exporter-ingest.kee.svc", cert["spec"]["dnsNames"])
        self.assertEqual(cert["spec"]["issuerRef"], {"name": "ca", "kind": "Issuer", "group": "cert-manager.io"})
        jp = one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        args = jp["containers"][0]["args"]
        self.assertIn("--url=https://t-kube-event-exporter-ingest.kee.svc:8080/api/v1/kube-bench", args)
        # caKey "": a public CA, the system's trust store
        self.assertFalse([a for a in args if a.startswith("--ca-file")])
        p = check_config(config_of(docs), self.tmp)  # the cert files do not exist here
        self.assertIn("/etc/kube-event-exporter/ingest-tls/tls.crt", p.stdout + p.stderr)

    def test_values_all_sets_every_documented_option(self):
        """Every key of values.yaml (maps walked down to their leaves) is set in values-all.yaml."""
        def paths(v, prefix=""):
            if isinstance(v, dict) and v and prefix.rsplit(".", 1)[-1] not in ("annotations", "labels"):
                for k, x in v.items():
                    yield from paths(x, f"{prefix}.{k}" if prefix else k)
            else:
                yield prefix
        with open(os.path.join(CHART, "values.yaml")) as f:
            documented = yaml.safe_load(f)
        with open(VALUES_ALL) as f:
            everything = yaml.safe_load(f)
        # `config` is the exporter's own config (README); values-all sets it as a tpl string.
        documented.pop("config")
        missing = []
        for path in paths(documented):
            node = everything
            for key in path.split("."):
                if not isinstance(node, dict) or key not in node:
                    missing.append(path)
                    break
                node = node[key]
        self.assertEqual(missing, [])

    def test_probe_with_its_own_handler_gets_no_http_get(self):
        docs = render("--set", "livenessProbe.exec.command={/bin/true}",
                      "--set", "readinessProbe.httpGet.path=/custom")
        c = containers(one(docs, "Deployment"))[0]
        self.assertEqual(c["livenessProbe"]["exec"], {"command": ["/bin/true"]})
        self.assertNotIn("httpGet", c["livenessProbe"])
        # a partial httpGet keeps the user's keys and gets the chart's for the rest
        self.assertEqual(c["readinessProbe"]["httpGet"], {"path": "/custom", "port": "http"})

    def test_values_bitnami_evaluates_as_templates_may_be_strings(self):
        # Bitnami renders these with common.tplvalues.render, which takes a map, a list or a string
        # that is itself the template.
        values = os.path.join(self.tmp, "tpl-strings.yaml")
        with open(values, "w") as f:
            f.write("""commonLabels: "team: {{ .Release.Namespace }}"
commonAnnotations: "owner: {{ .Release.Name }}"
podAnnotations: "example.com/release: {{ .Release.Name }}"
serviceAccount:
  annotations: "eks.amazonaws.com/role-arn: arn:aws:iam::1:role/{{ .Release.Name }}"
tolerations: |
  - key: dedicated
    operator: Equal
    value: {{ .Release.Name }}
    effect: NoSchedule
topologySpreadConstraints: |
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels: {app.kubernetes.io/instance: {{ .Release.Name }}}
extraEnvVars: |
  - name: RELEASE
    value: {{ .Release.Name }}
affinity: |
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
        - matchExpressions: [{key: pool, operator: In, values: [{{ .Release.Namespace }}]}]
""")
        docs = render("-f", values)
        dep = one(docs, "Deployment")
        pod = dep["spec"]["template"]
        self.assertEqual(dep["metadata"]["labels"]["team"], "kee")
        self.assertEqual(dep["metadata"]["annotations"]["owner"], "t")
        self.assertEqual(pod["metadata"]["annotations"]["example.com/release"], "t")
        self.assertEqual(pod["spec"]["tolerations"][0]["value"], "t")
        self.assertEqual(pod["spec"]["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"],
                         {"app.kubernetes.io/instance": "t"})
        self.assertIn({"name": "RELEASE", "value": "t"}, containers(dep)[0]["env"])
        self.assertEqual(pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                         ["nodeSelectorTerms"][0]["matchExpressions"][0]["values"], ["kee"])
        self.assertEqual(one(docs, "ServiceAccount")["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
                         "arn:aws:iam::1:role/t")

    def test_strict_loader_rejects_duplicate_keys(self):
        with self.assertRaises(yaml.constructor.ConstructorError):
            yaml.load("a: 1\nb: {c: 1, c: 2}\n", Loader=StrictLoader)

    def test_overlapping_labels_are_merged_once(self):
        # The same key in commonLabels, podLabels, the ServiceMonitor's and PrometheusRule's own
        # labels, the dashboards' labels and a ServiceMonitor selector; an endpoint overriding
        # the chart-wide interval. render() fails on any duplicate key.
        docs = render("--set", "commonLabels.team=platform", "--set", "commonLabels.app\\.kubernetes\\.io/name=evil",
                      "--set", "podLabels.team=pods",
                      "--set", "metrics.serviceMonitor.enabled=true",
                      "--set", "metrics.service.labels.team=metrics",
                      "--set", "metrics.service.labels.app\\.kubernetes\\.io/component=evil",
                      "--set", "metrics.serviceMonitor.labels.team=monitoring",
                      "--set", "metrics.serviceMonitor.labels.release=kps",
                      "--set", "metrics.serviceMonitor.selector.app\\.kubernetes\\.io/component=metrics",
                      "--set", "metrics.serviceMonitor.endpoints[0].path=/metrics",
                      "--set", "metrics.serviceMonitor.endpoints[0].interval=10s",
                      "--set", "metrics.serviceMonitor.endpoints[0].honorLabels=true",
                      "--set", "metrics.prometheusRule.enabled=true",
                      "--set", "metrics.prometheusRule.labels.team=rules",
                      "--set", "dashboards.enabled=true", "--set", "dashboards.labels.team=grafana",
                      "--set", "ingest.enabled=true", "--set", "ingest.auth.mode=none",
                      "--set", "ingest.service.labels.team=ingest")
        dep = one(docs, "Deployment")
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        self.assertEqual(pod_labels["team"], "pods")  # the object's own labels win over commonLabels
        # the selector labels win over everything: the Deployment keeps selecting its pods
        for k, v in dep["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(pod_labels[k], v, k)
            self.assertEqual(dep["metadata"]["labels"][k], v, k)
        self.assertEqual(dep["metadata"]["labels"]["team"], "platform")
        sm = one(docs, "ServiceMonitor")
        self.assertEqual(sm["metadata"]["labels"]["team"], "monitoring")
        self.assertEqual(sm["metadata"]["labels"]["release"], "kps")
        self.assertEqual(sm["spec"]["endpoints"], [{"port": "http", "path": "/metrics", "interval": "10s",
                                                    "honorLabels": True}])
        metrics_svc = one(docs, "Service", "t-kube-event-exporter-metrics")
        for k, v in sm["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(metrics_svc["metadata"]["labels"][k], v, k)
        self.assertEqual(one(docs, "PrometheusRule")["metadata"]["labels"]["team"], "rules")
        for cm in find(docs, "ConfigMap"):
            if "-dashboard-" in cm["metadata"]["name"]:
                self.assertEqual(cm["metadata"]["labels"]["team"], "grafana")
        ingest = one(docs, "Service", "t-kube-event-exporter-ingest")
        self.assertEqual(ingest["metadata"]["labels"]["team"], "ingest")
        self.assertEqual(ingest["metadata"]["labels"]["app.kubernetes.io/component"], "ingest")

    def test_exporter_down_alert_selects_the_service_target(self):
        docs = render("--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.serviceMonitor.enabled=true",
                      "--set", "metrics.serviceMonitor.jobLabel=app.kubernetes.io/name")
        rules = {r["alert"]: r for g in one(docs, "PrometheusRule")["spec"]["groups"] for r in g["rules"]}
        expr = rules["KubeEventExporterDown"]["expr"]
        self.assertIn('up{service="t-kube-event-exporter-metrics", namespace="kee"}', expr)
        self.assertNotIn("job=", expr)  # jobLabel changes job; service and namespace stay
        # Without the ServiceMonitor the target's labels are unknown: no alert that fires forever.
        docs = render("--set", "metrics.prometheusRule.enabled=true")
        rules = {r["alert"] for g in one(docs, "PrometheusRule")["spec"]["groups"] for r in g["rules"]}
        self.assertNotIn("KubeEventExporterDown", rules)
        self.assertIn("KubeEventExporterSendErrors", rules)

    def test_vpa_only_when_the_cluster_has_its_crd(self):
        self.assertFalse(find(render("--set", "autoscaling.vpa.enabled=true"), "VerticalPodAutoscaler"))
        docs = render("--set", "autoscaling.vpa.enabled=true",
                      "--api-versions", "autoscaling.k8s.io/v1/VerticalPodAutoscaler")
        self.assertEqual(one(docs, "VerticalPodAutoscaler")["spec"]["targetRef"]["name"], "t-kube-event-exporter")

    def test_network_policy_with_env_var_receiver_urls(self):
        def egress_ports(*extra):
            docs = render("--set", "networkPolicy.enabled=true", "--set", "networkPolicy.allowExternalEgress=false",
                          *extra)
            return sorted(p["port"] for e in one(docs, "NetworkPolicy")["spec"]["egress"]
                          for p in e.get("ports", []))
        loki = "config.receivers[0].name=l"
        # host from the environment, port written: that port; no port: the scheme's
        self.assertIn(3100, egress_ports("--set", loki, "--set",
                                         "config.receivers[0].loki.url=http://${LOKI_HOST}:3100/loki/api/v1/push"))
        self.assertIn(443, egress_ports("--set", loki, "--set",
                                        "config.receivers[0].loki.url=https://${LOKI_HOST}/loki/api/v1/push"))
        # the whole URL or the port from the environment: the chart cannot know the port
        for url in ("${LOKI_URL}", "http://loki:${LOKI_PORT}/loki/api/v1/push"):
            p = helm("template", "t", CHART, "--set", "networkPolicy.enabled=true",
                     "--set", "networkPolicy.allowExternalEgress=false", "--set", loki,
                     "--set", f"config.receivers[0].loki.url={url}", check=False)
            self.assertNotEqual(p.returncode, 0, url)
            self.assertIn("networkPolicy.extraEgress", p.stderr)
            self.assertIn(url, p.stderr)
            # ... unless the user opens it
            self.assertIn(3100, egress_ports("--set", loki, "--set", f"config.receivers[0].loki.url={url}",
                                             "--set", "networkPolicy.extraEgress[0].ports[0].port=3100"))

    def test_existing_config_secret_with_replicas_needs_stated_leader_election(self):
        p = helm("template", "t", CHART, "--set", "existingConfigSecret=mine", "--set", "replicaCount=2",
                 check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("existingConfigSecret", p.stderr)
        self.assertIn("leaderElection", p.stderr)
        docs = render("--set", "existingConfigSecret=mine", "--set", "replicaCount=2",
                      "--set", "config.leaderElection.enabled=true",
                      "--set", "config.leaderElection.leaderElectionID=mine-lease")
        self.assertEqual(one(docs, "Role", "t-kube-event-exporter-leader-election")["rules"][0]["resourceNames"],
                         ["mine-lease"])
        p = helm("install", "t", CHART, "--dry-run=client", "--namespace", "kee", "--set", "existingConfigSecret=mine")
        self.assertIn("which the chart cannot read", p.stdout.split("NOTES:")[-1])

    def test_prometheus_rules_pass_promtool(self):
        docs = render("-f", VALUES_ALL)
        rules = os.path.join(self.tmp, "rules.yaml")
        with open(rules, "w") as f:
            yaml.safe_dump({"groups": one(docs, "PrometheusRule")["spec"]["groups"]}, f)
        p = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("SUCCESS: 9 rules found", p.stdout)

    def test_leader_election_follows_replicas_and_config(self):
        docs = render("--set", "replicaCount=3")
        cfg = yaml.safe_load(config_of(docs))
        self.assertEqual(cfg["leaderElection"], {"enabled": True,
                                                 "leaderElectionID": "t-kube-event-exporter-leader-election"})
        lease_role = "t-kube-event-exporter-leader-election"
        self.assertEqual(one(docs, "Role", lease_role)["rules"][0]["resourceNames"],
                         ["t-kube-event-exporter-leader-election"])
        # Explicitly on with one replica: resmoio's default Lease name.
        docs = render("--set", "config.leaderElection.enabled=true")
        self.assertEqual(one(docs, "Role", lease_role)["rules"][0]["resourceNames"], ["kubernetes-event-exporter"])
        # Explicitly off with two replicas: no Lease Role.
        docs = render("--set", "replicaCount=2", "--set", "config.leaderElection.enabled=false")
        self.assertFalse(find(docs, "Role", lease_role))

    def test_config_change_changes_checksum_and_secret_options(self):
        a = one(render(), "Deployment")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        b = one(render("--set", "config.logLevel=debug"), "Deployment")
        self.assertNotEqual(a, b["spec"]["template"]["metadata"]["annotations"]["checksum/config"])
        docs = render("--set", "existingConfigSecret=my-config")
        self.assertFalse([d for d in docs if d["kind"] in ("Secret",) or
                          (d["kind"] == "ConfigMap" and "config.yaml" in d.get("data", {}))])
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        self.assertEqual(pod["volumes"][0], {"name": "config", "secret": {"secretName": "my-config"}})

    def test_network_policy_opens_the_receivers_ports(self):
        docs = render("-f", VALUES_LOKI, "--set", "networkPolicy.allowExternalEgress=false", "--set",
                      "config.receivers[0].loki.url=https://loki.example.com:3100/loki/api/v1/push")
        egress = one(docs, "NetworkPolicy")["spec"]["egress"]
        self.assertEqual(egress[-1], {"ports": [{"port": 3100, "protocol": "TCP"}]})
        self.assertEqual(egress[0]["ports"][0]["port"], 53)

    def test_openshift_gets_no_fixed_ids(self):
        """global.compatibility.openshift.adaptSecurityContext auto: on OpenShift (the API group
        security.openshift.io exists) the fixed uid/gid/fsGroup are left to the SCC, as Bitnami."""
        for args, fixed in ((["--api-versions", "security.openshift.io/v1"], False), ([], True),
                            (["--api-versions", "security.openshift.io/v1", "--set",
                              "global.compatibility.openshift.adaptSecurityContext=disabled"], True)):
            pod = one(render(*args), "Deployment")["spec"]["template"]["spec"]
            sc = pod["containers"][0]["securityContext"]
            self.assertEqual("runAsUser" in sc, fixed, args)
            self.assertEqual("fsGroup" in pod["securityContext"], fixed, args)
            self.assertTrue(sc["runAsNonRoot"])

    def test_rbac_scope_follows_config_namespace(self):
        docs = render("--set", "config.namespace=app")
        role = one(docs, "Role", "t-kube-event-exporter-watch")
        self.assertEqual(role["metadata"]["namespace"], "app")
        self.assertEqual(rules_of(role)[0], (("",), ("events",), ("get", "list", "watch"), ()))
        self.assertEqual(one(docs, "RoleBinding", "t-kube-event-exporter-watch")["subjects"][0]["namespace"], "kee")
        cluster = rules_of(one(docs, "ClusterRole"))
        self.assertEqual(cluster, [(("",), ("nodes", "namespaces", "persistentvolumes"), ("get",), ())])
        # scope cluster, or no config.namespace: one ClusterRole as before
        for args in (["--set", "config.namespace=app", "--set", "rbac.scope=cluster"], []):
            docs = render(*args)
            self.assertFalse(find(docs, "Role", "t-kube-event-exporter-watch"))
            self.assertIn("events", one(docs, "ClusterRole")["rules"][0]["resources"])

    def test_rbac_options(self):
        docs = render("--set", "config.omitLookup=true")
        self.assertEqual(rules_of(one(docs, "ClusterRole")), [(("",), ("events",), ("get", "list", "watch"), ())])
        docs = render("--set", "config.eventsAPIVersion=events.k8s.io/v1", "--set", "config.omitLookup=true")
        self.assertEqual(rules_of(one(docs, "ClusterRole")),
                         [(("events.k8s.io",), ("events",), ("get", "list", "watch"), ())])
        # Bitnami's rbac.rules replace the chart's rules.
        docs = render("--set", "rbac.rules[0].apiGroups[0]=*", "--set", "rbac.rules[0].resources[0]=*",
                      "--set", "rbac.rules[0].verbs={get,list,watch}")
        self.assertEqual(rules_of(one(docs, "ClusterRole")), [(("*",), ("*",), ("get", "list", "watch"), ())])
        self.assertFalse([d for d in render("--set", "rbac.create=false")
                          if d["kind"] in ("ClusterRole", "ClusterRoleBinding", "Role")])
        # staticToken from a Secret: mounted, and its path is the config's tokenFile
        docs = render("--set", "ingest.enabled=true", "--set", "ingest.auth.mode=staticToken",
                      "--set", "ingest.auth.tokenSecret=bench-token")
        self.assertEqual(yaml.safe_load(config_of(docs))["ingest"]["auth"],
                         {"mode": "staticToken", "tokenFile": "/etc/kube-event-exporter/ingest/token"})
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        self.assertIn({"name": "ingest-token", "secret": {"secretName": "bench-token",
                                                          "items": [{"key": "token", "path": "token"}]}},
                      pod["volumes"])
        self.assertIn({"name": "ingest-token", "mountPath": "/etc/kube-event-exporter/ingest", "readOnly": True},
                      pod["containers"][0]["volumeMounts"])
        # ingest with staticToken or none: no tokenreviews
        for mode in ("staticToken", "none"):
            docs = render("--set", "ingest.enabled=true", "--set", f"ingest.auth.mode={mode}",
                          "--set", "ingest.auth.tokenFile=/etc/kee/token")
            self.assertNotIn("tokenreviews", json.dumps(one(docs, "ClusterRole")))
            self.assertEqual(yaml.safe_load(config_of(docs))["ingest"]["auth"]["mode"], mode)

    def test_schema_rejects_typos_and_bad_values(self):
        cases = [
            (["--set", "metrics.serviceMonitr.enabled=true"], "additional properties 'serviceMonitr' not allowed"),
            (["--set", "replicaCount=two"], "/replicaCount"),
            (["--set", "config.recievers[0].name=x"], "additional properties 'recievers' not allowed"),
            (["--set", "ingest.auth.mode=tokenreview"], "/ingest/auth/mode"),
            (["--set", "podAntiAffinityPreset=medium"], "/podAntiAffinityPreset"),
            (["--set", "pdb.create=yes"], "/pdb/create"),
            (["--set", "config.metricsNamePrefix=bad-prefix"], "/config"),
            (["--set", "imagee.tag=x"], "additional properties 'imagee' not allowed"),
            (["--set", "checkpoint.interval=5x"], "/checkpoint/interval"),
            (["--set", "checkpoint.configmap=x"], "additional properties 'configmap' not allowed"),
            (["--set", "config.checkpoint.configmap=x"], "/config"),
            (["--set", "config.checkpoint.maxEntries=5"], "/config"),
        ]
        for args, want in cases:
            p = helm("template", "t", CHART, *args, check=False)
            self.assertNotEqual(p.returncode, 0, args)
            self.assertIn("values don't meet the specifications of the schema", p.stderr, args)
            self.assertIn(want, p.stderr, args)
        # What the exporter would reject at startup fails at install time instead.
        for args, want in [(["--set", "ingest.enabled=true"], "ingest.auth.allowedServiceAccounts"),
                           (["--set", "ingest.enabled=true", "--set", "ingest.auth.mode=staticToken"],
                            "ingest.auth.tokenFile")]:
            p = helm("template", "t", CHART, *args, check=False)
            self.assertNotEqual(p.returncode, 0, args)
            self.assertIn(want, p.stderr)
        # and the same at install time (lint uses the schema as well)
        p = helm("lint", CHART, "--set", "metrics.serviceMonitr.enabled=true", check=False)
        self.assertNotEqual(p.returncode, 0)

    def test_config_string_through_tpl_and_bad_yaml(self):
        good, bad = os.path.join(self.tmp, "string.yaml"), os.path.join(self.tmp, "bad.yaml")
        with open(good, "w") as f:
            f.write("clusterName: '{{ .Release.Name }}-x'\nlogFormat: json\n"
                    "receivers: [{name: d, stdout: {}}]\nroute: {routes: [{match: [{receiver: d}]}]}\n")
        with open(bad, "w") as f:
            f.write("a: [unclosed\n")
        docs = render("--set-file", f"config={good}")
        cfg = yaml.safe_load(config_of(docs))
        self.assertEqual(cfg["clusterName"], "t-x")
        self.assertEqual(cfg["receivers"], [{"name": "d", "stdout": {}}])
        p = helm("template", "t", CHART, "--set-file", f"config={bad}", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("config: not valid YAML", p.stderr)

    def test_checkpoint_off_renders_neither_key_nor_role(self):
        docs = render("--set", "checkpoint.enabled=false")
        self.assertNotIn("checkpoint", yaml.safe_load(config_of(docs)))
        self.assertFalse(find(docs, "Role") + find(docs, "RoleBinding"))
        self.assertNotIn("configmaps", json.dumps([d for d in docs if d["kind"] == "ClusterRole"]))
        # rbac.create false: the config still has the checkpoint, the RBAC is the user's
        docs = render("--set", "rbac.create=false")
        self.assertEqual(yaml.safe_load(config_of(docs))["checkpoint"], CHECKPOINT_DEFAULT)
        self.assertFalse(find(docs, "Role") + find(docs, "RoleBinding"))

    def test_checkpoint_options_and_the_users_own_checkpoint_win(self):
        # checkpoint.configMap (a template) and interval; namespaceOverride moves it with the pod
        values = os.path.join(self.tmp, "checkpoint.yaml")
        with open(values, "w") as f:
            f.write("checkpoint: {configMap: '{{ .Release.Name }}-cp', interval: 30s}\nnamespaceOverride: mon\n")
        docs = render("-f", values)
        cfg = yaml.safe_load(config_of(docs))
        self.assertEqual(cfg["checkpoint"], {"configMap": "t-cp", "namespace": "mon", "interval": "30s"})
        self.assert_checkpoint_role(docs, "t-cp", "mon", sa_namespace="mon")
        self.assertEqual(check_config(config_of(docs), self.tmp).returncode, 0)
        # The user's config has its own checkpoint: it wins whole (no chart keys mixed in); the
        # Role follows the rendered config (its name, its namespace).
        docs = render("--set", "config.checkpoint.configMap=shared-cp", "--set", "config.checkpoint.namespace=ops",
                      "--set", "config.checkpoint.maxEntries=1000")
        text = config_of(docs)
        self.assertEqual(yaml.safe_load(text)["checkpoint"],
                         {"configMap": "shared-cp", "namespace": "ops", "maxEntries": 1000})
        p = check_config(text, self.tmp)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assert_checkpoint_role(docs, "shared-cp", "ops")
        # ... also with checkpoint.enabled false (the user asked for it in the config)
        docs = render("--set", "checkpoint.enabled=false", "--set", "config.checkpoint.configMap=mine")
        self.assertEqual(yaml.safe_load(config_of(docs))["checkpoint"], {"configMap": "mine"})
        self.assert_checkpoint_role(docs, "mine", "kee")
        # a file checkpoint needs no ConfigMap: no Role
        docs = render("--set", "config.checkpoint.file=/tmp/checkpoint.json")
        self.assertEqual(yaml.safe_load(config_of(docs))["checkpoint"], {"file": "/tmp/checkpoint.json"})
        self.assertFalse(find(docs, "Role") + find(docs, "RoleBinding"))
        # a config string (tpl) with its own checkpoint wins as well
        path = os.path.join(self.tmp, "cp-string.yaml")
        with open(path, "w") as f:
            f.write("checkpoint: {configMap: '{{ .Release.Name }}-own', interval: 2s}\n"
                    "receivers: [{name: d, stdout: {}}]\nroute: {routes: [{match: [{receiver: d}]}]}\n")
        docs = render("--set-file", f"config={path}")
        self.assertEqual(yaml.safe_load(config_of(docs))["checkpoint"], {"configMap": "t-own", "interval": "2s"})
        self.assert_checkpoint_role(docs, "t-own", "kee")

    def test_termination_grace_period_sets_the_shutdown_timeout(self):
        def args(*extra):
            return containers(one(render(*extra), "Deployment"))[0]["args"]
        default = ["-conf=/data/config.yaml", "-metrics-address=:2112"]
        # unset: Kubernetes' 30 s, the exporter's default 25 s fits; no flag, no field
        self.assertEqual(args(), default)
        self.assertNotIn("terminationGracePeriodSeconds", one(render(), "Deployment")["spec"]["template"]["spec"])
        docs = render("--set", "terminationGracePeriodSeconds=60")
        self.assertEqual(one(docs, "Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"], 60)
        self.assertEqual(containers(one(docs, "Deployment"))[0]["args"], default + ["-shutdown-timeout=55s"])
        self.assertEqual(args("--set-string", "terminationGracePeriodSeconds=90"), default + ["-shutdown-timeout=85s"])
        self.assertEqual(args("--set", "terminationGracePeriodSeconds=3"), default + ["-shutdown-timeout=1s"])
        # the user's own args are left as written
        self.assertEqual(args("--set", "terminationGracePeriodSeconds=60", "--set", "args={-conf=/data/config.yaml}"),
                         ["-conf=/data/config.yaml"])
        # (the binary runs with the rendered flag in test_bitnami_values_loki_installs_and_exports_...)


class Exporter:
    """The binary run outside the cluster with a chart-rendered config and a kubeconfig."""

    def __init__(self, tmp, name, config_text, kubeconfig, extra_args=()):
        self.port = free_port()
        self.conf = os.path.join(tmp, f"{name}.yaml")
        with open(self.conf, "w") as f:
            f.write(config_text)
        self.log_path = os.path.join(tmp, f"{name}.log")
        self.log = open(self.log_path, "w")
        self.p = subprocess.Popen([binary(), "-conf", self.conf, "-kubeconfig", kubeconfig,
                                   "-metrics-address", f"127.0.0.1:{self.port}", *extra_args],
                                  stdout=self.log, stderr=self.log)
        poll(lambda: self.p.poll() is None and self.ready(), 60, 0.1, "the exporter ready")

    def ready(self):
        try:
            return http_json(f"http://127.0.0.1:{self.port}/-/ready")[0] == 200
        except OSError:
            return False

    def metrics(self):
        return http_json(f"http://127.0.0.1:{self.port}/metrics")[1].decode()

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            self.p.wait(timeout=30)
        self.log.close()
        return self.p.returncode


KUBE_BENCH_DATA = os.path.join(REPO, "test", "data", "kubebench")  # copies of ../shared's samples
KUBE_BENCH_REPORT = os.path.join(KUBE_BENCH_DATA, "result.json")


def metric_names(text):
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines()
            if line and not line.startswith("#")}


def logsql(query, limit=10000):
    q = urllib.parse.urlencode({"query": query, "limit": str(limit)})
    _, raw = http_json(f"{env('VLOGS_URL')}/select/logsql/query?{q}")
    return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]


class HelmInstallTest(unittest.TestCase):
    """helm upgrade --install into the bed's kube-apiserver, then the binary with the chart's
    ServiceAccount token and config."""

    @classmethod
    def setUpClass(cls):
        cls.kube = Kube()
        cls.tmp = tempfile.mkdtemp(prefix="ke-e2e-helm-install-")

    def install(self, release, ns, *args):
        p = helm("upgrade", "--install", release, CHART, "--namespace", ns, "--create-namespace",
                 "--wait=false", *args, timeout=300)
        self.assertIn("STATUS: deployed", p.stdout)
        self.addCleanup(lambda: helm("uninstall", release, "--namespace", ns, check=False))
        manifest = helm("get", "manifest", release, "--namespace", ns).stdout
        docs = [d for d in yaml.safe_load_all(manifest) if d]
        # Every object of the release is in the API server.
        for d in docs:
            self.assertTrue(self.kube.get(self.path(d, ns)), d["metadata"]["name"])
        return docs

    @staticmethod
    def path(d, ns):
        group_version = d["apiVersion"]
        plural = {"ServiceAccount": "serviceaccounts", "ConfigMap": "configmaps", "Secret": "secrets",
                  "ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings",
                  "Role": "roles", "RoleBinding": "rolebindings", "Deployment": "deployments",
                  "Service": "services", "PodDisruptionBudget": "poddisruptionbudgets",
                  "NetworkPolicy": "networkpolicies", "CronJob": "cronjobs",
                  "ServiceMonitor": "servicemonitors", "PrometheusRule": "prometheusrules",
                  "VerticalPodAutoscaler": "verticalpodautoscalers"}[d["kind"]]
        base = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
        if d["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            return f"{base}/{plural}/{d['metadata']['name']}"
        return f"{base}/namespaces/{d['metadata'].get('namespace', ns)}/{plural}/{d['metadata']['name']}"

    def sa_kubeconfig(self, ns, sa):
        return service_account_kubeconfig(self.kube, self.tmp, ns, sa)

    def can(self, ns, sa, verb, resource, group="", namespace=None, name=None):
        attrs = {"verb": verb, "resource": resource, "group": group}
        if namespace:
            attrs["namespace"] = namespace
        if name:
            attrs["name"] = name
        r = self.kube.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": f"system:serviceaccount:{ns}:{sa}",
                     "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}",
                                "system:authenticated"],
                     "resourceAttributes": attrs}})
        return r["status"].get("allowed", False)

    def assert_pod_admitted_as_restricted(self, ns, dep):
        """No controller-manager runs here, so the Deployment makes no Pods: a Pod is created from
        its template instead. PodSecurity admission admits it under "restricted" (and, to show the
        check is live, rejects the same Pod once it may run as root)."""
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "from-template", "labels": dep["spec"]["template"]["metadata"]["labels"]},
               "spec": copy.deepcopy(dep["spec"]["template"]["spec"])}
        created = self.kube.post(f"/api/v1/namespaces/{ns}/pods", pod)
        self.assertEqual(created["spec"]["serviceAccountName"], dep["spec"]["template"]["spec"]["serviceAccountName"])
        bad = copy.deepcopy(pod)
        bad["metadata"]["name"] = "as-root"
        bad["spec"]["containers"][0]["securityContext"].update(runAsNonRoot=False, runAsUser=0)
        status, body = self.kube.request("POST", f"/api/v1/namespaces/{ns}/pods", bad, expect=None)
        self.assertEqual(status, 403, body)
        self.assertIn("violates PodSecurity", json.dumps(body))

    def app_namespace(self):
        ns = f"kee-app-{uuid.uuid4().hex[:8]}"
        self.kube.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        dep = self.kube.post(f"/apis/apps/v1/namespaces/{ns}/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web", "team": "a"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
        return ns, dep

    def assert_not_wider(self, ns, sa, lease=None, tokenreview=False, watch_ns=None, checkpoint=None):
        """SubjectAccessReviews for the chart's ServiceAccount: what it needs is allowed, the rest
        denied. watch_ns: config.namespace (rbac.scope auto: a Role there, not cluster-wide)."""
        other = f"kee-other-{uuid.uuid4().hex[:6]}"
        where = watch_ns or "default"
        allowed = [("list", "events", "", watch_ns), ("watch", "events", "", watch_ns),
                   ("get", "events", "", where), ("get", "pods", "", where),
                   ("get", "deployments", "apps", where), ("get", "nodes", "", None)]
        denied = []
        if watch_ns:
            denied += [("list", "events", "", None), ("watch", "events", "", None),
                       ("list", "events", "", "default"), ("get", "pods", "", "default"),
                       ("get", "deployments", "apps", "default")]
        denied += [("list", "secrets", "", None), ("get", "secrets", "", ns), ("get", "configmaps", "", ns),
                  ("create", "events", "", "default"), ("delete", "events", "", "default"),
                  ("update", "events", "", "default"), ("list", "pods", "", None),
                  ("watch", "deployments", "apps", None), ("create", "pods", "", "default"),
                  ("get", "leases", "coordination.k8s.io", other),
                  ("create", "leases", "coordination.k8s.io", other),
                  ("create", "serviceaccounts/token", "", ns), ("impersonate", "users", "", None)]
        if lease:
            allowed += [("get", "leases", "coordination.k8s.io", ns, lease),
                        ("update", "leases", "coordination.k8s.io", ns, lease),
                        ("create", "leases", "coordination.k8s.io", ns)]
            denied += [("update", "leases", "coordination.k8s.io", ns, "someone-elses-lease"),
                       ("delete", "leases", "coordination.k8s.io", ns, lease),
                       ("list", "leases", "coordination.k8s.io", ns)]
        else:
            denied += [("get", "leases", "coordination.k8s.io", ns, "kubernetes-event-exporter"),
                       ("create", "leases", "coordination.k8s.io", ns)]
        if checkpoint:
            # the checkpoint ConfigMap: get/update that name, create; nothing else on configmaps
            allowed += [("get", "configmaps", "", ns, checkpoint), ("update", "configmaps", "", ns, checkpoint),
                        ("create", "configmaps", "", ns)]
            denied += [("get", "configmaps", "", ns, "kee-kube-event-exporter"),
                       ("update", "configmaps", "", ns, "someone-elses-configmap"),
                       ("delete", "configmaps", "", ns, checkpoint), ("patch", "configmaps", "", ns, checkpoint),
                       ("list", "configmaps", "", ns), ("watch", "configmaps", "", ns),
                       ("create", "configmaps", "", other), ("get", "configmaps", "", other, checkpoint)]
        else:
            denied += [("create", "configmaps", "", ns)]
        (allowed if tokenreview else denied).append(("create", "tokenreviews", "authentication.k8s.io", None))
        for verb, res, group, namespace, *name in allowed:
            self.assertTrue(self.can(ns, sa, verb, res, group, namespace, *name), (verb, res, namespace, name))
        for verb, res, group, namespace, *name in denied:
            self.assertFalse(self.can(ns, sa, verb, res, group, namespace, *name), (verb, res, namespace, name))

    def test_bitnami_values_loki_installs_and_exports_with_the_charts_rbac(self):
        ns = f"kee-loki-{uuid.uuid4().hex[:6]}"
        # The release namespace enforces the "restricted" Pod Security Standard.
        self.kube.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": ns, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
        # A grace period of 40 s: the chart hands the exporter -shutdown-timeout=35s.
        docs = self.install("kee", ns, "-f", VALUES_LOKI, "--set", "terminationGracePeriodSeconds=40")
        self.assert_pod_admitted_as_restricted(ns, one(docs, "Deployment"))
        self.assertEqual(sorted({d["kind"] for d in docs}),
                         ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment",
                          "NetworkPolicy", "PodDisruptionBudget", "Role", "RoleBinding", "Service",
                          "ServiceAccount"])
        sa = "kee-kube-event-exporter"
        checkpoint = "kee-kube-event-exporter-checkpoint"
        dep_args = containers(one(docs, "Deployment"))[0]["args"]
        self.assertEqual(dep_args[2:], ["-shutdown-timeout=35s"])
        # The config the chart put into the cluster; only the Loki URL is pointed at the bed's
        # VictoriaLogs (the gateway of values-loki.yaml does not exist here).
        cm = self.kube.get(f"/api/v1/namespaces/{ns}/configmaps/kee-kube-event-exporter")
        text = cm["data"]["config.yaml"]
        gateway = "http://loki-gateway.kube-monitor.svc.cluster.local/loki/api/v1/push"
        self.assertIn(gateway, text)
        text = text.replace(gateway, f"{env('VLOGS_URL')}/insert/loki/api/v1/push")
        # The delivery checkpoint: a ConfigMap in the release namespace, named in the config.
        self.assertEqual(yaml.safe_load(text)["checkpoint"],
                         {"configMap": checkpoint, "namespace": ns, "interval": "5s"})
        cm_path = f"/api/v1/namespaces/{ns}/configmaps/{checkpoint}"
        self.assertEqual(self.kube.request("GET", cm_path, expect=None)[0], 404)  # the exporter creates it
        _, kubeconfig = self.sa_kubeconfig(ns, sa)
        app, dep = self.app_namespace()
        # The Deployment's args beyond -conf/-metrics-address (the shutdown budget) as they are.
        ex = Exporter(self.tmp, f"loki-{ns}", text, kubeconfig, extra_args=dep_args[2:])
        try:
            names = [f"web.{i:03d}" for i in range(30)]
            post_events(app, dep, names, threads=3)
            query = f'{{job="kubernetes-event"}} involvedObject.namespace:="{app}"'
            rows = poll(lambda: (r := logsql(query)) and len(r) >= len(names) and r, 120, 0.5,
                        "the events in VictoriaLogs")
            self.assertEqual(sorted(r["metadata.name"] for r in rows), names)
            # Enriched with the chart's `get` on deployments.
            self.assertTrue(all(r.get("involvedObject.labels.team") == "a" for r in rows), rows[0])
            # The design's query fields: top-level type/reason/message, involvedObject.name.
            self.assertEqual({(r["type"], r["reason"], r["involvedObject.name"]) for r in rows},
                             {("Normal", "ScalingReplicaSet", "web")})
            # The exporter, as the chart's ServiceAccount with only the chart's RBAC, created the
            # checkpoint ConfigMap (POST on 404) and keeps it current (PUT): every event above
            # delivered is remembered in it.
            def stored():
                status, cm = self.kube.request("GET", cm_path, expect=(200, 404))
                data = (cm.get("data") or {}) if status == 200 else {}
                return json.loads(data["checkpoint.json"]) if "checkpoint.json" in data else None
            cp = poll(lambda: (c := stored()) and c["entries"] >= len(names) and c, 60, 0.5,
                      f"ConfigMap {ns}/{checkpoint} with the {len(names)} events")
            self.assertEqual(cp["version"], 1)
            m = ex.metrics()
            self.assertRegex(m, r"(?m)^event_exporter_watch_errors 0$")
            self.assertRegex(m, r'(?m)^event_exporter_checkpoint_writes_total\{result="ok"\} [1-9]')
            self.assertRegex(m, r'(?m)^event_exporter_checkpoint_writes_total\{result="failed"\} 0$')
            log = ex.read_log()
            self.assertNotRegex(log, r"\b403\b|[Ff]orbidden", log[-3000:])
        finally:
            self.assertEqual(ex.stop(), 0, ex.read_log()[-3000:])
        # The last write at shutdown still holds every event; the ConfigMap is the exporter's
        # (no Helm labels): `helm uninstall` leaves it.
        final = self.kube.get(cm_path)
        self.assertGreaterEqual(json.loads(final["data"]["checkpoint.json"])["entries"], len(names))
        self.assertNotIn("app.kubernetes.io/managed-by", (final["metadata"].get("labels") or {}))
        self.assert_not_wider(ns, sa, checkpoint=checkpoint)
        # A config change through `helm upgrade` changes the live pod template (a rollout).
        path = f"/apis/apps/v1/namespaces/{ns}/deployments/kee-kube-event-exporter"
        before = self.kube.get(path)["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        helm("upgrade", "kee", CHART, "--namespace", ns, "--wait=false", "-f", VALUES_LOKI,
             "--set", "config.clusterName=prod")
        after = self.kube.get(path)
        self.assertNotEqual(after["spec"]["template"]["metadata"]["annotations"]["checksum/config"], before)
        self.assertIn("clusterName: prod", self.kube.get(
            f"/api/v1/namespaces/{ns}/configmaps/kee-kube-event-exporter")["data"]["config.yaml"])

    def test_bitnami_defaults_install_writes_the_checkpoint(self):
        """Bitnami's default values never mention the checkpoint: the chart's defaults apply, and
        the exporter (Bitnami's config from the chart's ConfigMap, the chart's ServiceAccount)
        creates and updates the checkpoint ConfigMap with the chart's Role."""
        ns = f"kee-bncp-{uuid.uuid4().hex[:6]}"
        docs = self.install("bn", ns, "-f", os.path.join(DATA, "bitnami-3.6.4-defaults.yaml"))
        fullname = "bn-kube-event-exporter"
        checkpoint = f"{fullname}-checkpoint"
        self.assertEqual({(d["kind"], d["metadata"]["name"]) for d in docs if d["kind"] in ("Role", "RoleBinding")},
                         {("Role", checkpoint), ("RoleBinding", checkpoint)})
        text = self.kube.get(f"/api/v1/namespaces/{ns}/configmaps/{fullname}")["data"]["config.yaml"]
        cfg = yaml.safe_load(text)
        self.assertEqual(cfg["checkpoint"], {"configMap": checkpoint, "namespace": ns, "interval": "5s"})
        self.assertEqual(cfg["receivers"][0]["file"]["path"], "/dev/stdout")  # Bitnami's own config
        _, kubeconfig = self.sa_kubeconfig(ns, fullname)
        app, dep = self.app_namespace()
        cm_path = f"/api/v1/namespaces/{ns}/configmaps/{checkpoint}"
        ex = Exporter(self.tmp, f"bncp-{ns}", text, kubeconfig)
        try:
            post_events(app, dep, [f"bn.{i}" for i in range(5)], threads=1)

            def entries():
                status, cm = self.kube.request("GET", cm_path, expect=(200, 404))
                data = (cm.get("data") or {}) if status == 200 else {}
                return json.loads(data["checkpoint.json"])["entries"] if "checkpoint.json" in data else 0
            poll(lambda: entries() >= 5, 60, 0.5, f"ConfigMap {ns}/{checkpoint} with the 5 events")
            log = ex.read_log()
            self.assertNotRegex(log, r"\b403\b|[Ff]orbidden", log[-3000:])
        finally:
            self.assertEqual(ex.stop(), 0, ex.read_log()[-3000:])
        self.assert_not_wider(ns, fullname, checkpoint=checkpoint)

    def test_leader_election_and_ingest_rbac(self):
        ns = f"kee-le-{uuid.uuid4().hex[:6]}"
        app, dep = self.app_namespace()
        out = os.path.join(self.tmp, f"{ns}.jsonl")
        overlay = os.path.join(self.tmp, f"{ns}-values.yaml")
        with open(overlay, "w") as f:
            yaml.safe_dump({
                "replicaCount": 2,
                "ingest": {"enabled": True, "auth": {"allowedServiceAccounts": [f"{ns}:bench"]}},
                "containerPorts": {"ingest": free_port()},
                "config": {"namespace": app, "metricsNamePrefix": "kee_",
                           "receivers": [{"name": "file", "file": {"path": out}}],
                           "route": {"routes": [{"match": [{"receiver": "file"}]}]}}}, f)
        docs = self.install("le", ns, "-f", overlay)
        self.assertIn("Role", {d["kind"] for d in docs})
        fullname = "le-kube-event-exporter"
        lease = f"{fullname}-leader-election"
        text = self.kube.get(f"/api/v1/namespaces/{ns}/configmaps/{fullname}")["data"]["config.yaml"]
        self.assertEqual(yaml.safe_load(text)["leaderElection"], {"enabled": True, "leaderElectionID": lease})
        token, kubeconfig = self.sa_kubeconfig(ns, fullname)
        ex = Exporter(self.tmp, f"le-{ns}", text, kubeconfig)
        try:
            held = poll(lambda: (l := self.kube.get(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{lease}",
                                                    expect=(200, 404))) and l.get("spec", {}).get("holderIdentity") and l,
                        60, 0.2, "the exporter to hold the chart's Lease")
            self.assertTrue(held["spec"]["holderIdentity"])
            post_events(app, dep, [f"le.{i:02d}" for i in range(10)], threads=2)

            def records():
                if not os.path.exists(out):
                    return []
                with open(out) as f:
                    return [json.loads(line) for line in f if line.strip()]
            recs = poll(lambda: len(records()) >= 10 and records(), 60, 0.2, "10 records")
            self.assertEqual(sorted(r["metadata"]["name"] for r in recs), [f"le.{i:02d}" for i in range(10)])
            self.assertTrue(all(r["involvedObject"].get("labels", {}).get("team") == "a" for r in recs))
            log = ex.read_log()
            self.assertNotRegex(log, r"\b403\b|[Ff]orbidden", log[-3000:])
        finally:
            self.assertEqual(ex.stop(), 0, ex.read_log()[-3000:])
        # On SIGTERM it released the Lease (an update) with the chart's Role.
        released = self.kube.get(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{lease}")
        self.assertFalse(released["spec"].get("holderIdentity"), released)
        # With ingest auth tokenReview the ServiceAccount may create TokenReviews (the exporter
        # validates senders' tokens with them): done here with its own token.
        k = Kube(token=token)
        r = k.post("/apis/authentication.k8s.io/v1/tokenreviews", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}})
        self.assertTrue(r["status"]["authenticated"])
        self.assertEqual(r["status"]["user"]["username"], f"system:serviceaccount:{ns}:{fullname}")
        self.assert_not_wider(ns, fullname, lease=lease, tokenreview=True, watch_ns=app,
                              checkpoint=f"{fullname}-checkpoint")
        # config.namespace with rbac.scope auto: the watch is granted in that namespace only.
        self.assertEqual({(d["kind"], d["metadata"].get("namespace")) for d in docs
                          if d["kind"] in ("Role", "RoleBinding")},
                         {("Role", ns), ("RoleBinding", ns), ("Role", app), ("RoleBinding", app)})

    def test_kube_bench_ingest_with_the_charts_rbac(self):
        """kubeBench.enabled: the exporter (chart config, chart ServiceAccount) validates the
        kube-bench Jobs' ServiceAccount token with a TokenReview (the chart's tokenreviews rule),
        accepts the report and exposes kube_bench_info; another ServiceAccount gets 403."""
        ns = f"kee-kb-{uuid.uuid4().hex[:6]}"
        port = free_port()
        overlay = os.path.join(self.tmp, f"{ns}-values.yaml")
        with open(overlay, "w") as f:
            yaml.safe_dump({"kubeBench": {"enabled": True, "nodes": [{"name": "wk1-k8s", "target": "node"}]},
                            "containerPorts": {"ingest": port},
                            "config": {"namespace": ns}}, f)
        docs = self.install("kb", ns, "-f", VALUES_LOKI, "-f", overlay)
        self.assertEqual(len(find(docs, "CronJob")), 1)
        fullname = "kb-kube-event-exporter"
        text = self.kube.get(f"/api/v1/namespaces/{ns}/configmaps/{fullname}")["data"]["config.yaml"]
        text = text.replace("http://loki-gateway.kube-monitor.svc.cluster.local/loki/api/v1/push",
                            f"{env('VLOGS_URL')}/insert/loki/api/v1/push")
        self.assertEqual(yaml.safe_load(text)["ingest"]["auth"]["allowedServiceAccounts"],
                         [f"{ns}:{fullname}-kube-bench"])
        _, kubeconfig = self.sa_kubeconfig(ns, fullname)
        bench_token, _ = self.sa_kubeconfig(ns, f"{fullname}-kube-bench")
        other_token, _ = self.sa_kubeconfig(ns, fullname)
        ex = Exporter(self.tmp, f"kb-{ns}", text, kubeconfig)
        with open(KUBE_BENCH_REPORT, "rb") as f:
            report = f.read()
        url = f"http://127.0.0.1:{port}/api/v1/kube-bench?node=wk1-k8s&target=node"

        def post(token):
            try:
                return http_json(url, data=report, method="POST", headers={
                    "Content-Type": "application/json", "Authorization": f"Bearer {token}"})[0]
            except urllib.error.HTTPError as e:
                return e.code
        try:
            poll(lambda: self.can_connect(port), 30, 0.2, "the ingest listener")
            self.assertEqual(post(other_token), 403)
            self.assertEqual(post("garbage"), 401)
            self.assertEqual(post(bench_token), 202)
            m = poll(lambda: (t := ex.metrics()) and 'kube_bench_node_name="wk1-k8s"' in t and t, 30, 0.2,
                     "kube_bench_info on /metrics")
            self.assertRegex(m, r'kube_bench_info\{[^}]*kube_bench_type="total_fail"[^}]*\} 12')
            # The CronJob's post-bench container, run with its own args (the Service URL pointed
            # at the listener, the projected token at a local path).
            token_file = os.path.join(self.tmp, f"{ns}-bench-projected.token")
            with open(token_file, "w") as f:
                f.write(bench_token)
            cron = one(docs, "CronJob")
            job = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            args = [a.replace(f"http://{fullname}-ingest.{ns}.svc:8080", f"http://127.0.0.1:{port}")
                    .replace("/out/report.json", os.path.join(KUBE_BENCH_DATA, "result_no_totals.json"))
                    .replace("/var/run/secrets/kube-bench/token", token_file)
                    for a in job["containers"][0]["args"]]
            self.assertEqual(args[0], "post-bench")
            p = subprocess.run([binary(), *args, "--node=wk2-k8s"], capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            m = poll(lambda: (t := ex.metrics()) and 'kube_bench_node_name="wk2-k8s"' in t and t, 30, 0.2,
                     "the CronJob's report on /metrics")
            self.assertIn('kube_bench_syntax="kube-bench run --targets=node"', m)
            log = ex.read_log()
            self.assertNotRegex(log, r"\b403\b.*tokenreview|[Ff]orbidden", log[-3000:])
        finally:
            self.assertEqual(ex.stop(), 0, ex.read_log()[-3000:])

    @staticmethod
    def can_connect(port):
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    def ensure_crd(self, group, version, kind, plural):
        """A schema-less stand-in for an operator's CRD (the bed has no Prometheus operator or
        VPA): proves the chart's apiVersion/kind of those objects resolve and are accepted."""
        name = f"{plural}.{group}"
        self.kube.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            # *.k8s.io groups need this annotation (the real VPA CRD carries the same)
            "metadata": {"name": name, "annotations": {
                "api-approved.kubernetes.io": "https://github.com/kubernetes/kubernetes/pull/63797"}},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": kind + "List"},
                     "versions": [{"name": version, "served": True, "storage": True, "schema": {
                         "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}},
            expect=(201, 409))
        def established():
            crd = self.kube.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            # a CRD just created may have no status (or null conditions) yet
            conditions = (crd.get("status") or {}).get("conditions") or []
            return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)
        poll(established, 60, 0.2, f"CRD {name} established")
        poll(lambda: self.kube.get(f"/apis/{group}/{version}", expect=(200, 404)), 60, 0.2, f"{group}/{version} served")

    def test_every_option_is_accepted_by_the_api_server(self):
        """values-all.yaml: CronJobs, Secret config, Role, NetworkPolicy, VPA, ServiceMonitor,
        PrometheusRule (the last three against stand-in CRDs)."""
        self.ensure_crd("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors")
        self.ensure_crd("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules")
        self.ensure_crd("autoscaling.k8s.io", "v1", "VerticalPodAutoscaler", "verticalpodautoscalers")
        ns = f"kee-all-{uuid.uuid4().hex[:6]}"
        docs = self.install("all", ns, "-f", VALUES_ALL)
        kinds = {d["kind"] for d in docs}
        self.assertTrue({"CronJob", "Secret", "Role", "RoleBinding", "NetworkPolicy", "ServiceMonitor",
                         "PrometheusRule", "VerticalPodAutoscaler"} <= kinds, kinds)


def promql_exprs(dash):
    for p in dash["panels"]:
        for t in p.get("targets", []):
            if p["datasource"]["type"] == "prometheus":
                yield p["title"], t["expr"]
    for v in dash["templating"]["list"]:
        if v["type"] == "query" and v["datasource"]["type"] == "prometheus":
            yield v["name"], v["query"]


PROMQL_WORDS = {"sum", "max", "min", "avg", "count", "topk", "bottomk", "by", "without", "on",
                "ignoring", "group_left", "group_right", "rate", "increase", "irate", "histogram_quantile",
                "label_values", "and", "or", "unless", "absent", "time", "offset", "le", "bool"}


def metrics_in(expr, prefix):
    e = expr.replace("${metrics_prefix}", prefix)
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', e)       # strings
    e = re.sub(r"\{[^}]*\}", "", e)                   # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                  # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"label_values\(([^,]*),[^)]*\)", r"\1", e)
    names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e)) - PROMQL_WORDS
    return {n for n in names if not re.fullmatch(r"[0-9.e]+", n)}


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dashboards = {}
        for name in sorted(os.listdir(DASHBOARDS)):
            with open(os.path.join(DASHBOARDS, name)) as f:
                cls.dashboards[name] = json.load(f)
        cls.tmp = tempfile.mkdtemp(prefix="ke-e2e-dash-")

    def test_four_dashboards_titles_and_datasource_variables(self):
        self.assertEqual(sorted(self.dashboards), ["events.json", "exporter-health.json",
                                                   "kube-bench-checks.json", "kube-bench-status.json"])
        for name, d in self.dashboards.items():
            ds_vars = {v["name"]: v["query"] for v in d["templating"]["list"] if v["type"] == "datasource"}
            self.assertTrue(ds_vars, name)
            self.assertTrue(d["title"] and d["uid"], name)
            panels = [p for p in d["panels"] if p["type"] != "row"]
            self.assertTrue(panels, name)
            for p in panels:
                self.assertTrue(p.get("title"), (name, p["id"]))
                self.assertTrue(p.get("targets"), (name, p["title"]))
                for ds in [p["datasource"]] + [t["datasource"] for t in p["targets"]]:
                    m = re.fullmatch(r"\$\{(\w+)\}", ds["uid"])
                    self.assertTrue(m, (name, p["title"], ds))
                    self.assertEqual(ds_vars.get(m.group(1)), ds["type"], (name, p["title"]))
            # No hard-coded datasource uid anywhere (panels, targets, variables).
            for uid in re.findall(r'"uid":\s*"([^"]*)"', json.dumps(d["panels"] + d["templating"]["list"])):
                self.assertRegex(uid, r"^\$\{\w+\}$", name)
            ids = [p["id"] for p in d["panels"]]
            self.assertEqual(len(ids), len(set(ids)), name)

    def test_events_dashboard_has_the_design_query_and_variables(self):
        d = self.dashboards["events.json"]
        v = {x["name"]: x for x in d["templating"]["list"]}
        self.assertEqual(v["job"]["query"], "kubernetes-event")
        self.assertIn("namespace", v)
        self.assertEqual(v["type"]["query"], "Normal,Warning")
        logs = [p for p in d["panels"] if p["type"] == "logs"]
        self.assertEqual(len(logs), 1)
        expr = logs[0]["targets"][0]["expr"]
        self.assertTrue(expr.startswith('{job="$job"}'), expr)
        self.assertIn(" | json | ", expr)
        self.assertTrue(expr.endswith(
            '| line_format "[{{.type}}] {{.reason}}: {{.message}} (Pod: {{.involvedObject_name}})"'), expr)
        titles = {p["title"] for p in d["panels"]}
        self.assertTrue({"Events by reason", "Events by type"} <= titles)
        checks = self.dashboards["kube-bench-checks.json"]
        logs = [p for p in checks["panels"] if p["type"] == "logs"][0]["targets"][0]["expr"]
        self.assertIn("kube_bench_gb_tg_test_minor_remediation", logs)
        status = [p for p in self.dashboards["kube-bench-status.json"]["panels"] if p["type"] == "stat"]
        self.assertEqual(len(status), 5)
        self.assertEqual(sum("kube_bench_info{" in p["targets"][0]["expr"] for p in status), 4)

    def test_every_metric_exists_in_a_real_scrape_and_prometheus_accepts_every_query(self):
        prefix = "event_exporter_"
        conf = f"""logLevel: info
logFormat: json
metricsNamePrefix: {prefix}
namespace: kee-dash-none
route:
  routes:
    - match:
        - receiver: loki
        - receiver: dump
receivers:
  - name: loki
    loki:
      url: {env('VLOGS_URL')}/insert/loki/api/v1/push
      streamLabels: {{job: kubernetes-event}}
  - name: dump
    stdout: {{}}
"""
        # A posted report makes the kube_bench_* gauges appear on /metrics.
        ingest_port = free_port()
        conf += f"ingest: {{address: '127.0.0.1:{ingest_port}', auth: {{mode: none}}}}\n"
        ex = Exporter(self.tmp, "dash", conf, env("KUBECONFIG"))
        with open(KUBE_BENCH_REPORT, "rb") as f:
            status, _ = http_json(f"http://127.0.0.1:{ingest_port}/api/v1/kube-bench?node=dash-node&target=node",
                                  data=f.read(), method="POST", headers={"Content-Type": "application/json"})
        self.assertEqual(status, 202)
        poll(lambda: "kube_bench_info{" in ex.metrics(), 30, 0.2, "kube_bench_info on /metrics")
        sd = os.path.join(env("PROMETHEUS_FILE_SD_DIR"), f"kee-dash-{ex.port}.json")
        try:
            scraped = metric_names(ex.metrics())
            missing = []
            exprs = [(name, t, e) for name, d in self.dashboards.items() for t, e in promql_exprs(d)]
            self.assertGreater(len(exprs), 20)
            for name, title, e in exprs:
                for m in metrics_in(e, prefix):
                    if m in scraped or m in PROMETHEUS_OWN:
                        continue
                    missing.append((name, title, m))
            self.assertEqual(missing, [], f"metrics not in the scrape: {sorted(scraped)}")
            # The bed's Prometheus scrapes the binary; every query (variables filled in) is valid
            # PromQL, and the health dashboard's instant queries find the exporter's series.
            with open(sd + ".tmp", "w") as f:
                json.dump([{"targets": [f"127.0.0.1:{ex.port}"], "labels": {"job": "kee-dash"}}], f)
            os.rename(sd + ".tmp", sd)
            prom = env("PROMETHEUS_URL")

            def query(q):
                _, raw = http_json(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": q}))
                return json.loads(raw)
            inst = f"127.0.0.1:{ex.port}"
            poll(lambda: query(f'{prefix}build_info{{instance="{inst}"}}')["data"]["result"], 60, 0.5,
                 "Prometheus to scrape the exporter")
            subst = {"${metrics_prefix}": prefix, "$instance": inst, "$node": ".*",
                     "$target": ".*", "$__rate_interval": "1m", "$__range": "1h", "$__interval": "1m"}
            for name, title, e in exprs:
                q = e
                for k, v in subst.items():
                    q = q.replace(k, v)
                if q.startswith("label_values("):
                    q = re.sub(r"label_values\((.*),\s*\w+\)$", r"\1", q)
                try:
                    r = query(q)
                except Exception as err:  # noqa: BLE001 - HTTP 400: bad PromQL
                    raise AssertionError(f"{name} / {title}: Prometheus rejected {q!r}: {err}")
                self.assertEqual(r["status"], "success", (name, title, q))
            up = query(subst_all('sum(up{instance=~"$instance"} * on (instance) group_left '
                                 'max by (instance) (${metrics_prefix}build_info{instance=~"$instance"}))', subst))
            self.assertEqual(up["data"]["result"][0]["value"][1], "1")
        finally:
            if os.path.exists(sd):
                os.remove(sd)
            self.assertEqual(ex.stop(), 0, ex.read_log()[-3000:])


def loki_exprs(dash):
    for p in dash["panels"]:
        if p.get("datasource", {}).get("type") == "loki":
            for t in p["targets"]:
                yield p["title"], t["expr"], t.get("legendFormat", "")


def logql_fields(expr, legend=""):
    """The parsed-line fields a LogQL query uses: label filters after the parser, by (...) lists
    and {{.field}} in line_format (and {{field}} in the legend)."""
    e = re.sub(r'\{[a-zA-Z_]+=~?"[^"]*"(,\s*[a-zA-Z_]+=~?"[^"]*")*\}', "", expr)  # stream selectors
    e = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: m.group(0) if "{{" in m.group(0) else '""', e)
    fields = set(re.findall(r"\|\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", e))
    for group in re.findall(r"\bby\s*\(([^)]*)\)", e):
        fields |= {x.strip() for x in group.split(",") if x.strip()}
    fields |= set(re.findall(r"\{\{\s*\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}", e))
    fields |= set(re.findall(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}", legend))
    return fields - {"__error__"}


def loki_json_keys(line):
    """The labels Loki's `| json` makes of a JSON line: nested keys joined with _."""
    out = set()

    def walk(v, prefix):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{prefix}_{k}" if prefix else k)
        else:
            out.add(re.sub(r"[^a-zA-Z0-9_]", "_", prefix))
    walk(json.loads(line), "")
    return out


# The per-check keys of the monitoring design (monitoring-design.md, issue 5): every shipped
# kube-bench line has them.
DESIGN_BENCH_KEYS = {
    "kube_bench_node_name", "kube_bench_target", "kube_bench_syntax",
    "kube_bench_gb_cis_id", "kube_bench_gb_cis_version", "kube_bench_gb_cis_description",
    "kube_bench_gb_tg_type", "kube_bench_gb_tg_version"} | {
    f"kube_bench_gb_tg_test_major_{k}" for k in ("section", "description", "type", "pass", "fail", "warn", "info")} | {
    f"kube_bench_gb_tg_test_minor_{k}" for k in (
        "section", "description", "audit", "audit_env", "audit_conf", "type", "remediation", "test_info",
        "status", "actual_value", "scored", "is_multiple", "expected_result")}


class LokiDashboardFieldsTest(unittest.TestCase):
    """No Loki on the bed to run LogQL, so the fields the Loki panels filter, group and format by
    are checked against the lines the binary really ships (flattened as Loki's json parser does):
    an event line and a kube-bench check line."""

    def test_loki_panels_use_fields_the_shipped_lines_have(self):
        tmp = tempfile.mkdtemp(prefix="ke-e2e-dash-loki-")
        kube = Kube()
        ns = f"kee-dash-{uuid.uuid4().hex[:6]}"
        kube.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        dep = kube.post(f"/apis/apps/v1/namespaces/{ns}/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
        out = os.path.join(tmp, "lines.jsonl")
        conf = f"""logFormat: json
maxEventAgeSeconds: 3600
namespace: {ns}
route: {{routes: [{{match: [{{receiver: file}}]}}]}}
receivers: [{{name: file, file: {{path: {out}}}}}]
"""
        ingest_port = free_port()
        conf += f"ingest: {{address: '127.0.0.1:{ingest_port}', auth: {{mode: none}}}}\n"
        ex = Exporter(tmp, "dash-loki", conf, env("KUBECONFIG"))
        try:
            post_events(ns, dep, ["web.1"], threads=1)
            with open(KUBE_BENCH_REPORT, "rb") as f:
                http_json(f"http://127.0.0.1:{ingest_port}/api/v1/kube-bench?node=n1&target=node",
                          data=f.read(), method="POST", headers={"Content-Type": "application/json"})

            def lines():
                if not os.path.exists(out):
                    return []
                with open(out) as f:
                    return [x for x in f.read().splitlines() if x.strip()]
            poll(lambda: any('"kind":"Deployment"' in x for x in lines()) and
                 any("kube_bench_gb_" in x for x in lines()) and lines(), 60, 0.2, "shipped lines")
        finally:
            self.assertEqual(ex.stop(), 0, ex.read_log()[-3000:])
        event_keys = set().union(*(loki_json_keys(x) for x in lines() if "kube_bench_gb_" not in x))
        bench_keys = set().union(*(loki_json_keys(x) for x in lines() if "kube_bench_gb_" in x))
        self.assertEqual(DESIGN_BENCH_KEYS - bench_keys, set())
        checked = 0
        for name, keys in (("events.json", event_keys), ("kube-bench-checks.json", bench_keys)):
            with open(os.path.join(DASHBOARDS, name)) as f:
                dash = json.load(f)
            for title, expr, legend in loki_exprs(dash):
                used = logql_fields(expr, legend)
                self.assertTrue(used, (name, title))
                self.assertEqual(used - keys, set(), (name, title, expr))
                checked += 1
        self.assertGreater(checked, 10)


class KubeBenchDashboardDataTest(unittest.TestCase):
    """The kube-bench status dashboard's queries find series shaped as the design defines them
    (pushed to the bed's Pushgateway, scraped by its Prometheus): the label names and values the
    panels select on are the ones kube_bench_info carries."""

    def test_status_queries_return_the_pushed_totals(self):
        with open(os.path.join(DASHBOARDS, "kube-bench-status.json")) as f:
            dash = json.load(f)
        node = f"kee-dash-{uuid.uuid4().hex[:6]}"
        # Typed as the exporter pushes them: the Pushgateway rejects (400) a family whose type
        # differs from what another group of the same name already holds.
        body = "# TYPE kube_bench_info gauge\n" + "".join(
            f'kube_bench_info{{kube_bench_type="{t}",kube_bench_target="node",'
            f'kube_bench_syntax="kube-bench run --targets=node",kube_bench_node_name="{node}"}} {v}\n'
            for t, v in (("total_pass", 17), ("total_fail", 3), ("total_warn", 40), ("total_info", 0)))
        body += "# TYPE kube_bench_last_report_timestamp_seconds gauge\n"
        body += (f'kube_bench_last_report_timestamp_seconds{{kube_bench_node_name="{node}",'
                 f'kube_bench_target="node"}} {int(time.time())}\n')
        group = f"{env('PUSHGATEWAY_URL')}/metrics/job/{node}"
        http_json(group, data=body.encode(), method="PUT")
        prom = env("PROMETHEUS_URL")

        def query(q):
            _, raw = http_json(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": q}))
            return json.loads(raw)["data"]["result"]
        try:
            poll(lambda: query(f'kube_bench_last_report_timestamp_seconds{{kube_bench_node_name="{node}"}}'),
                 60, 0.5, "Prometheus to scrape the pushed kube-bench gauges")
            subst = {"$node": node, "$target": "node", "$__rate_interval": "1m", "$__range": "1h",
                     "$__interval": "1m"}
            got = {}
            for title, e in promql_exprs(dash):
                q = subst_all(e, subst)
                if q.startswith("label_values("):
                    m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q)
                    q, label = m.group(1), m.group(2)
                    self.assertIn(node if label.endswith("node_name") else "node",
                                  {r["metric"][label] for r in query(q)}, q)
                    continue
                got[title] = query(q)
                self.assertTrue(got[title], (title, q))
            value = lambda t: float(got[t][0]["value"][1])  # noqa: E731
            self.assertEqual((value("FAIL per node and target"), value("WARN per node and target"),
                              value("PASS per node and target"), value("INFO per node and target")),
                             (3, 40, 17, 0))
            self.assertLess(value("Age of the latest report"), 300)
            self.assertEqual(len(got["Latest totals"]), 4)
        finally:
            http_json(group, method="DELETE")


def subst_all(q, subst):
    for k, v in subst.items():
        q = q.replace(k, v)
    return q


if __name__ == "__main__":
    unittest.main()
