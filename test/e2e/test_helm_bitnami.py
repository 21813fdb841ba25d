"""Bitnami's own values.yaml installs unchanged (issue 13).

Run with test/e2e/run test_helm_bitnami (the bed: helm, kube-apiserver). The template-level class
needs only helm and the exporter binary:
    HELM_BIN=test/tools/bin/helm python3 -m unittest -v test_helm_bitnami.BitnamiTemplateTest
  - testdata/helm/bitnami-3.6.4-defaults.yaml: every parameter of Bitnami's kubernetes-event-exporter
    chart 3.6.4 (README parameter table) at Bitnami's default; bitnami-3.6.4-nondefault.yaml: the
    same keys, each set to another plausible value. Both pass `helm lint --strict` and render.
  - The defaults render as Bitnami's chart would (its config, its image, no metrics Service) and
    the config passes check-config; every non-default value shows up where it should in the
    rendered objects (once as written, once more with the switches that hide keys turned back on).
  - Bitnami keys this chart honours beyond its own: metrics.service.type/clusterIP/sessionAffinity
    and the older metrics.service.port, kubeBench.image.pullSecrets; the schema accepts Bitnami's
    global.* (an open object), apiVersions, kubeVersion, `enabled`, any core/v1 Probe field,
    logLevel in any case, replicaCount as a string, and still rejects typos.
  - On the bed: the defaults fixture installs into kube-apiserver; an in-place `helm upgrade` of a
    release installed from it with nameOverride: kubernetes-event-exporter keeps every object name,
    the Deployment (same uid) and its selector, and the Lease ID.
"""

import json
import os
import subprocess
import tempfile
import unittest
import uuid

import test_helm
from bed import Kube
from test_helm import CHART, DATA, check_config, config_of, containers, find, helm, one, render, yaml

DEFAULTS = os.path.join(DATA, "bitnami-3.6.4-defaults.yaml")
NONDEFAULT = os.path.join(DATA, "bitnami-3.6.4-nondefault.yaml")

