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
def O(props, desc=None, **k):
    d={"type":"object","additionalProperties":False,"properties":props, **k}
    if desc: d["description"]=desc
    return d
intOrEmpty={"type":["integer","string"],"pattern":"^[0-9]*$"}
intOrPct={"type":["integer","string"],"pattern":"^([0-9]+%?)?$"}
strmap={"type":"object","additionalProperties":{"type":"string"}}
image=lambda: O({"registry":S(),"repository":S(),"tag":{"type":["string","number"]},"digest":S(),
                 "pullPolicy":{"enum":["Always","IfNotPresent","Never"]},"pullSecrets":A()})
probe=lambda: O({"enabled":B(),"initialDelaySeconds":I(minimum=0),"periodSeconds":I(minimum=1),
                 "timeoutSeconds":I(minimum=1),"failureThreshold":I(minimum=1),"successThreshold":I(minimum=1)})
config_rule=M()
config=O({
  "logLevel":{"enum":["trace","debug","info","warn","error","fatal","panic","disabled",""]},
  "logFormat":{"enum":["json","pretty",""]},
  "throttlePeriod":I(minimum=0),"maxEventAgeSeconds":I(minimum=0),"clusterName":S(),"namespace":S(),
  "leaderElection":O({"enabled":B(),"leaderElectionID":S()}),
  "kubeQPS":{"type":"number","minimum":0},"kubeBurst":I(minimum=0),
  "metricsNamePrefix":{"type":"string","pattern":"^([a-zA-Z][a-zA-Z0-9_:]*_)?$"},
  "omitLookup":B(),"cacheSize":I(minimum=0),
  "eventsAPIVersion":{"enum":["v1","events.k8s.io/v1"]},"exportRepeatedEvents":B(),
  "route":M(),"receivers":A({"type":"object","required":["name"],"properties":{"name":S()}}),
  "ingest":M(),"kubeBench":M(),"pushgateway":M(),
})
config={"description":"the exporter's config.yaml (resmoio keys): a map, or a string rendered with tpl",
        "oneOf":[{"type":"string"}, config]}
