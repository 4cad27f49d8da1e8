{{/*
Names, labels and the one pod shape every part shares: the parts differ only in their command,
their port and which secrets they hold, so those are the only arguments of "linkage.pod".
*/}}

{{- define "linkage.fullname" -}}
{{- if contains "linkage" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-linkage" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* (list $ "api") -> the name of that part's objects */}}
{{- define "linkage.component" -}}
{{- printf "%s-%s" (include "linkage.fullname" (index . 0)) (index . 1) -}}
{{- end -}}

{{- define "linkage.selectorLabels" -}}
app.kubernetes.io/name: linkage
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "linkage.labels" -}}
{{ include "linkage.selectorLabels" . }}
app.kubernetes.io/version: {{ (index . 0).Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ (index . 0).Release.Service }}
helm.sh/chart: {{ printf "%s-%s" (index . 0).Chart.Name (index . 0).Chart.Version }}
{{- end -}}

{{/* Fixed ports: the image's contract, the same flags the cluster tier passes. */}}
{{- define "linkage.ports" -}}
api: 8380
codec: 8381
ui-gate: 8382
worker: 8390
{{- end -}}

{{- define "linkage.port" -}}
{{- index (include "linkage.ports" . | fromYaml) . -}}
{{- end -}}

{{/*
Each secret: its file under /run/secrets/linkage/ and the variable that names the file.
LINKAGE_TOKEN_KEY is a path already, so it has no _FILE suffix.
*/}}
{{- define "linkage.secretFiles" -}}
database: {file: database-url, env: LINKAGE_DATABASE_URL_FILE}
codecKeys: {file: codec-keys, env: LINKAGE_CODEC_KEYS_FILE}
commandKeys: {file: command-keys, env: LINKAGE_COMMAND_KEYS_FILE}
districtSecret: {file: district-secret, env: LINKAGE_SECRET_FILE}
tokenKey: {file: token-key, env: LINKAGE_TOKEN_KEY}
temporalCa: {file: temporal-ca.pem, env: TEMPORAL_TLS_SERVER_CA_CERT_PATH}
temporalWriter: {file: temporal-writer-token, env: TEMPORAL_API_KEY_FILE}
temporalReader: {file: temporal-reader-token, env: TEMPORAL_API_KEY_FILE}
temporalAdmin: {file: temporal-admin-token, env: TEMPORAL_API_KEY_FILE}
{{- end -}}

{{- define "linkage.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- printf "%s:%s" (required "image.repository is required" .Values.image.repository) $tag -}}
{{- end -}}

{{/*
The pod. Arguments (a dict): root ($), component, args (after `linkage`), resources, secrets
(ids of linkage.secretFiles besides temporalCa, which every pod has), port (probed when set),
restartPolicy (Jobs).
*/}}
{{- define "linkage.pod" -}}
{{- $ := .root -}}
{{- $table := include "linkage.secretFiles" $ | fromYaml -}}
{{- $ids := prepend .secrets "temporalCa" -}}
automountServiceAccountToken: false
enableServiceLinks: false
{{- /* the worker lets running activities finish for 30 s after SIGTERM: give it room */}}
terminationGracePeriodSeconds: {{ eq .component "worker" | ternary 60 30 }}
{{- with .restartPolicy }}
restartPolicy: {{ . }}
{{- end }}
{{- with $.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  fsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
containers:
  - name: {{ .component }}
    image: {{ include "linkage.image" $ | quote }}
    imagePullPolicy: {{ $.Values.image.pullPolicy }}
    command:
      {{- toYaml (prepend .args "linkage") | nindent 6 }}
    env:
      - name: TEMPORAL_ADDRESS
        value: {{ $.Values.temporal.address | quote }}
      - name: TEMPORAL_NAMESPACE
        value: {{ $.Values.temporal.namespace | quote }}
      - name: TEMPORAL_TLS
        value: "true"
      - name: TEMPORAL_TLS_SERVER_NAME
        value: {{ $.Values.temporal.tlsServerName | quote }}
      - name: LINKAGE_STATE_DIR
        value: /var/lib/linkage
      - name: LINKAGE_CONFIG_DIR
        value: /app/temporal-config
      {{- range $ids }}
      - name: {{ (get $table .).env }}
        value: {{ printf "/run/secrets/linkage/%s" (get $table .).file }}
      {{- end }}
      {{- with .env }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- with .port }}
    ports:
      - name: http
        containerPort: {{ . }}
        protocol: TCP
    livenessProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 10
      timeoutSeconds: 3
      failureThreshold: 6
    readinessProbe:
      httpGet: {path: /readyz, port: http}
      periodSeconds: 5
      timeoutSeconds: 3
      failureThreshold: 3
    {{- end }}
    resources:
      {{- toYaml .resources | nindent 6 }}
    securityContext:
      runAsNonRoot: true
      runAsUser: 10001
      runAsGroup: 10001
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities:
        drop: [ALL]
      seccompProfile:
        type: RuntimeDefault
    volumeMounts:
      - {name: state, mountPath: /var/lib/linkage}
      - {name: tmp, mountPath: /tmp}
      - {name: secrets, mountPath: /run/secrets/linkage, readOnly: true}
volumes:
  - name: state
    emptyDir:
      sizeLimit: 256Mi
  - name: tmp
    emptyDir:
      sizeLimit: 256Mi
  - name: secrets
    projected:
      defaultMode: 0440
      sources:
        {{- range $ids }}
        {{- $given := index $.Values.secrets . }}
        - secret:
            name: {{ required (printf "secrets.%s.name is required" .) $given.name | quote }}
            items:
              - key: {{ required (printf "secrets.%s.key is required" .) $given.key | quote }}
                path: {{ (get $table .).file }}
        {{- end }}
{{- end -}}

{{/* A Deployment of one part: (dict "root" $ "component" … "values" <its values> …pod args) */}}
{{- define "linkage.deployment" -}}
{{- $ := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "linkage.component" (list $ .component) }}
  labels:
    {{- include "linkage.labels" (list $ .component) | nindent 4 }}
spec:
  replicas: {{ .values.replicas }}
  selector:
    matchLabels:
      {{- include "linkage.selectorLabels" (list $ .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "linkage.labels" (list $ .component) | nindent 8 }}
    spec:
      {{- include "linkage.pod" (merge (dict "resources" .values.resources) .) | nindent 6 }}
{{- end -}}

{{/* The Service in front of one part's pods. */}}
{{- define "linkage.service" -}}
{{- $ := index . 0 -}}
{{- $component := index . 1 -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "linkage.component" (list $ $component) }}
  labels:
    {{- include "linkage.labels" (list $ $component) | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "linkage.selectorLabels" (list $ $component) | nindent 4 }}
  ports:
    - name: http
      port: {{ include "linkage.port" $component }}
      targetPort: http
      protocol: TCP
{{- end -}}
