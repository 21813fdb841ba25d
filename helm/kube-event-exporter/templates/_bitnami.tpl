{{/* Named templates for keys of Bitnami's kubernetes-event-exporter chart that this chart honours
     beyond _helpers.tpl (issue 13: Bitnami's own values.yaml installs unchanged). */}}

{{/* imagePullSecrets of a pod running several images: global.imagePullSecrets plus each image's
     pullSecrets (names or {name: ...} maps, names rendered with tpl), without duplicates, as
     Bitnami's common.images.renderPullSecrets. Args: images (list), context (the root). */}}
{{- define "kee.bitnami.imagePullSecrets" -}}
{{- $ctx := .context -}}
{{- $all := concat (default list $ctx.Values.global.imagePullSecrets) list -}}
{{- range .images -}}
{{- $all = concat $all (default list .pullSecrets) -}}
{{- end -}}
{{- $names := list -}}
{{- range $all -}}
{{- $n := ternary (get (kindIs "map" . | ternary . dict) "name") . (kindIs "map" .) -}}
{{- $names = append $names (tpl (toString $n) $ctx) -}}
{{- end -}}
{{- $names = $names | compact | uniq -}}
{{- if $names -}}
imagePullSecrets:
{{- range $names }}
  - name: {{ . }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* The metrics Service port: metrics.service.ports.http, else Bitnami's older metrics.service.port
     (Bitnami: coalesce ports.http port), else 2112. */}}
{{- define "kee.bitnami.metricsServicePort" -}}
{{- $svc := .Values.metrics.service -}}
{{- coalesce (dig "ports" "http" "" $svc) (get $svc "port") 2112 -}}
{{- end -}}

{{/* A value Bitnami documents as "evaluated as a template": a map or list rendered with tpl, or a
     string that is itself the template (Bitnami's common.tplvalues.render). Args: value, context. */}}
{{- define "kee.bitnami.tplvalues" -}}
{{- if kindIs "string" .value -}}
{{- tpl .value .context -}}
{{- else -}}
{{- tpl (toYaml .value) .context -}}
{{- end -}}
{{- end -}}