schema={
 "$schema":"http://json-schema.org/draft-07/schema#",
 "title":"kube-event-exporter values",
 "type":"object","additionalProperties":False,
 "properties":{
  "global":O({"imageRegistry":S(),"imagePullSecrets":A(),"storageClass":S(),"defaultStorageClass":S(),
              "security":O({"allowInsecureImages":B()}),
              "compatibility":O({"openshift":O({"adaptSecurityContext":{"enum":["auto","force","disabled"]}})})}),
  "kubeVersion":S(),"nameOverride":S(),"fullnameOverride":S(),"namespaceOverride":S(),
  "clusterDomain":S(),
  "commonLabels":strmap,"commonAnnotations":strmap,"extraDeploy":A(),
  "diagnosticMode":O({"enabled":B(),"command":A(S()),"args":A(S())}),
  "config":config,
  "configAsSecret":B(),"existingConfigSecret":S(),
  "replicaCount":I(minimum=0),"revisionHistoryLimit":I(minimum=0),
  "containerPorts":O({"http":I(minimum=1,maximum=65535),"ingest":I(minimum=1,maximum=65535)}),
  "extraContainerPorts":A(),
  "image":image(),
  "automountServiceAccountToken":B(),"hostAliases":A(),
  "ingest":O({"enabled":B(),"maxBodyBytes":{"type":["integer","string"],"minimum":1,"pattern":"^[0-9]+(\\.[0-9]+)?([KMG]i?B?)?$"},
              "auth":O({"mode":{"enum":["tokenReview","staticToken","none"]},
                        "allowedServiceAccounts":A({"type":"string","pattern":"^[a-z0-9.-]+:[a-z0-9.-]+$"}),
                        "tokenFile":S(),"tokenSecret":S()}),
              "service":O({"type":{"enum":["ClusterIP","NodePort","LoadBalancer"]},
                           "ports":O({"http":I(minimum=1,maximum=65535)}),
                           "annotations":M(),"labels":strmap})}),
  "kubeBench":O({"enabled":B(),"schedule":S(),"timeZone":S(),"suspend":B(),
                 "nodes":A(O({"name":S(minLength=1),"target":{"enum":["master","node","etcd","controlplane","policies"]},
                              "schedule":S()}, required=["name","target"])),
                 "image":image(),"extraArgs":A(S()),
                 "serviceAccount":O({"create":B(),"name":S()}),
                 "successfulJobsHistoryLimit":I(minimum=0),"failedJobsHistoryLimit":I(minimum=0),
                 "activeDeadlineSeconds":I(minimum=1),"tolerations":A(),"resources":M()}),
  "rbac":O({"create":B(),"scope":{"enum":["auto","cluster"]},"rules":A(M()),
            "enrichmentResources":A(O({"apiGroups":A(S()),"resources":A(S())},required=["apiGroups","resources"]))}),
  "serviceAccount":O({"create":B(),"name":S(),"automountServiceAccountToken":B(),"annotations":M()}),
  "podAnnotations":M(),"podLabels":M(),
  "podSecurityContext":{"type":"object","properties":{"enabled":B()}},
  "containerSecurityContext":{"type":"object","properties":{"enabled":B(),"runAsNonRoot":B(),"readOnlyRootFilesystem":B(),"privileged":B(),"allowPrivilegeEscalation":B()}},
  "pdb":O({"create":B(),"minAvailable":intOrPct,"maxUnavailable":intOrPct}),
  "command":A(),"args":A(),"lifecycleHooks":M(),"terminationGracePeriodSeconds":intOrEmpty,
  "resourcesPreset":{"enum":["none","nano","micro","small","medium","large","xlarge","2xlarge"]},
  "resources":M(),
  "networkPolicy":O({"enabled":B(),"kubeAPIServerPorts":A(I()),"allowExternal":B(),"allowExternalEgress":B(),
                     "extraIngress":A(),"extraEgress":A(),"ingressNSMatchLabels":M(),"ingressNSPodMatchLabels":M()}),
  "livenessProbe":probe(),"readinessProbe":probe(),"startupProbe":probe(),
  "customLivenessProbe":M(),"customReadinessProbe":M(),"customStartupProbe":M(),
  "nodeSelector":strmap,"priorityClassName":S(),"schedulerName":S(),"topologySpreadConstraints":A(),
  "tolerations":A(),
  "podAffinityPreset":{"enum":["","soft","hard"]},"podAntiAffinityPreset":{"enum":["","soft","hard"]},
  "nodeAffinityPreset":O({"type":{"enum":["","soft","hard"]},"key":S(),"values":A()}),
  "affinity":M(),"updateStrategy":M(),
  "extraEnvVars":A(M()),"extraEnvVarsCM":S(),"extraEnvVarsSecret":S(),
  "extraVolumeMounts":A(),"extraVolumes":A(),"initContainers":A(),"sidecars":A(),
  "metrics":O({"enabled":B(),
    "service":O({"ports":O({"http":I(minimum=1,maximum=65535)}),"annotations":M(),"labels":strmap,
                 "type":S(),"clusterIP":S(),"sessionAffinity":S()}),
    "serviceMonitor":O({"enabled":B(),"port":S(),"endpoints":A(M()),"path":S(),"namespace":S(),
        "interval":S(),"scrapeTimeout":S(),"labels":strmap,"selector":M(),"relabelings":A(),
        "metricRelabelings":A(),"honorLabels":B(),"jobLabel":S()}),
    "prometheusRule":O({"enabled":B(),"namespace":S(),"labels":strmap,"defaultRules":B(),"groups":A()})}),
  "autoscaling":O({"vpa":O({"enabled":B(),"annotations":M(),"recommenders":A(),"controlledResources":A(),
       "maxAllowed":M(),"minAllowed":M(),"updatePolicy":O({"minReplicas":intOrEmpty,"updateMode":{"enum":["Auto","Recreate","Initial","Off","InPlaceOrRecreate"]}})})}),
  "dashboards":O({"enabled":B(),"namespace":S(),"labels":strmap,"annotations":M(),"folder":S(),"folderAnnotation":S()}),
 }}
print(json.dumps(schema, indent=2))
