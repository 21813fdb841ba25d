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

{{- define "kee.labels" -}}
{{ include "kee.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.commonLabels }}
{{ tpl (toYaml .) $ }}
{{- end }}
{{- end -}}

{{/* metadata.annotations from commonAnnotations plus the given dict (may be empty) */}}
{{- define "kee.annotations" -}}
{{- $a := merge (deepCopy (default dict .extra)) (deepCopy (default dict .ctx.Values.commonAnnotations)) -}}
{{- if $a -}}
annotations:
{{ tpl (toYaml $a) .ctx | indent 2 }}
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
{{- $base := dict -}}
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
{{- tpl (toYaml .Values.affinity) . -}}
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
{{- tpl (toYaml .custom) .ctx -}}
{{- else if .probe.enabled -}}
{{- toYaml (merge (dict "httpGet" (dict "path" .path "port" "http")) (omit .probe "enabled")) -}}
{{- end -}}
{{- end -}}
