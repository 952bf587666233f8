{{/* The chart name, or nameOverride. */}}
{{- define "relay.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The name of every object: fullnameOverride, or the release name with the chart name appended unless it holds it. */}}
{{- define "relay.fullname" -}}
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

{{/* The labels that select relay's pods. */}}
{{- define "relay.selectorLabels" -}}
app.kubernetes.io/name: {{ include "relay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The labels of every object. */}}
{{- define "relay.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "relay.selectorLabels" . }}
app.kubernetes.io/version: {{ include "relay.imageTag" . | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: relay
{{- end -}}

{{- define "relay.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion -}}
{{- end -}}

{{- define "relay.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "relay.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Whether relay gets a routes file, from values or an existing ConfigMap. */}}
{{- define "relay.hasRoutes" -}}
{{- if or .Values.config.existingConfigMap .Values.config.routes -}}true{{- end -}}
{{- end -}}

{{/* The ConfigMap holding the routes file. */}}
{{- define "relay.configMapName" -}}
{{- .Values.config.existingConfigMap | default (include "relay.fullname" .) -}}
{{- end -}}

{{/* The Secret given to relay with envFrom, if any. */}}
{{- define "relay.secretName" -}}
{{- if .Values.secret.existingSecret -}}
{{- .Values.secret.existingSecret -}}
{{- else if .Values.secret.env -}}
{{- include "relay.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* Fails on combinations of values that cannot work. */}}
{{- define "relay.validate" -}}
{{- if and (eq .Values.store.type "sqlite") (ne (int .Values.replicaCount) 1) -}}
{{- fail "replicaCount must be 1 with store.type sqlite: SQLite has one writer; use store.type postgres for several replicas" -}}
{{- end -}}
{{- if and (eq .Values.store.type "postgres") (not .Values.store.postgres.existingSecret) -}}
{{- fail "store.type postgres needs store.postgres.existingSecret: the name of a Secret holding the PostgreSQL URL" -}}
{{- end -}}
{{- if and .Values.config.existingConfigMap .Values.config.routes -}}
{{- fail "set config.routes or config.existingConfigMap, not both" -}}
{{- end -}}
{{- if and .Values.secret.existingSecret .Values.secret.env -}}
{{- fail "set secret.env or secret.existingSecret, not both" -}}
{{- end -}}
{{- end -}}

{{/* The pod template of the StatefulSet (SQLite) or the Deployment (PostgreSQL). */}}
{{- define "relay.podTemplate" -}}
metadata:
  labels:
    {{- include "relay.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # A change of the routes file, the templates or the chart's Secret rolls the pods.
    checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
    checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "relay.serviceAccountName" . }}
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: relay
      image: {{ printf "%s:%s" .Values.image.repository (include "relay.imageTag" .) | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: ["serve"]
      ports:
        - name: http
          containerPort: 8080
          protocol: TCP
      env:
        - name: RELAY_LISTEN
          value: ":8080"
        {{- if include "relay.hasRoutes" . }}
        - name: RELAY_CONFIG
          value: /etc/relay/relay.yml
        {{- end }}
        {{- if .Values.config.templates }}
        - name: RELAY_TEMPLATES
          value: /etc/relay-templates
        {{- end }}
        - name: RELAY_STORE
        {{- if eq .Values.store.type "postgres" }}
          valueFrom:
            secretKeyRef:
              name: {{ .Values.store.postgres.existingSecret }}
              key: {{ .Values.store.postgres.key }}
        {{- else }}
          value: sqlite:///data/relay.db
        {{- end }}
        - name: RELAY_SHUTDOWN_TIMEOUT
          value: {{ .Values.shutdownTimeout | quote }}
        - name: RELAY_LOG_LEVEL
          value: {{ .Values.logLevel | quote }}
        - name: RELAY_LOG_FORMAT
          value: {{ .Values.logFormat | quote }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- $secret := include "relay.secretName" . }}
      {{- if or $secret .Values.extraEnvFrom }}
      envFrom:
        {{- if $secret }}
        - secretRef:
            name: {{ $secret }}
        {{- end }}
        {{- with .Values.extraEnvFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      livenessProbe:
        {{- toYaml .Values.livenessProbe | nindent 8 }}
      readinessProbe:
        {{- toYaml .Values.readinessProbe | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        {{- if eq .Values.store.type "sqlite" }}
        - name: data
          mountPath: /data
        {{- end }}
        {{- if include "relay.hasRoutes" . }}
        - name: config
          mountPath: /etc/relay
          readOnly: true
        {{- end }}
        {{- if .Values.config.templates }}
        - name: templates
          mountPath: /etc/relay-templates
          readOnly: true
        {{- end }}
        - name: tmp
          mountPath: /tmp
  volumes:
    {{- if include "relay.hasRoutes" . }}
    - name: config
      configMap:
        name: {{ include "relay.configMapName" . }}
        items:
          - key: {{ ternary .Values.config.existingConfigMapKey "relay.yml" (ne .Values.config.existingConfigMap "") }}
            path: relay.yml
    {{- end }}
    {{- if .Values.config.templates }}
    - name: templates
      configMap:
        name: {{ include "relay.fullname" . }}-templates
    {{- end }}
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml .Values.topologySpreadConstraints | nindent 4 }}
  {{- else if eq .Values.store.type "postgres" }}
  topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "relay.selectorLabels" . | nindent 10 }}
  {{- end }}
{{- end -}}
