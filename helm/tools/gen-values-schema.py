#!/usr/bin/env python3
"""Generates helm/kube-event-exporter/values.schema.json. Edit this, then run:
    python3 helm/tools/gen-values-schema.py > helm/kube-event-exporter/values.schema.json
(test/e2e/test_helm.py checks the file matches)."""
import json
S=lambda **k: {"type":"string",**k}
B=lambda **k: {"type":"boolean",**k}
I=lambda **k: {"type":"integer",**k}
A=lambda items=None, **k: {"type":"array", **({"items":items} if items else {}), **k}
M=lambda **k: {"type":"object", **k}   # free-form map
def T(schema):
    """A value Bitnami documents as "evaluated as a template": the structure, or a string that
    renders to it (kee.bitnami.tplvalues)."""
    return {"anyOf":[schema, {"type":"string", "description":"a template rendering to the value"}]}
def O(props, desc=None, **k):
    d={"type":"object","additionalProperties":False,"properties":props, **k}
    if desc: d["description"]=desc
    return d
intOrEmpty={"type":["integer","string"],"pattern":"^[0-9]*$"}
# a count Helm users also write as a string ("2", --set-string): digits only
intOrDigits=lambda **k: {"type":["integer","string"],"pattern":"^[0-9]+$",**k}
port={"type":["integer","string"],"minimum":1,"maximum":65535,"pattern":"^([0-9]+|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$"}
def Open(props, desc=None, **k):
    """An object whose listed keys are checked and whose other keys are allowed (Helm's `global`,
    shared with every subchart of an umbrella chart, carries keys of other charts)."""
    d={"type":"object","properties":props, **k}
    if desc: d["description"]=desc
    return d
# Bitnami's pull secrets: names, or {name: ...} maps (common.images.pullSecrets takes both)
pullSecrets=A({"type":["string","object"],"properties":{"name":S()}})
intOrPct={"type":["integer","string"],"pattern":"^([0-9]+%?)?$"}
strmap={"type":"object","additionalProperties":{"type":"string"}}
image=lambda: O({"registry":S(),"repository":S(),"tag":{"type":["string","number"]},"digest":S(),
                 "pullPolicy":{"enum":["Always","IfNotPresent","Never"]},"pullSecrets":pullSecrets})
# core/v1 Probe: Bitnami renders the probe values as the Probe (minus `enabled`), so every Probe
# field is accepted; the chart adds its httpGet (path, port http) under the user's fields.
http_header=O({"name":S(),"value":S()},required=["name","value"])
probe_fields={"exec":O({"command":A(S())}),
              "httpGet":O({"path":S(),"port":port,"host":S(),"scheme":{"enum":["HTTP","HTTPS"]},
                           "httpHeaders":A(http_header)}),
              "tcpSocket":O({"port":port,"host":S()}),
              "grpc":O({"port":I(minimum=1,maximum=65535),"service":S()},required=["port"]),
              "initialDelaySeconds":I(minimum=0),"periodSeconds":I(minimum=1),
              "timeoutSeconds":I(minimum=1),"failureThreshold":I(minimum=1),"successThreshold":I(minimum=1),
              "terminationGracePeriodSeconds":I(minimum=1)}
probe=lambda: O({"enabled":B(), **probe_fields})
custom_probe=T(O(probe_fields, "a whole core/v1 Probe (rendered with tpl), replaces the chart's probe"))
config_rule=M()
# a duration as the exporter reads it: Go's (5s, 1m30s, 500ms) or a number of seconds
duration={"type":["string","integer"],"minimum":1,
          "pattern":"^([0-9]+(\\.[0-9]+)?|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$"}
