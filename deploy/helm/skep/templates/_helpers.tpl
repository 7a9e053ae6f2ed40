{{/* The base name of every object: the release name, unless overridden. */}}
{{- define "skep.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels that select this release's pods: never change them on upgrade (selectors are immutable). */}}
{{- define "skep.selectorLabels" -}}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "skep.labels" -}}
{{ include "skep.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Secret with the redis password. */}}
{{- define "skep.secretName" -}}
{{- default (printf "%s-auth" (include "skep.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{/* The headless Service's fully qualified name: its A records are every pod, ready or not. */}}
{{- define "skep.peersDns" -}}
{{- printf "%s-peers.%s.svc.%s" (include "skep.fullname" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/* The Lease of --election lease. */}}
{{- define "skep.leaseName" -}}
{{- default (printf "%s-leader" (include "skep.fullname" .)) .Values.agent.lease.name -}}
{{- end -}}