# The parameter names of Bitnami's kubernetes-event-exporter chart 3.6.4 (README "Parameters"
# tables; pdb.*, global.security.allowInsecureImages and apiVersions came with the 3.x releases
# after 3.1, see the fixture's header). image.tag is in Bitnami's values.yaml but not in the table.
BITNAMI_PARAMETERS = """
global.imageRegistry global.imagePullSecrets global.security.allowInsecureImages
global.compatibility.openshift.adaptSecurityContext
kubeVersion apiVersions nameOverride fullnameOverride commonAnnotations commonLabels
diagnosticMode.enabled diagnosticMode.command diagnosticMode.args extraDeploy
replicaCount revisionHistoryLimit containerPorts.http extraContainerPorts
image.registry image.repository image.digest image.pullPolicy image.pullSecrets
automountServiceAccountToken hostAliases
config.logLevel config.logFormat config.receivers config.route.routes
rbac.create rbac.rules
serviceAccount.create serviceAccount.name serviceAccount.automountServiceAccountToken
serviceAccount.annotations
podAnnotations podLabels
podSecurityContext.enabled podSecurityContext.fsGroupChangePolicy podSecurityContext.sysctls
podSecurityContext.supplementalGroups podSecurityContext.fsGroup
containerSecurityContext.enabled containerSecurityContext.seLinuxOptions
containerSecurityContext.runAsUser containerSecurityContext.runAsGroup
containerSecurityContext.runAsNonRoot containerSecurityContext.privileged
containerSecurityContext.readOnlyRootFilesystem containerSecurityContext.allowPrivilegeEscalation
containerSecurityContext.capabilities.drop containerSecurityContext.seccompProfile.type
pdb.create pdb.minAvailable pdb.maxUnavailable
command args lifecycleHooks resourcesPreset resources
networkPolicy.enabled networkPolicy.kubeAPIServerPorts networkPolicy.allowExternal
networkPolicy.allowExternalEgress networkPolicy.extraIngress networkPolicy.extraEgress
networkPolicy.ingressNSMatchLabels networkPolicy.ingressNSPodMatchLabels
livenessProbe.enabled livenessProbe.initialDelaySeconds livenessProbe.periodSeconds
livenessProbe.timeoutSeconds livenessProbe.failureThreshold livenessProbe.successThreshold
readinessProbe.enabled readinessProbe.initialDelaySeconds readinessProbe.periodSeconds
readinessProbe.timeoutSeconds readinessProbe.failureThreshold readinessProbe.successThreshold
startupProbe.enabled startupProbe.initialDelaySeconds startupProbe.periodSeconds
startupProbe.timeoutSeconds startupProbe.failureThreshold startupProbe.successThreshold
customStartupProbe customLivenessProbe customReadinessProbe
nodeSelector priorityClassName schedulerName topologySpreadConstraints tolerations
podAffinityPreset podAntiAffinityPreset nodeAffinityPreset.type nodeAffinityPreset.key
nodeAffinityPreset.values affinity updateStrategy.type
extraEnvVars extraEnvVarsCM extraEnvVarsSecret extraVolumeMounts extraVolumes initContainers sidecars
metrics.enabled metrics.service.ports.http metrics.service.annotations
metrics.serviceMonitor.enabled metrics.serviceMonitor.port metrics.serviceMonitor.endpoints
metrics.serviceMonitor.path metrics.serviceMonitor.namespace metrics.serviceMonitor.interval
metrics.serviceMonitor.scrapeTimeout metrics.serviceMonitor.labels metrics.serviceMonitor.selector
metrics.serviceMonitor.relabelings metrics.serviceMonitor.metricRelabelings
metrics.serviceMonitor.honorLabels metrics.serviceMonitor.jobLabel
metrics.prometheusRule.enabled metrics.prometheusRule.namespace metrics.prometheusRule.labels
metrics.prometheusRule.groups
autoscaling.vpa.enabled autoscaling.vpa.annotations autoscaling.vpa.recommenders
autoscaling.vpa.controlledResources autoscaling.vpa.maxAllowed autoscaling.vpa.minAllowed
autoscaling.vpa.updatePolicy.minReplicas autoscaling.vpa.updatePolicy.updateMode
""".split()
NOT_IN_TABLE = ["image.tag"]
# Keys the non-default fixture leaves at Bitnami's default, and why.
KEPT_DEFAULT = {
    "pdb.maxUnavailable": "a PodDisruptionBudget takes minAvailable or maxUnavailable, not both",
    "metrics.serviceMonitor.port": "the metrics Service's port is named http in both charts",
    "livenessProbe.successThreshold": "Kubernetes takes only 1 for a liveness probe",
    "startupProbe.successThreshold": "Kubernetes takes only 1 for a startup probe",
}
# The non-default fixture turns these off (or sets the overriding key); turned back on, the keys
# they hide render too.
SWITCHES_BACK_ON = ["diagnosticMode.enabled=false", "podSecurityContext.enabled=true",
                    "containerSecurityContext.enabled=true", "rbac.create=true",
                    "serviceAccount.create=true", "pdb.create=true", "networkPolicy.enabled=true",
                    "livenessProbe.enabled=true", "readinessProbe.enabled=true",
                    "customLivenessProbe=null", "customReadinessProbe=null",
                    "customStartupProbe=null", "affinity=null"]


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def parameters(values, names, prefix=""):
    """{path: value}: a path is a leaf where it is a parameter name, else maps are walked down."""
    out = {}
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        if path not in names and isinstance(value, dict) and value:
            out.update(parameters(value, names, path))
        else:
            out[path] = value
    return out


def set_args(pairs):
    return [a for p in pairs for a in ("--set", p)]


def by_name(items):
    return {i["name"]: i for i in items}


