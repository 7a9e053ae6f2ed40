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

{{/* Where the TLS Secret (tls.crt, tls.key, ca.crt) is mounted, read-only, in both containers. */}}
{{- define "skep.tlsDir" -}}
/etc/skep/tls
{{- end -}}

{{/* Where the password Secret is mounted, read-only, in both containers, with auth.rotation.enabled. */}}
{{- define "skep.authDir" -}}
/etc/skep/auth
{{- end -}}

{{/* The kubernetes.io/tls Secret: the user's, or the one cert-manager fills for the chart's Certificate. */}}
{{- define "skep.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "skep.fullname" .)) .Values.tls.existingSecret -}}
{{- end -}}

{{/* tls.authClients as redis spells it: YAML reads an unquoted yes/no as a boolean. */}}
{{- define "skep.tlsAuthClients" -}}
{{- $v := .Values.tls.authClients -}}
{{- if kindIs "bool" $v -}}
{{- ternary "yes" "no" $v -}}
{{- else -}}
{{- $v | toString | lower -}}
{{- end -}}
{{- end -}}

{{/* True (non-empty) when the agent serves its admin port over HTTPS: the probes and the ServiceMonitor follow. */}}
{{- define "skep.httpsAdmin" -}}
{{- if and .Values.tls.enabled .Values.tls.http -}}true{{- end -}}
{{- end -}}

{{/*
The pods' topologySpreadConstraints, as a YAML list: the zone spread of topologySpread (unless off), then
topologySpreadConstraints, each given the pods' labels when it has no labelSelector.
*/}}
{{- define "skep.topologySpreadConstraints" -}}
{{- $all := list -}}
{{- $spread := .Values.topologySpread -}}
{{- $selector := dict "matchLabels" (include "skep.selectorLabels" . | fromYaml) -}}
{{- if $spread.whenUnsatisfiable -}}
{{- $all = append $all (dict "maxSkew" (int $spread.maxSkew) "topologyKey" $spread.topologyKey "whenUnsatisfiable" $spread.whenUnsatisfiable "labelSelector" $selector) -}}
{{- end -}}
{{- range .Values.topologySpreadConstraints -}}
{{- $c := deepCopy . -}}
{{- if not (hasKey $c "labelSelector") -}}
{{- $_ := set $c "labelSelector" $selector -}}
{{- end -}}
{{- $all = append $all $c -}}
{{- end -}}
{{- toYaml $all -}}
{{- end -}}

{{/* The PromQL label matchers of this release's series (prometheusRule.selector, or the ServiceMonitor targets'). */}}
{{- define "skep.metricsSelector" -}}
{{- default (printf "namespace=%q, job=\"%s-peers\"" .Release.Namespace (include "skep.fullname" .)) .Values.prometheusRule.selector -}}
{{- end -}}

{{/* An ACL user of auth.aclUsers (a rule string, split at spaces, or a list of words) as a list of words. */}}
{{- define "skep.aclWords" -}}
{{- if kindIs "string" . -}}
{{- toJson (regexSplit "\\s+" (trim .) -1) -}}
{{- else -}}
{{- toJson . -}}
{{- end -}}
{{- end -}}

{{/*
Combinations the chart refuses, each with what to set instead. Included by the workload, so that any render
(install, upgrade, template) fails before anything is applied.
*/}}
{{- define "skep.validate" -}}
{{- $tls := .Values.tls -}}
{{- if $tls.enabled -}}
{{- if and (not $tls.existingSecret) (not $tls.certManager.enabled) -}}
{{- fail "tls.enabled needs the certificates: tls.existingSecret (a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt) or tls.certManager.enabled=true with tls.certManager.issuerRef.name" -}}
{{- end -}}
{{- if and $tls.existingSecret $tls.certManager.enabled -}}
{{- fail "tls.existingSecret and tls.certManager.enabled: choose one (the chart's Certificate would write its own Secret)" -}}
{{- end -}}
{{- if and $tls.certManager.enabled (not $tls.certManager.issuerRef.name) -}}
{{- fail "tls.certManager.enabled needs tls.certManager.issuerRef.name (an Issuer or ClusterIssuer that also fills ca.crt, e.g. a CA issuer)" -}}
{{- end -}}
{{- if not (has (include "skep.tlsAuthClients" .) (list "yes" "optional" "no")) -}}
{{- fail (printf "tls.authClients: %v (expected: yes, optional or no)" $tls.authClients) -}}
{{- end -}}
{{- if lt (int $tls.reloadSeconds) 0 -}}
{{- fail (printf "tls.reloadSeconds: %v (expected: 0 for never, or more)" $tls.reloadSeconds) -}}
{{- end -}}
{{- else if or $tls.existingSecret $tls.certManager.enabled -}}
{{- fail "tls.existingSecret or tls.certManager.enabled is set but tls.enabled is false: set tls.enabled=true to use TLS" -}}
{{- end -}}
{{- if not (has .Values.podAntiAffinity (list "soft" "hard" "none")) -}}
{{- fail (printf "podAntiAffinity: %v (expected: soft, hard or none)" .Values.podAntiAffinity) -}}
{{- end -}}
{{- if not (has .Values.topologySpread.whenUnsatisfiable (list "" "ScheduleAnyway" "DoNotSchedule")) -}}
{{- fail (printf "topologySpread.whenUnsatisfiable: %v (expected: ScheduleAnyway, DoNotSchedule, or \"\" for none)" .Values.topologySpread.whenUnsatisfiable) -}}
{{- end -}}
{{- if and .Values.persistence.enabled (ne .Values.workload "StatefulSet") -}}
{{- fail "persistence.enabled needs workload=StatefulSet (a PersistentVolumeClaim per pod, from volumeClaimTemplates)" -}}
{{- end -}}
{{- $p := .Values.ports -}}
{{- $ports := list 6379 (int $p.write) (int $p.read) (int $p.sentinel) (int $p.peer) (int $p.http) -}}
{{- if $tls.enabled -}}
{{- range (list $p.tlsWrite $p.tlsRead $p.tlsSentinel) -}}
{{- if gt (int .) 0 -}}
{{- $ports = append $ports (int .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if ne (len $ports) (len (uniq $ports)) -}}
{{- fail (printf "ports: two ports of the pod are the same (%v; redis has 6379)" $ports) -}}
{{- end -}}
{{- $agent := .Values.auth.agentUser -}}
{{- if $agent -}}
{{- if eq $agent "default" -}}
{{- fail "auth.agentUser: default is redis's default user, whose password (the Secret's key password) is the clients': name the agent's own user, e.g. skep" -}}
{{- end -}}
{{- if regexMatch "[\\s>#<~&%@:]" $agent -}}
{{- fail (printf "auth.agentUser: %q (expected a plain user name, e.g. skep)" $agent) -}}
{{- end -}}
{{- if not (trim .Values.auth.agentRules) -}}
{{- fail "auth.agentUser needs auth.agentRules (the rights of that user; see the chart's README)" -}}
{{- end -}}
{{- end -}}
{{- $rotation := .Values.auth.rotation -}}
{{- if $rotation.enabled -}}
{{- if and $agent (not (has "+acl|setuser" (regexSplit "\\s+" (trim .Values.auth.agentRules) -1))) -}}
{{- fail "auth.rotation.enabled with auth.agentUser: the agent rotates its own user's password with ACL SETUSER, which auth.agentRules does not grant. Add +acl|setuser to auth.agentRules (it lets the agent's user give itself any right: see the chart's README), or leave auth.agentUser empty" -}}
{{- end -}}
{{- if lt (int $rotation.windowSeconds) 0 -}}
{{- fail (printf "auth.rotation.windowSeconds: %v (expected: 0 or more)" $rotation.windowSeconds) -}}
{{- end -}}
{{- end -}}
{{- range .Values.auth.aclUsers -}}
{{- $words := include "skep.aclWords" . | fromJsonArray -}}
{{- if or (not $words) (not (index $words 0)) -}}
{{- fail (printf "auth.aclUsers: %v (expected \"<user> <rule> <rule>...\", e.g. \"app on >secret ~app:* +@read +@write\")" .) -}}
{{- end -}}
{{- if and $agent (eq (index $words 0) $agent) -}}
{{- fail (printf "auth.aclUsers: %s is auth.agentUser, which the chart defines from auth.agentRules" $agent) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
On an upgrade, the changes that the old pods and the new ones cannot live through side by side during a rolling
update, refused before anything is applied. Called with (dict "old" <the live workload, or empty> "ctx" $). A new
pod whose agent speaks TLS to its peers cannot hear the old agents (nor they it): it would elect itself on an empty
redis and take writes beside the old master. A new redis that replicates over TLS, or as the agent's user, cannot
replicate from the old master: the rollout would stop. With no pod left (replicas 0) nothing is checked. TLS between
agents moves one step at a time instead (false, accept, prefer, true): neighbouring steps hear each other.
*/}}
{{- define "skep.upgradeCheck" -}}
{{- $old := .old -}}
{{- $v := .ctx.Values -}}
{{- if and $old $old.spec (gt (int (default 0 $old.spec.replicas)) 0) -}}
{{- range $old.spec.template.spec.containers -}}
{{- if eq .name "skep" -}}
{{- $env := dict -}}
{{- range .env -}}
{{- $_ := set $env .name (toString (default "" .value)) -}}
{{- end -}}
{{- $was := dict "SKEP_TLS_PEERS" (get $env "SKEP_TLS_PEERS" | default "false") "SKEP_TLS_REDIS" (get $env "SKEP_TLS_REDIS" | default "false") "SKEP_REDIS_USER" (get $env "SKEP_REDIS_USER") -}}
{{- $now := dict "SKEP_TLS_PEERS" (toString (and $v.tls.enabled $v.tls.peers)) "SKEP_TLS_REDIS" (toString (and $v.tls.enabled $v.tls.redis)) "SKEP_REDIS_USER" (toString $v.auth.agentUser) -}}
{{- $why := dict "SKEP_TLS_PEERS" "tls.enabled/tls.peers (old and new agents could not hear each other: a new pod would elect itself on an empty redis and take writes beside the old master)" "SKEP_TLS_REDIS" "tls.enabled/tls.redis (a new redis could not replicate from the old master: the rollout would stop)" "SKEP_REDIS_USER" "auth.agentUser (a new redis would replicate as a user the old master does not have: the rollout would stop)" -}}
{{- $step := dict "false" 0 "off" 0 "accept" 1 "prefer" 2 "true" 3 "on" 3 -}}
{{- $from := int (get $step (get $was "SKEP_TLS_PEERS")) -}}
{{- $to := int (get $step (get $now "SKEP_TLS_PEERS")) -}}
{{- if or (gt (sub $to $from) 1) (gt (sub $from $to) 1) -}}
{{- fail (printf "%s cannot jump from %q to %q on a running release: move one step at a time (false -> accept -> prefer -> true, one helm upgrade each), or scale it to 0 first" (get $why "SKEP_TLS_PEERS") (get $was "SKEP_TLS_PEERS") (get $now "SKEP_TLS_PEERS")) -}}
{{- end -}}
{{- range $name := list "SKEP_TLS_REDIS" "SKEP_REDIS_USER" -}}
{{- if ne (get $was $name) (get $now $name) -}}
{{- fail (printf "%s cannot change on a running release (%s: %q -> %q). Scale it to 0 first (kubectl scale %s/%s --replicas=0; the data goes with the pods), or uninstall and install again" (get $why $name) $name (get $was $name) (get $now $name) (lower $old.kind) $old.metadata.name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
