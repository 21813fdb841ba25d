{{/* Names */}}
{{- define "kee.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kee.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kee.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kee.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kee.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kee.benchServiceAccountName" -}}
{{- if .Values.kubeBench.serviceAccount.create -}}
{{- default (printf "%s-kube-bench" (include "kee.fullname" .) | trunc 63 | trimSuffix "-") .Values.kubeBench.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.kubeBench.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels */}}
{{- define "kee.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kee.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* kube-bench Job pods: not selected by the exporter's Services, PDB or NetworkPolicy */}}
{{- define "kee.benchSelectorLabels" -}}
app.kubernetes.io/name: {{ include "kee.name" . }}-kube-bench
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: kube-bench
{{- end -}}

{{/* metadata.labels: one key once (Flux and kustomize reject duplicate keys). Precedence: the
     selector labels (a Service or the Deployment must keep selecting), then the object's own
     labels (.extra: podLabels, serviceMonitor.labels ...), then commonLabels, then the chart's
     standard labels. Call with the root context, or with (dict "ctx" $ "extra" $labels). */}}
{{- define "kee.labels" -}}
{{- $ctx := ternary .ctx . (hasKey . "ctx") -}}
{{- $extra := ternary (default dict .extra) dict (hasKey . "ctx") -}}
{{- $std := dict "app.kubernetes.io/version" $ctx.Chart.AppVersion "app.kubernetes.io/managed-by" $ctx.Release.Service "helm.sh/chart" (printf "%s-%s" $ctx.Chart.Name $ctx.Chart.Version | replace "+" "_") -}}
{{- $common := dict -}}
{{- with $ctx.Values.commonLabels }}{{ $common = include "kee.bitnami.tplvalues" (dict "value" . "context" $ctx) | fromYaml }}{{ end -}}
{{- $own := dict -}}
{{- with $extra }}{{ $own = include "kee.bitnami.tplvalues" (dict "value" . "context" $ctx) | fromYaml }}{{ end -}}
{{- $sel := include "kee.selectorLabels" $ctx | fromYaml -}}
{{- toYaml (merge $sel $own $common $std) -}}
{{- end -}}

{{/* metadata.annotations from commonAnnotations plus the given dict (may be empty) */}}
{{- define "kee.annotations" -}}
{{- $own := dict -}}
{{- with .extra }}{{ $own = include "kee.bitnami.tplvalues" (dict "value" . "context" $.ctx) | fromYaml }}{{ end -}}
{{- $common := dict -}}
{{- with .ctx.Values.commonAnnotations }}{{ $common = include "kee.bitnami.tplvalues" (dict "value" . "context" $.ctx) | fromYaml }}{{ end -}}
{{- $a := merge $own $common -}}
{{- if $a -}}
annotations:
{{ toYaml $a | indent 2 }}
{{- end -}}
{{- end -}}

{{- define "kee.image" -}}
{{- $registry := default .image.registry .global.imageRegistry -}}
{{- $repo := .image.repository -}}
{{- $ref := ternary (printf "%s/%s" $registry $repo) $repo (ne $registry "") -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $ref .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref (toString (default .appVersion .image.tag)) -}}
{{- end -}}
{{- end -}}

{{- define "kee.imagePullSecrets" -}}
{{- $s := concat (default list .Values.global.imagePullSecrets) (default list .Values.image.pullSecrets) | uniq -}}
{{- if $s -}}
imagePullSecrets:
{{- range $s }}
  - name: {{ if kindIs "map" . }}{{ .name }}{{ else }}{{ . }}{{ end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The user's config as a dict (a string goes through tpl) */}}
{{- define "kee.userConfig" -}}
{{- if kindIs "string" .Values.config -}}
{{- tpl .Values.config . -}}
{{- else -}}
{{- toYaml (default dict .Values.config) -}}
{{- end -}}
{{- end -}}

{{- define "kee.ingestTokenSecretMounted" -}}
{{- if and (include "kee.ingestEnabled" .) (eq .Values.ingest.auth.mode "staticToken") .Values.ingest.auth.tokenSecret (not .Values.ingest.auth.tokenFile) -}}true{{- end -}}
{{- end -}}

{{- define "kee.ingestTokenFile" -}}
{{- if .Values.ingest.auth.tokenFile -}}{{ .Values.ingest.auth.tokenFile }}{{- else if .Values.ingest.auth.tokenSecret -}}/etc/kube-event-exporter/ingest/token{{- end -}}
{{- end -}}

{{- define "kee.ingestEnabled" -}}
{{- if or .Values.ingest.enabled .Values.kubeBench.enabled -}}true{{- end -}}
{{- end -}}

{{/* The effective config.yaml: chart defaults (leader election when replicaCount > 1, the ingest
     listener when enabled) overwritten by the user's config. */}}
{{- define "kee.configDict" -}}
{{- $user := include "kee.userConfig" . | fromYaml -}}
{{- if hasKey $user "Error" -}}
{{- fail (printf "config: not valid YAML: %s" (get $user "Error")) -}}
{{- end -}}
{{- if and .Values.existingConfigSecret (gt (int .Values.replicaCount) 1) (not (default dict $user.leaderElection).enabled) -}}
{{- fail (printf "existingConfigSecret %q with replicaCount %d: the chart cannot read the Secret, so it cannot tell whether leader election is on (without it every replica exports every event). Put leaderElection {enabled: true, leaderElectionID: <as in the Secret>} in the Secret and state the same under config.leaderElection in values (the chart then grants that Lease), or set replicaCount: 1" .Values.existingConfigSecret (int .Values.replicaCount)) -}}
{{- end -}}
{{- $base := dict -}}
{{- if and .Values.checkpoint.enabled (not (hasKey $user "checkpoint")) -}}
{{- $_ := set $base "checkpoint" (dict "configMap" (include "kee.checkpointConfigMap" .) "namespace" (include "kee.namespace" .) "interval" .Values.checkpoint.interval) -}}
{{- end -}}
{{- if gt (int .Values.replicaCount) 1 -}}
{{- $_ := set $base "leaderElection" (dict "enabled" true "leaderElectionID" (printf "%s-leader-election" (include "kee.fullname" .))) -}}
{{- end -}}
{{- if include "kee.ingestEnabled" . -}}
{{- $allowed := concat (default list .Values.ingest.auth.allowedServiceAccounts) list -}}
{{- if .Values.kubeBench.enabled -}}
{{- $allowed = append $allowed (printf "%s:%s" (include "kee.namespace" .) (include "kee.benchServiceAccountName" .)) -}}
{{- end -}}
{{- if and (eq .Values.ingest.auth.mode "tokenReview") (not $allowed) -}}
{{- fail "ingest.auth.allowedServiceAccounts: tokenReview needs at least one namespace:name allowed to post (or enable kubeBench, or set ingest.auth.mode: staticToken or none)" -}}
{{- end -}}
{{- if and (eq .Values.ingest.auth.mode "staticToken") (not (include "kee.ingestTokenFile" .)) -}}
{{- fail "ingest.auth.tokenFile: staticToken needs ingest.auth.tokenSecret (a Secret with key token) or the path of a token file mounted with extraVolumes" -}}
{{- end -}}
{{- $auth := dict "mode" .Values.ingest.auth.mode -}}
{{- if eq .Values.ingest.auth.mode "tokenReview" -}}
{{- $_ := set $auth "allowedServiceAccounts" (uniq $allowed) -}}
{{- end -}}
{{- if eq .Values.ingest.auth.mode "staticToken" -}}
{{- $_ := set $auth "tokenFile" (include "kee.ingestTokenFile" .) -}}
{{- end -}}
{{- $_ := set $base "ingest" (dict "address" (printf "0.0.0.0:%d" (int .Values.containerPorts.ingest)) "maxBodyBytes" (ternary .Values.ingest.maxBodyBytes (int64 .Values.ingest.maxBodyBytes) (kindIs "string" .Values.ingest.maxBodyBytes)) "auth" $auth) -}}
{{- if include "kee.ingestTLSSecret" . -}}
{{- $_ := set $base.ingest "tls" (dict "certFile" "/etc/kube-event-exporter/ingest-tls/tls.crt" "keyFile" "/etc/kube-event-exporter/ingest-tls/tls.key") -}}
{{- end -}}
{{- if and .Values.kubeBench.enabled (eq .Values.ingest.auth.mode "staticToken") (not .Values.ingest.auth.tokenSecret) -}}
{{- fail "kubeBench.enabled with ingest.auth.mode staticToken: the kube-bench Jobs must present the token, so it has to come from a Secret: set ingest.auth.tokenSecret (key token), or use ingest.auth.mode tokenReview" -}}
{{- end -}}
{{- end -}}
{{- toYaml (mergeOverwrite $base $user) -}}
{{- end -}}

{{- define "kee.config" -}}
{{- include "kee.configDict" . -}}
{{- end -}}

{{- define "kee.leaderElection" -}}
{{- $c := include "kee.configDict" . | fromYaml -}}
{{- $le := default dict $c.leaderElection -}}
{{- if $le.enabled -}}{{ default "kubernetes-event-exporter" $le.leaderElectionID }}{{- end -}}
{{- end -}}

{{/* checkpoint.configMap's default */}}
{{- define "kee.checkpointConfigMap" -}}
{{- default (printf "%s-checkpoint" (include "kee.fullname" .)) (tpl (toString (default "" .Values.checkpoint.configMap)) .) -}}
{{- end -}}

{{/* The rendered config's checkpoint ConfigMap as {name, namespace} (empty: none, e.g. off or a
     file). The namespace defaults to the pod's, as the exporter's. */}}
{{- define "kee.checkpointTarget" -}}
{{- $c := include "kee.configDict" . | fromYaml -}}
{{- $cp := $c.checkpoint -}}
{{- if and (kindIs "map" $cp) $cp.configMap -}}
{{- toYaml (dict "name" (toString $cp.configMap) "namespace" (default (include "kee.namespace" .) (toString (default "" $cp.namespace)))) -}}
{{- end -}}
{{- end -}}

{{- define "kee.tokenReview" -}}
{{- $c := include "kee.configDict" . | fromYaml -}}
{{- $in := default dict $c.ingest -}}
{{- if $in -}}
{{- $auth := default dict $in.auth -}}
{{- if eq (toString (default "tokenReview" $auth.mode)) "tokenReview" -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kee.configObjectName" -}}
{{- default (include "kee.fullname" .) .Values.existingConfigSecret -}}
{{- end -}}

{{/* Resource presets, as Bitnami's common chart */}}
{{- define "kee.resources" -}}
{{- if .Values.resources -}}
{{- toYaml .Values.resources -}}
{{- else if and .Values.resourcesPreset (ne .Values.resourcesPreset "none") -}}
{{- $p := dict
  "nano" (dict "requests" (dict "cpu" "100m" "memory" "128Mi" "ephemeral-storage" "50Mi") "limits" (dict "cpu" "150m" "memory" "192Mi" "ephemeral-storage" "2Gi"))
  "micro" (dict "requests" (dict "cpu" "250m" "memory" "256Mi" "ephemeral-storage" "50Mi") "limits" (dict "cpu" "375m" "memory" "384Mi" "ephemeral-storage" "2Gi"))
  "small" (dict "requests" (dict "cpu" "500m" "memory" "512Mi" "ephemeral-storage" "50Mi") "limits" (dict "cpu" "750m" "memory" "768Mi" "ephemeral-storage" "2Gi"))
  "medium" (dict "requests" (dict "cpu" "500m" "memory" "1024Mi" "ephemeral-storage" "50Mi") "limits" (dict "cpu" "750m" "memory" "1536Mi" "ephemeral-storage" "2Gi"))
  "large" (dict "requests" (dict "cpu" "1.0" "memory" "2048Mi" "ephemeral-storage" "50Mi") "limits" (dict "cpu" "1.5" "memory" "3072Mi" "ephemeral-storage" "2Gi"))
  "xlarge" (dict "requests" (dict "cpu" "1.0" "memory" "3072Mi" "ephemeral-storage" "50Mi") "limits" (dict "cpu" "3.0" "memory" "6144Mi" "ephemeral-storage" "2Gi"))
  "2xlarge" (dict "requests" (dict "cpu" "1.0" "memory" "3072Mi" "ephemeral-storage" "50Mi") "limits" (dict "cpu" "6.0" "memory" "12288Mi" "ephemeral-storage" "2Gi"))
-}}
{{- toYaml (get $p .Values.resourcesPreset) -}}
{{- end -}}
{{- end -}}

{{/* securityContext without the Bitnami "enabled" switch; OpenShift drops the fixed ids */}}
{{- define "kee.securityContext" -}}
{{- $sc := omit .sc "enabled" -}}
{{- $adapt := .ctx.Values.global.compatibility.openshift.adaptSecurityContext -}}
{{- $openshift := .ctx.Capabilities.APIVersions.Has "security.openshift.io/v1" -}}
{{- if or (eq $adapt "force") (and (eq $adapt "auto") $openshift) -}}
{{- $sc = omit $sc "runAsUser" "runAsGroup" "fsGroup" "seLinuxOptions" -}}
{{- end -}}
{{- if not $sc.seLinuxOptions -}}{{- $sc = omit $sc "seLinuxOptions" -}}{{- end -}}
{{- if not $sc.sysctls -}}{{- $sc = omit $sc "sysctls" -}}{{- end -}}
{{- if not $sc.supplementalGroups -}}{{- $sc = omit $sc "supplementalGroups" -}}{{- end -}}
{{- toYaml $sc -}}
{{- end -}}

{{- define "kee.affinityTerm" -}}
labelSelector:
  matchLabels:
    {{- include "kee.selectorLabels" .ctx | nindent 4 }}
topologyKey: kubernetes.io/hostname
{{- end -}}

{{- define "kee.affinity" -}}
{{- if .Values.affinity -}}
{{- include "kee.bitnami.tplvalues" (dict "value" .Values.affinity "context" .) -}}
{{- else -}}
{{- $out := dict -}}
{{- with .Values.podAffinityPreset -}}
{{- if eq . "hard" -}}
{{- $_ := set $out "podAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (list (include "kee.affinityTerm" (dict "ctx" $) | fromYaml))) -}}
{{- else if eq . "soft" -}}
{{- $_ := set $out "podAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list (dict "weight" 1 "podAffinityTerm" (include "kee.affinityTerm" (dict "ctx" $) | fromYaml)))) -}}
{{- end -}}
{{- end -}}
{{- with .Values.podAntiAffinityPreset -}}
{{- if eq . "hard" -}}
{{- $_ := set $out "podAntiAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (list (include "kee.affinityTerm" (dict "ctx" $) | fromYaml))) -}}
{{- else if eq . "soft" -}}
{{- $_ := set $out "podAntiAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list (dict "weight" 1 "podAffinityTerm" (include "kee.affinityTerm" (dict "ctx" $) | fromYaml)))) -}}
{{- end -}}
{{- end -}}
{{- with .Values.nodeAffinityPreset -}}
{{- if and .type .key -}}
{{- $expr := dict "matchExpressions" (list (dict "key" .key "operator" "In" "values" .values)) -}}
{{- if eq .type "hard" -}}
{{- $_ := set $out "nodeAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (dict "nodeSelectorTerms" (list $expr))) -}}
{{- else if eq .type "soft" -}}
{{- $_ := set $out "nodeAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list (dict "weight" 1 "preference" $expr))) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $out -}}{{- toYaml $out -}}{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kee.probe" -}}
{{- if .custom -}}
{{- include "kee.bitnami.tplvalues" (dict "value" .custom "context" .ctx) -}}
{{- else if .probe.enabled -}}
{{- $p := omit .probe "enabled" -}}
{{- if or $p.exec $p.tcpSocket $p.grpc -}}
{{- toYaml $p -}}{{- /* its own handler: one handler per probe */ -}}
{{- else -}}
{{- toYaml (merge (deepCopy $p) (dict "httpGet" (dict "path" .path "port" "http"))) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The VerticalPodAutoscaler CRD is installed (or declared with --api-versions / apiVersions):
     rendering a VPA without it makes the whole install fail. */}}
{{- define "kee.hasVPA" -}}
{{- $v := "autoscaling.k8s.io/v1/VerticalPodAutoscaler" -}}
{{- $declared := concat (default list .Values.apiVersions) (default list .Values.global.apiVersions) -}}
{{- if or (.Capabilities.APIVersions.Has $v) (has $v $declared) (has "autoscaling.k8s.io/v1" $declared) -}}true{{- end -}}
{{- end -}}

{{/* ingest.tls: the Secret holding tls.crt/tls.key/ca.crt ("" = no TLS) */}}
{{- define "kee.ingestTLSSecret" -}}
{{- $t := .Values.ingest.tls -}}
{{- if and (include "kee.ingestEnabled" .) $t.enabled -}}
{{- if $t.existingSecret -}}
{{- tpl $t.existingSecret . -}}
{{- else if $t.certManager.enabled -}}
{{- printf "%s-ingest-tls" (include "kee.fullname" .) -}}
{{- else -}}
{{- fail "ingest.tls.enabled: name a kubernetes.io/tls Secret in ingest.tls.existingSecret or set ingest.tls.certManager.enabled with an issuerRef" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A kube-bench CronJob's name: unique per node and targets (node names of one pool share long
     prefixes; a CronJob name has at most 52 characters), stable across upgrades. */}}
{{- define "kee.benchCronJobName" -}}
{{- $prefix := printf "%s-kube-bench-%s" (include "kee.fullname" .ctx) .node | trunc 43 | trimSuffix "-" | trimSuffix "." -}}
{{- printf "%s-%s" $prefix (sha256sum (printf "%s/%s" .node .targets) | trunc 8) -}}
{{- end -}}