class BitnamiTemplateTest(unittest.TestCase):
    """helm lint/template of Bitnami's values; needs helm (HELM_BIN) and the exporter binary."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ke-e2e-helm-bitnami-")
        cls.defaults, cls.nondefault = load(DEFAULTS), load(NONDEFAULT)

    def test_fixtures_hold_every_bitnami_parameter(self):
        names = set(BITNAMI_PARAMETERS) | set(NOT_IN_TABLE)
        self.assertEqual(len(BITNAMI_PARAMETERS), len(set(BITNAMI_PARAMETERS)), "a name listed twice")
        self.assertGreaterEqual(len(BITNAMI_PARAMETERS), 130)
        got = parameters(self.defaults, names)
        self.assertEqual(sorted(set(got) - names), [], "keys that are not Bitnami's parameters")
        self.assertEqual(sorted(names - set(got)), [], "Bitnami parameters missing")
        other = parameters(self.nondefault, names)
        self.assertEqual(sorted(set(got) - set(other)), [])
        # beyond Bitnami's keys only more core/v1 Probe fields in the probe objects
        extra = set(other) - set(got)
        self.assertTrue(extra)
        self.assertEqual({k.split(".")[0] for k in extra}, {"livenessProbe", "readinessProbe", "startupProbe"})
        same = sorted(k for k in got if got[k] == other[k])
        print(f"\n{len(BITNAMI_PARAMETERS)} Bitnami parameters (+{len(NOT_IN_TABLE)} not in the table), "
              f"{len(got) - len(same)} set to another value", end=" ")
        self.assertEqual(same, sorted(KEPT_DEFAULT), "keys left at Bitnami's default")

    def test_lint_and_template(self):
        for path in (DEFAULTS, NONDEFAULT):
            p = helm("lint", "--strict", CHART, "-f", path, check=False)
            self.assertIn("1 chart(s) linted, 0 chart(s) failed", p.stdout, p.stdout + p.stderr)
            p = helm("template", "t", CHART, "-f", path, check=False)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr.strip(), "", p.stderr)
        p = helm("template", "t", CHART, "-f", NONDEFAULT, *set_args(SWITCHES_BACK_ON), check=False)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_defaults_render_as_bitnamis_chart(self):
        docs = render("-f", DEFAULTS)
        text = config_of(docs)
        cfg = yaml.safe_load(text)
        for key in ("logLevel", "logFormat", "receivers", "route"):
            self.assertEqual(cfg[key], self.defaults["config"][key], key)
        p = check_config(text, self.tmp)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        dep = one(docs, "Deployment")
        c = containers(dep)[0]
        self.assertEqual(c["image"], "docker.io/bitnami/kubernetes-event-exporter:1.7.0-debian-12-r4")
        self.assertEqual(dep["spec"]["replicas"], 1)
        self.assertEqual(dep["spec"]["revisionHistoryLimit"], 10)
        self.assertEqual(dep["spec"]["strategy"], {"type": "RollingUpdate"})
        self.assertEqual(c["livenessProbe"]["failureThreshold"], 5)
        self.assertEqual(c["readinessProbe"]["failureThreshold"], 1)
        self.assertNotIn("startupProbe", c)
        self.assertEqual(c["resources"]["limits"]["memory"], "192Mi")  # resourcesPreset nano
        self.assertEqual(c["securityContext"]["runAsUser"], 1001)
        self.assertIn("preferredDuringSchedulingIgnoredDuringExecution",
                      dep["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"])
        # metrics.enabled false in Bitnami: no metrics Service
        self.assertFalse([d for d in find(docs, "Service") if d["metadata"]["name"].endswith("-metrics")])
        self.assertEqual(one(docs, "PodDisruptionBudget")["spec"]["maxUnavailable"], 1)
        self.assertTrue(one(docs, "NetworkPolicy"))
        self.assertFalse(find(docs, "ServiceMonitor") + find(docs, "PrometheusRule")
                         + find(docs, "VerticalPodAutoscaler"))

    def test_nondefault_values_show_up(self):
        v = self.nondefault
        docs = render("-f", NONDEFAULT, release="bn", namespace="mon")
        dep = one(docs, "Deployment", "bitnami-kee")
        pod = dep["spec"]["template"]["spec"]
        c = by_name(pod["containers"])["event-exporter"]
        meta = dep["metadata"]
        self.assertEqual(meta["labels"]["team"], "platform")
        self.assertEqual(meta["labels"]["app.kubernetes.io/name"], "kee")  # nameOverride
        self.assertEqual(meta["annotations"]["example.com/owner"], "bn-team")  # tpl
        self.assertEqual(c["image"], "registry.example.com/mirror/kubernetes-event-exporter@"
                         + v["image"]["digest"])  # global.imageRegistry wins, digest over tag
        self.assertEqual(c["imagePullPolicy"], "Always")
        self.assertEqual(pod["imagePullSecrets"], [{"name": "global-pull"}, {"name": "image-pull"}])
        self.assertEqual(dep["spec"]["replicas"], 2)  # "2"
        self.assertEqual(dep["spec"]["revisionHistoryLimit"], 3)
        self.assertEqual(dep["spec"]["strategy"], {"type": "Recreate"})
        # diagnosticMode: its command and args, no probes
        self.assertEqual((c["command"], c["args"]), (v["diagnosticMode"]["command"], v["diagnosticMode"]["args"]))
        self.assertFalse({"livenessProbe", "readinessProbe", "startupProbe"} & set(c))
        self.assertIs(pod["automountServiceAccountToken"], False)
        self.assertEqual(pod["serviceAccountName"], "kee-sa")
        self.assertEqual(pod["hostAliases"], v["hostAliases"])
        self.assertEqual(dep["spec"]["template"]["metadata"]["annotations"]["backup.velero.io/backup-volumes"], "tmp")
        self.assertEqual(dep["spec"]["template"]["metadata"]["labels"]["tier"], "monitoring")
        self.assertEqual(pod["nodeSelector"], v["nodeSelector"])
        self.assertEqual(pod["priorityClassName"], "system-cluster-critical")
        self.assertEqual(pod["schedulerName"], "custom-scheduler")
        self.assertEqual(pod["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"],
                         {"app.kubernetes.io/instance": "bn"})
        self.assertEqual(pod["tolerations"], v["tolerations"])
        self.assertEqual(pod["affinity"], v["affinity"])  # affinity overrides the presets
        self.assertIn({"name": "TZ", "value": "UTC"}, c["env"])
        self.assertEqual(c["envFrom"], [{"configMapRef": {"name": "bn-env"}},
                                        {"secretRef": {"name": "kee-secrets"}}])
        self.assertIn(v["extraVolumeMounts"][0], c["volumeMounts"])
        self.assertIn(v["extraVolumes"][0], pod["volumes"])
        self.assertEqual([x["name"] for x in pod["initContainers"]], ["wait-for-loki"])
        self.assertEqual([x["name"] for x in pod["containers"]], ["event-exporter", "log-shipper"])
        self.assertEqual([(p["name"], p["containerPort"]) for p in c["ports"]], [("http", 9102), ("debug", 9999)])
        self.assertEqual(c["resources"], v["resources"])  # resources win over resourcesPreset
        self.assertEqual(c["lifecycle"], v["lifecycleHooks"])
        # the enabled: false switches
        self.assertNotIn("securityContext", c)
        self.assertNotIn("securityContext", pod)
        self.assertFalse([d for d in docs if d["kind"] in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                                                           "Role", "RoleBinding", "PodDisruptionBudget",
                                                           "NetworkPolicy")])
        # config: Bitnami's keys as written; replicaCount "2" turns leader election on
        text = config_of(docs)
        cfg = yaml.safe_load(text)
        self.assertEqual(cfg["logLevel"], "INFO")
        self.assertEqual(cfg["receivers"], v["config"]["receivers"])
        self.assertEqual(cfg["route"], v["config"]["route"])
        self.assertEqual(cfg["leaderElection"], {"enabled": True, "leaderElectionID": "bitnami-kee-leader-election"})
        p = check_config(text, self.tmp)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # metrics
        svc = one(docs, "Service", "bitnami-kee-metrics")
        self.assertEqual(svc["spec"]["ports"][0]["port"], 9102)
        self.assertEqual(svc["metadata"]["annotations"]["prometheus.io/port"], "9102")
        sm = one(docs, "ServiceMonitor")
        self.assertEqual(sm["metadata"]["namespace"], "monitoring")
        self.assertEqual(sm["metadata"]["labels"]["release"], "prometheus")
        self.assertEqual(sm["spec"]["jobLabel"], "app.kubernetes.io/name")
        self.assertEqual(sm["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"], "metrics")
        ep = sm["spec"]["endpoints"][0]
        self.assertEqual((ep["port"], ep["path"], ep["scrapeTimeout"], ep["honorLabels"]),
                         ("http", "/metrics", "10s", True))
        self.assertEqual(ep["relabelings"], v["metrics"]["serviceMonitor"]["relabelings"])
        self.assertEqual(ep["metricRelabelings"], v["metrics"]["serviceMonitor"]["metricRelabelings"])
        pr = one(docs, "PrometheusRule")
        self.assertEqual(pr["metadata"]["namespace"], "monitoring")
        self.assertEqual(pr["metadata"]["labels"]["release"], "prometheus")
        self.assertIn("KubernetesEventExporter", [g["name"] for g in pr["spec"]["groups"]])
        vpa = one(docs, "VerticalPodAutoscaler")
        want = v["autoscaling"]["vpa"]
        self.assertEqual(vpa["metadata"]["annotations"]["example.com/vpa"], "true")
        self.assertEqual(vpa["spec"]["recommenders"], want["recommenders"])
        policy = vpa["spec"]["resourcePolicy"]["containerPolicies"][0]
        self.assertEqual((policy["controlledResources"], policy["maxAllowed"], policy["minAllowed"]),
                         (want["controlledResources"], want["maxAllowed"], want["minAllowed"]))
        self.assertEqual(vpa["spec"]["updatePolicy"], {"minReplicas": 2, "updateMode": "Initial"})
        # extraDeploy: a template string and a map, both rendered
        self.assertEqual(one(docs, "ConfigMap", "bn-extra")["data"], {"release": "bn"})
        self.assertEqual(one(docs, "ConfigMap", "bn-extra-map")["data"], {"note": "extra object"})

    def test_nondefault_values_behind_switches(self):
        v = self.nondefault
        docs = render("-f", NONDEFAULT, *set_args(SWITCHES_BACK_ON), release="bn", namespace="mon")
        dep = one(docs, "Deployment", "bitnami-kee")
        pod = dep["spec"]["template"]["spec"]
        c = by_name(pod["containers"])["event-exporter"]
        self.assertEqual((c["command"], c["args"]), (v["command"], v["args"]))
        psc = v["podSecurityContext"]
        self.assertEqual(pod["securityContext"], {k: psc[k] for k in psc if k != "enabled"})
        csc = v["containerSecurityContext"]
        self.assertEqual(c["securityContext"], {k: csc[k] for k in csc if k != "enabled"})
        sa = one(docs, "ServiceAccount", "kee-sa")
        self.assertEqual(sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
                         "arn:aws:iam::123456789012:role/bn")
        self.assertIs(sa["automountServiceAccountToken"], True)
        self.assertEqual(one(docs, "ClusterRole")["rules"], v["rbac"]["rules"])
        self.assertEqual(one(docs, "PodDisruptionBudget")["spec"]["minAvailable"], 1)
        self.assertNotIn("maxUnavailable", one(docs, "PodDisruptionBudget")["spec"])
        np = one(docs, "NetworkPolicy")["spec"]
        self.assertNotIn({}, np["egress"])  # allowExternalEgress false
        self.assertIn({"ports": [{"port": 6443, "protocol": "TCP"}]}, np["egress"])
        self.assertIn(v["networkPolicy"]["extraEgress"][0], np["egress"])
        self.assertIn(v["networkPolicy"]["extraIngress"][0], np["ingress"])
        peers = json.dumps(np["ingress"])
        self.assertIn('"kubernetes.io/metadata.name": "monitoring"', peers)
        self.assertIn('"app.kubernetes.io/name": "prometheus"', peers)
        # probes: the chart's httpGet with every other Probe field as written
        live, ready, start = c["livenessProbe"], c["readinessProbe"], c["startupProbe"]
        for got, key in ((live, "livenessProbe"), (ready, "readinessProbe"), (start, "startupProbe")):
            for field, value in v[key].items():
                if field not in ("enabled", "httpGet"):
                    self.assertEqual(got[field], value, (key, field))
        self.assertEqual(live["httpGet"], {"path": "/-/healthy", "port": "http",
                                           "httpHeaders": [{"name": "X-Probe", "value": "liveness"}]})
        self.assertEqual(ready["httpGet"], {"path": "/-/ready", "port": "http", "scheme": "HTTP"})
        self.assertEqual(start["httpGet"], {"path": "/-/healthy", "port": "http"})
        # the presets, now that affinity is unset
        aff = pod["affinity"]
        self.assertIn("preferredDuringSchedulingIgnoredDuringExecution", aff["podAffinity"])
        self.assertIn("requiredDuringSchedulingIgnoredDuringExecution", aff["podAntiAffinity"])
        term = aff["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
        self.assertEqual(term["matchExpressions"], [{"key": "node-role.kubernetes.io/monitoring",
                                                     "operator": "In", "values": ["true"]}])

    def test_custom_probes_replace_the_charts(self):
        v = self.nondefault
        docs = render("-f", NONDEFAULT, "--set", "diagnosticMode.enabled=false")
        c = by_name(containers(one(docs, "Deployment")))["event-exporter"]
        self.assertEqual(c["livenessProbe"], v["customLivenessProbe"])
        self.assertEqual(c["readinessProbe"], v["customReadinessProbe"])
        self.assertEqual(c["startupProbe"], v["customStartupProbe"])

    def test_metrics_service_type_cluster_ip_affinity_and_port(self):
        svc = one(render("--set", "metrics.service.type=LoadBalancer", "--set",
                         "metrics.service.sessionAffinity=ClientIP", "--set",
                         "metrics.service.clusterIP=10.96.0.20"), "Service", "t-kube-event-exporter-metrics")
        self.assertEqual((svc["spec"]["type"], svc["spec"]["sessionAffinity"], svc["spec"]["clusterIP"]),
                         ("LoadBalancer", "ClientIP", "10.96.0.20"))
        svc = one(render("--set", "metrics.service.clusterIP=None"), "Service", "t-kube-event-exporter-metrics")
        self.assertEqual((svc["spec"]["type"], svc["spec"]["clusterIP"]), ("ClusterIP", "None"))
        self.assertNotIn("sessionAffinity", svc["spec"])
        # Bitnami's older metrics.service.port, used when ports.http is empty (coalesce)
        svc = one(render("--set", "metrics.service.ports.http=null", "--set", "metrics.service.port=9200"),
                  "Service", "t-kube-event-exporter-metrics")
        self.assertEqual(svc["spec"]["ports"][0]["port"], 9200)
        svc = one(render("--set", "metrics.service.port=9200"), "Service", "t-kube-event-exporter-metrics")
        self.assertEqual(svc["spec"]["ports"][0]["port"], 2112)

    def test_kube_bench_pull_secrets_and_registry(self):
        docs = render("--set", "kubeBench.enabled=true", "--set", "kubeBench.nodes[0].name=n1",
                      "--set", "kubeBench.nodes[0].target=node",
                      "--set", "kubeBench.image.pullSecrets[0]=bench-pull",
                      "--set", "image.pullSecrets[0].name=image-pull",
                      "--set", "global.imagePullSecrets[0]=global-pull",
                      "--set", "global.imageRegistry=registry.example.com")
        spec = one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        self.assertEqual(spec["imagePullSecrets"], [{"name": "global-pull"}, {"name": "bench-pull"},
                                                    {"name": "image-pull"}])
        self.assertTrue(spec["initContainers"][0]["image"].startswith("registry.example.com/aquasec/kube-bench:"))
        self.assertTrue(spec["containers"][0]["image"].startswith("registry.example.com/"))

    def test_schema_accepts_bitnamis_forms(self):
        for args in (["--set", "global.compatibility.omitEmptySeLinuxOptions=true"],
                     ["--set", "global.kubeVersion=1.30.0", "--set", "global.apiVersions[0]=example.com/v1"],
                     ["--set", "global.someOtherChart.enabled=true"],  # umbrella: other charts' globals
                     ["--set", "global.security.allowInsecureImages=true"],
                     ["--set", "enabled=true"],
                     ["--set", "apiVersions[0]=monitoring.coreos.com/v1", "--set", "kubeVersion=1.30.0"],
                     ["--set", "config.logLevel=Warn"],
                     ["--set-string", "replicaCount=3", "--set-string", "revisionHistoryLimit=5"],
                     ["--set", "livenessProbe.terminationGracePeriodSeconds=10"],
                     ["--set", "startupProbe.httpGet.httpHeaders[0].name=X", "--set",
                      "startupProbe.httpGet.httpHeaders[0].value=y"],
                     ["--set", "customLivenessProbe.grpc.port=2112"],
                     ["--set", "customReadinessProbe.exec.command[0]=/bin/true"],
                     ["--set", "image.pullSecrets[0]=plain-name"]):
            p = helm("template", "t", CHART, *args, check=False)
            self.assertEqual(p.returncode, 0, (args, p.stderr))
        docs = render("--set", "config.logLevel=Warn", "--set-string", "replicaCount=3")
        self.assertEqual(one(docs, "Deployment")["spec"]["replicas"], 3)
        p = check_config(config_of(docs), self.tmp)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_notes_tell_about_bitnamis_image_and_wide_rules(self):
        def notes(*args):
            p = helm("install", "kee", CHART, "--dry-run=client", "--namespace", "kee", *args)
            return p.stdout.split("NOTES:")[-1]
        n = notes("-f", DEFAULTS, "--set", "rbac.rules[0].apiGroups={*}", "--set", "rbac.rules[0].resources={*}",
                  "--set", "rbac.rules[0].verbs={get,list,watch}")
        self.assertIn("image.repository is bitnami/kubernetes-event-exporter", n)
        self.assertIn("rbac.enrichmentResources", n)
        n = notes()
        self.assertNotIn("image.repository is", n)
        self.assertNotIn("rbac.rules", n)

    def test_schema_still_rejects_typos(self):
        cases = [
            (["--set", "metricz.enabled=true"], "additional properties 'metricz' not allowed"),
            (["--set", "livenessProbe.initialDelay=3"], "additional properties 'initialDelay' not allowed"),
            (["--set", "customLivenessProbe.tcpSockt.port=1"], "additional properties 'tcpSockt' not allowed"),
            (["--set", "kubeBench.image.pullSecret[0]=x"], "additional properties 'pullSecret' not allowed"),
            (["--set", "metrics.service.prot=1"], "additional properties 'prot' not allowed"),
            (["--set", "global.compatibility.openshift.adaptSecurityContext=always"],
             "/global/compatibility/openshift/adaptSecurityContext"),
            (["--set", "metrics.service.type=External"], "/metrics/service/type"),
            (["--set", "metrics.service.sessionAffinity=sticky"], "/metrics/service/sessionAffinity"),
            (["--set", "config.logLevel=verbose"], "/config"),
            (["--set", "config.logFormat=JSON"], "/config"),  # the exporter takes json or pretty only
            (["--set-string", "replicaCount=two"], "/replicaCount"),
            (["--set", "apiVersions=monitoring.coreos.com/v1"], "/apiVersions"),
        ]
        for args, want in cases:
            p = helm("template", "t", CHART, *args, check=False)
            self.assertNotEqual(p.returncode, 0, args)
            self.assertIn("values don't meet the specifications of the schema", p.stderr, args)
            self.assertIn(want, p.stderr, args)


class BitnamiInstallTest(unittest.TestCase):
    """helm upgrade --install of Bitnami's values into the bed's kube-apiserver."""

    @classmethod
    def setUpClass(cls):
        cls.kube = Kube()

    def install(self, release, ns, *args, upgrade_only=False):
        cmd = ["upgrade"] + ([] if upgrade_only else ["--install", "--create-namespace"])
        p = helm(*cmd, release, CHART, "--namespace", ns, "--wait=false", *args, timeout=300)
        self.assertIn("STATUS: deployed", p.stdout)
        if not upgrade_only:
            self.addCleanup(lambda: helm("uninstall", release, "--namespace", ns, check=False))
        manifest = helm("get", "manifest", release, "--namespace", ns).stdout
        docs = [d for d in yaml.safe_load_all(manifest) if d]
        for d in docs:  # every object of the release is in the API server
            self.assertTrue(self.kube.get(test_helm.HelmInstallTest.path(d, ns)), d["metadata"]["name"])
        return docs

    def test_bitnami_defaults_install(self):
        ns = f"kee-bn-{uuid.uuid4().hex[:6]}"
        docs = self.install("kee", ns, "-f", DEFAULTS)
        self.assertEqual(sorted({d["kind"] for d in docs}),
                         ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment",
                          "NetworkPolicy", "PodDisruptionBudget", "Role", "RoleBinding", "ServiceAccount"])
        # the Role and RoleBinding are the delivery checkpoint's (checkpoint.enabled by default)
        self.assertEqual([d["metadata"]["name"] for d in find(docs, "Role")], ["kee-kube-event-exporter-checkpoint"])
        cm = self.kube.get(f"/api/v1/namespaces/{ns}/configmaps/kee-kube-event-exporter")
        self.assertEqual(yaml.safe_load(cm["data"]["config.yaml"])["logFormat"], "pretty")

    def test_in_place_upgrade_keeps_names_selector_and_lease(self):
        """A release installed from Bitnami's values with nameOverride: kubernetes-event-exporter
        (Bitnami's object names and selector labels), upgraded in place to this chart's own
        defaults: the same objects (the Deployment is not recreated), the same selector, the same
        Lease ID."""
        ns = f"kee-up-{uuid.uuid4().hex[:6]}"
        same = ["--set", "nameOverride=kubernetes-event-exporter", "--set", "replicaCount=2"]
        before = self.install("events", ns, "-f", DEFAULTS, *same)
        full = "events-kubernetes-event-exporter"
        dep_path = f"/apis/apps/v1/namespaces/{ns}/deployments/{full}"
        dep = self.kube.get(dep_path)
        selector = {"app.kubernetes.io/name": "kubernetes-event-exporter", "app.kubernetes.io/instance": "events"}
        self.assertEqual(dep["spec"]["selector"], {"matchLabels": selector})

        def lease():
            cm = self.kube.get(f"/api/v1/namespaces/{ns}/configmaps/{full}")
            return yaml.safe_load(cm["data"]["config.yaml"])["leaderElection"]["leaderElectionID"]
        lease_before = lease()
        self.assertEqual(lease_before, f"{full}-leader-election")
        after = self.install("events", ns, *same, upgrade_only=True)
        names = lambda docs: {(d["kind"], d["metadata"]["name"]) for d in docs}
        self.assertLessEqual(names(before), names(after))
        now = self.kube.get(dep_path)
        self.assertEqual(now["metadata"]["uid"], dep["metadata"]["uid"])
        self.assertEqual(now["spec"]["selector"], dep["spec"]["selector"])
        self.assertEqual(lease(), lease_before)
        self.assertEqual(one(after, "Role", f"{full}-leader-election")["rules"][0]["resourceNames"], [lease_before])


if __name__ == "__main__":
    unittest.main()
