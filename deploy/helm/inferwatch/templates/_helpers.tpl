{{- define "inferwatch.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "inferwatch.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Pods of one component: the workers, the router or the retrain worker. */}}
{{- define "inferwatch.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "inferwatch.secretName" -}}
{{- .Values.existingSecret | default (printf "%s-secrets" (include "inferwatch.fullname" .)) -}}
{{- end -}}

{{- define "inferwatch.maxReplicas" -}}
{{- $partitions := int .Values.kafka.partitions -}}
{{- $max := int (.Values.worker.autoscaling.maxReplicas | default $partitions) -}}
{{- if gt $max $partitions -}}
{{- fail (printf "worker.autoscaling.maxReplicas (%d) exceeds kafka.partitions (%d): the workers beyond it would hold no partition" $max $partitions) -}}
{{- end -}}
{{- $max -}}
{{- end -}}

{{/*
The pod spec every component shares: settings from the ConfigMap and the Secret, a
worker id per pod (it names the transactional producers), the model store, a writable
working directory for the settings' var/ paths.
*/}}
{{- define "inferwatch.podSpec" -}}
{{- $root := .root -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  fsGroup: 10001
terminationGracePeriodSeconds: {{ $root.Values.worker.terminationGracePeriodSeconds }}
containers:
  - name: {{ .component }}
    image: "{{ $root.Values.image.repository }}:{{ $root.Values.image.tag }}"
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    {{- with .command }}
    command: {{ toJson . }}
    {{- end }}
    {{- with .args }}
    args: {{ toJson . }}
    {{- end }}
    envFrom:
      - configMapRef:
          name: {{ include "inferwatch.fullname" $root }}-settings
      - secretRef:
          name: {{ include "inferwatch.secretName" $root }}
    env:
      - name: INFERWATCH_KAFKA_WORKER_ID
        valueFrom:
          fieldRef:
            fieldPath: metadata.name
    ports:
      - name: web
        containerPort: {{ $root.Values.webPort }}
        protocol: TCP
    {{- if .probes }}
    startupProbe:
      httpGet: {path: /livez, port: web}
      {{- toYaml $root.Values.worker.probes.startup | nindent 6 }}
    livenessProbe:
      httpGet: {path: /livez, port: web}
      {{- toYaml $root.Values.worker.probes.liveness | nindent 6 }}
    readinessProbe:
      httpGet: {path: /readyz, port: web}
      {{- toYaml $root.Values.worker.probes.readiness | nindent 6 }}
    {{- end }}
    resources:
      {{- toYaml .resources | nindent 6 }}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
    volumeMounts:
      - name: work
        mountPath: /var/lib/inferwatch
      - name: models
        mountPath: {{ $root.Values.models.mountPath }}
      - name: tmp
        mountPath: /tmp
      {{- if .spillClaim }}
      - name: outbox
        mountPath: /var/lib/inferwatch/var/outbox
      {{- end }}
volumes:
  - name: work
    emptyDir: {}
  - name: tmp
    emptyDir: {}
  - name: models
    {{- if $root.Values.models.existingClaim }}
    persistentVolumeClaim:
      claimName: {{ $root.Values.models.existingClaim }}
      readOnly: true
    {{- else }}
    emptyDir: {}
    {{- end }}
  {{- if .spillClaim }}
  - name: outbox
    persistentVolumeClaim:
      claimName: {{ .spillClaim }}
  {{- end }}
{{- end -}}