# a pattern matching the word in any case, without inline flags (portable across regex dialects)
any_case=lambda w: "".join(f"[{c.upper()}{c}]" for c in w)
config=O({
  "logLevel":{"type":"string","pattern":"^(%s)?$" % "|".join(any_case(l) for l in
                  ["trace","debug","info","warn","error","fatal","panic","disabled"]),
              "description":"any case (INFO as info): the exporter lowercases it"},
  "logFormat":{"enum":["json","pretty",""]},
  "throttlePeriod":I(minimum=0),"maxEventAgeSeconds":I(minimum=0),"clusterName":S(),"namespace":S(),
  "leaderElection":O({"enabled":B(),"leaderElectionID":S()}),
  "kubeQPS":{"type":"number","minimum":0},"kubeBurst":I(minimum=0),
  "metricsNamePrefix":{"type":"string","pattern":"^([a-zA-Z][a-zA-Z0-9_:]*_)?$"},
  "omitLookup":B(),"cacheSize":I(minimum=0),
  "eventsAPIVersion":{"enum":["v1","events.k8s.io/v1"]},"exportRepeatedEvents":B(),
  "route":M(),"receivers":A({"type":"object","required":["name"],"properties":{"name":S()}}),
  "ingest":M(),"kubeBench":M(),"pushgateway":M(),
  "checkpoint":O({"file":S(),"configMap":S(),"namespace":S(),"interval":duration,
                  "maxEntries":I(minimum=100,maximum=1000000)},
                 "the delivery checkpoint: configMap (in namespace, default the pod's) or file"),
})
config={"description":"the exporter's config.yaml (resmoio keys): a map, or a string rendered with tpl",
        "oneOf":[{"type":"string"}, config]}
schema={
 "$schema":"http://json-schema.org/draft-07/schema#",
 "title":"kube-event-exporter values",
 "type":"object","additionalProperties":False,
 "properties":{
  "global":Open({"imageRegistry":S(),"imagePullSecrets":pullSecrets,"storageClass":S(),"defaultStorageClass":S(),
              "kubeVersion":S(),"apiVersions":A(S()),
              "security":Open({"allowInsecureImages":B()}),
              "compatibility":Open({"openshift":Open({"adaptSecurityContext":{"enum":["auto","force","disabled"]}}),
                                    "omitEmptySeLinuxOptions":B()})},
             "Helm's global values: shared with the other charts of an umbrella chart, so keys not listed are allowed"),
  "enabled":B(description="an umbrella chart's condition for this subchart; not used by the chart"),
  "kubeVersion":S(description="Bitnami: override the Kubernetes version; accepted, not used (the chart's apiVersions are fixed)"),
  "apiVersions":A(S(),description="Bitnami: override .Capabilities.APIVersions; accepted, not used"),
  "nameOverride":S(),"fullnameOverride":S(),"namespaceOverride":S(),
  "clusterDomain":S(),
  "commonLabels":T(strmap),"commonAnnotations":T(strmap),"extraDeploy":A(),
  "diagnosticMode":O({"enabled":B(),"command":A(S()),"args":A(S())}),
  "config":config,
  "checkpoint":O({"enabled":B(),"configMap":S(),"interval":duration},
                 "the delivery checkpoint ConfigMap the exporter writes (config.checkpoint and a Role)"),
  "configAsSecret":B(),"existingConfigSecret":S(),
  "replicaCount":intOrDigits(minimum=0),"revisionHistoryLimit":intOrDigits(minimum=0),
  "containerPorts":O({"http":I(minimum=1,maximum=65535),"ingest":I(minimum=1,maximum=65535)}),
  "extraContainerPorts":A(),
  "image":image(),
  "automountServiceAccountToken":B(),"hostAliases":T(A()),
  "ingest":O({"enabled":B(),"maxBodyBytes":{"type":["integer","string"],"minimum":1,"pattern":"^[0-9]+(\\.[0-9]+)?([KMG]i?B?)?$"},
              "auth":O({"mode":{"enum":["tokenReview","staticToken","none"]},
                        "allowedServiceAccounts":A({"type":"string","pattern":"^[a-z0-9.-]+:[a-z0-9.-]+$"}),
                        "tokenFile":S(),"tokenSecret":S()}),
              "tls":O({"enabled":B(),"existingSecret":S(),"caKey":S(),
                       "certManager":O({"enabled":B(),
                                        "issuerRef":O({"name":S(),"kind":S(),"group":S()}),
                                        "duration":S(),"renewBefore":S()})}),
              "service":O({"type":{"enum":["ClusterIP","NodePort","LoadBalancer"]},
                           "ports":O({"http":I(minimum=1,maximum=65535)}),
                           "annotations":M(),"labels":strmap})}),
  "kubeBench":O({"enabled":B(),"schedule":S(),"timeZone":S(),"suspend":B(),
                 "nodes":A(O({"name":S(minLength=1),"target":{"enum":["master","node","etcd","controlplane","policies"]},
                              "targets":A({"enum":["master","node","etcd","controlplane","policies"]},minItems=1),
                              "schedule":S()}, required=["name"],
                             anyOf=[{"required":["target"]},{"required":["targets"]}])),
                 "image":image(),"extraArgs":A(S()),
                 "serviceAccount":O({"create":B(),"name":S()}),
                 "successfulJobsHistoryLimit":I(minimum=0),"failedJobsHistoryLimit":I(minimum=0),
                 "activeDeadlineSeconds":I(minimum=1),"tolerations":A(),"resources":M()}),
  "rbac":O({"create":B(),"scope":{"enum":["auto","cluster"]},"rules":A(M()),
            "enrichmentResources":A(O({"apiGroups":A(S()),"resources":A(S())},required=["apiGroups","resources"]))}),
  "serviceAccount":O({"create":B(),"name":S(),"automountServiceAccountToken":B(),"annotations":T(M())}),
  "podAnnotations":T(M()),"podLabels":T(M()),
  "podSecurityContext":{"type":"object","properties":{"enabled":B()}},
  "containerSecurityContext":{"type":"object","properties":{"enabled":B(),"runAsNonRoot":B(),"readOnlyRootFilesystem":B(),"privileged":B(),"allowPrivilegeEscalation":B()}},
  "pdb":O({"create":B(),"minAvailable":intOrPct,"maxUnavailable":intOrPct}),
  "command":T(A()),"args":T(A()),"lifecycleHooks":T(M()),"terminationGracePeriodSeconds":intOrEmpty,
  "resourcesPreset":{"enum":["none","nano","micro","small","medium","large","xlarge","2xlarge"]},
  "resources":M(),
  "networkPolicy":O({"enabled":B(),"kubeAPIServerPorts":A(I()),"allowExternal":B(),"allowExternalEgress":B(),
                     "extraIngress":T(A()),"extraEgress":T(A()),"ingressNSMatchLabels":M(),"ingressNSPodMatchLabels":M()}),
  "livenessProbe":probe(),"readinessProbe":probe(),"startupProbe":probe(),
  "customLivenessProbe":custom_probe,"customReadinessProbe":custom_probe,"customStartupProbe":custom_probe,
  "nodeSelector":T(strmap),"priorityClassName":S(),"schedulerName":S(),"topologySpreadConstraints":T(A()),
  "tolerations":T(A()),
  "podAffinityPreset":{"enum":["","soft","hard"]},"podAntiAffinityPreset":{"enum":["","soft","hard"]},
  "nodeAffinityPreset":O({"type":{"enum":["","soft","hard"]},"key":S(),"values":A()}),
  "affinity":T(M()),"updateStrategy":M(),
  "extraEnvVars":T(A(M())),"extraEnvVarsCM":S(),"extraEnvVarsSecret":S(),
  "extraVolumeMounts":T(A()),"extraVolumes":T(A()),"initContainers":T(A()),"sidecars":T(A()),
  "metrics":O({"enabled":B(),
    "service":O({"ports":O({"http":I(minimum=1,maximum=65535)}),
                 "port":I(minimum=1,maximum=65535,description="Bitnami's older name of ports.http (used when ports.http is empty)"),
                 "annotations":M(),"labels":strmap,
                 "type":{"enum":["ClusterIP","NodePort","LoadBalancer"]},
                 "clusterIP":S(description="e.g. None for a headless Service"),
                 "sessionAffinity":{"enum":["None","ClientIP"]}}),
    "serviceMonitor":O({"enabled":B(),"port":S(),"endpoints":A(M()),"path":S(),"namespace":S(),
        "interval":S(),"scrapeTimeout":S(),"labels":strmap,"selector":M(),"relabelings":A(),
        "metricRelabelings":A(),"honorLabels":B(),"jobLabel":S()}),
    "prometheusRule":O({"enabled":B(),"namespace":S(),"labels":strmap,"defaultRules":B(),"groups":T(A())})}),
  "autoscaling":O({"vpa":O({"enabled":B(),"annotations":M(),"recommenders":A(),"controlledResources":A(),
       "maxAllowed":M(),"minAllowed":M(),"updatePolicy":O({"minReplicas":intOrEmpty,"updateMode":{"enum":["Auto","Recreate","Initial","Off","InPlaceOrRecreate"]}})})}),
  "dashboards":O({"enabled":B(),"namespace":S(),"labels":strmap,"annotations":M(),"folder":S(),"folderAnnotation":S()}),
 }}
print(json.dumps(schema, indent=2))
