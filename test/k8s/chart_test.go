package k8s

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The shapes chart-testing installs, one ci/<shape>-values.yaml each.
var ciShapes = []string{"default", "postgres", "monitoring", "existing-secrets"}

func TestChartHasACIValuesFilePerShape(t *testing.T) {
	t.Parallel()
	have := sortedKeys(ciValues(t))
	for _, shape := range ciShapes {
		if !slices.Contains(have, shape) {
			t.Errorf("no ci/%s-values.yaml; have %v", shape, have)
		}
	}
}

func TestChartLints(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{"no values": nil}
	for shape, f := range ciValues(t) {
		cases[shape] = []string{f}
	}
	for _, name := range sortedKeys(cases) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"lint", "--strict", chartDir, "--namespace", namespace, "--kube-version", kubeVersion}, valuesArgs(cases[name])...)
			out, err := helm(t, args...)
			if err != nil {
				t.Fatalf("helm lint: %v\n%s", err, out)
			}
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Errorf("helm lint output:\n%s", out)
			}
		})
	}
}

// optionalKinds are the objects the chart renders only when asked to.
var optionalKinds = []string{"PodDisruptionBudget", "NetworkPolicy", "Ingress", "ServiceMonitor", "PrometheusRule"}

func TestChartShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		values   string   // ci shape; "" renders the chart's defaults
		external []string // objects the values name but the chart does not create
		kinds    []string // the optional kinds it renders
		check    func(t *testing.T, objs []object, w workload)
	}{
		{name: "chart defaults", check: checkSQLiteShape},
		{name: "default", values: "default", check: checkSQLiteShape},
		{name: "postgres", values: "postgres", external: []string{"relay-store"},
			kinds: []string{"PodDisruptionBudget", "NetworkPolicy"}, check: checkPostgresShape},
		{name: "monitoring", values: "monitoring",
			kinds: []string{"Ingress", "ServiceMonitor", "PrometheusRule"}, check: checkMonitoringShape},
		{name: "existing-secrets", values: "existing-secrets", external: []string{"relay-store", "relay-tokens", "relay-routes"},
			check: checkExistingSecretsShape},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var values []string
			if tt.values != "" {
				values = append(values, ciValuesFile(t, tt.values))
			}
			objs := render(t, values...)
			w := onlyWorkload(t, objs)
			for _, o := range objs {
				if !strings.HasPrefix(o.Obj.GetName(), fullname) {
					t.Errorf("%s: name does not start with the release's full name %s", o, fullname)
				}
				if l := o.Obj.GetLabels(); l["app.kubernetes.io/instance"] != releaseName || l["app.kubernetes.io/name"] != "relay" {
					t.Errorf("%s: labels %v, want app.kubernetes.io/instance=%s and name=relay", o, l, releaseName)
				}
			}
			var kinds []string
			for _, o := range objs {
				if slices.Contains(optionalKinds, o.Kind) {
					kinds = append(kinds, o.Kind)
				}
			}
			slices.Sort(kinds)
			want := slices.Sorted(slices.Values(tt.kinds))
			if !slices.Equal(kinds, want) {
				t.Errorf("optional objects %v, want %v", kinds, want)
			}
			checkRunsRelaySafely(t, w)
			checkReferences(t, objs, w, tt.external...)
			checkSelectors(t, objs, w)
			if a := w.Template.Annotations; a["checksum/config"] == "" || a["checksum/secret"] == "" {
				t.Errorf("pod annotations %v, want checksum/config and checksum/secret", a)
			}
			tt.check(t, objs, w)
		})
	}
}

// checkSelectors checks that the optional objects select the relay pods.
func checkSelectors(t *testing.T, objs []object, w workload) {
	t.Helper()
	for _, p := range ofKind[*policyv1.PodDisruptionBudget](objs) {
		if p.Spec.Selector == nil || !w.selects(p.Spec.Selector.MatchLabels) {
			t.Errorf("PodDisruptionBudget %s does not select the relay pods", p.Name)
		}
	}
	for _, n := range ofKind[*networkingv1.NetworkPolicy](objs) {
		if !w.selects(n.Spec.PodSelector.MatchLabels) {
			t.Errorf("NetworkPolicy %s does not select the relay pods", n.Name)
		}
	}
	svc := only[*corev1.Service](t, objs)
	for _, sm := range ofKind[*monitoringv1.ServiceMonitor](objs) {
		if !reflect.DeepEqual(sm.Spec.Selector.MatchLabels, svc.Spec.Selector) || !hasLabels(svc.Labels, sm.Spec.Selector.MatchLabels) {
			t.Errorf("ServiceMonitor %s selector %v does not select Service %s (labels %v)", sm.Name, sm.Spec.Selector.MatchLabels, svc.Name, svc.Labels)
		}
	}
	for _, ing := range ofKind[*networkingv1.Ingress](objs) {
		for _, r := range ing.Spec.Rules {
			for _, p := range r.HTTP.Paths {
				b := p.Backend.Service
				if b == nil || b.Name != svc.Name || !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Name == b.Port.Name }) {
					t.Errorf("Ingress %s path %s: backend %+v is not a port of Service %s", ing.Name, p.Path, b, svc.Name)
				}
			}
		}
	}
}

// hasLabels reports whether have holds every label of want.
func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return len(want) > 0
}

// checkSQLiteShape: one StatefulSet replica whose outbox is on a volume
// claim, and no Deployment.
func checkSQLiteShape(t *testing.T, objs []object, w workload) {
	t.Helper()
	if w.Kind != "StatefulSet" || w.Replicas != 1 {
		t.Fatalf("got a %s of %d replicas, want a StatefulSet of 1", w.Kind, w.Replicas)
	}
	if d := ofKind[*appsv1.Deployment](objs); len(d) != 0 {
		t.Errorf("got %d Deployments beside the StatefulSet, want none", len(d))
	}
	c := w.relay(t)
	db, ok := strings.CutPrefix(envValue(c, "RELAY_STORE"), "sqlite://")
	if !ok || !filepath.IsAbs(db) {
		t.Fatalf("RELAY_STORE = %q, want sqlite:// and an absolute path", envValue(c, "RELAY_STORE"))
	}
	vol, _ := mountFor(c, db)
	if !slices.ContainsFunc(w.Claims, func(p corev1.PersistentVolumeClaim) bool { return p.Name == vol }) {
		t.Errorf("the outbox %s is on volume %q, which is not a volumeClaimTemplate: it would die with the pod", db, vol)
	}
	for _, p := range w.Claims {
		if p.Spec.Resources.Requests.Storage().IsZero() {
			t.Errorf("volume claim %s requests no storage", p.Name)
		}
	}
}

// checkPostgresShape: a Deployment of several replicas reading RELAY_STORE
// from the existing Secret, with no volume for an outbox.
func checkPostgresShape(t *testing.T, objs []object, w workload) {
	t.Helper()
	if w.Kind != "Deployment" || w.Replicas < 2 {
		t.Fatalf("got a %s of %d replicas, want a Deployment of several", w.Kind, w.Replicas)
	}
	if s := ofKind[*appsv1.StatefulSet](objs); len(s) != 0 {
		t.Errorf("got %d StatefulSets beside the Deployment, want none", len(s))
	}
	c := w.relay(t)
	store := envVar(c, "RELAY_STORE")
	if store == nil || store.ValueFrom == nil || store.ValueFrom.SecretKeyRef == nil ||
		store.ValueFrom.SecretKeyRef.Name != "relay-store" || store.ValueFrom.SecretKeyRef.Key != "url" {
		t.Errorf("RELAY_STORE %+v, want secretKeyRef relay-store, key url", store)
	}
	for _, v := range w.Template.Spec.Volumes {
		if v.ConfigMap == nil && v.EmptyDir == nil {
			t.Errorf("volume %s is neither a ConfigMap nor an emptyDir: replicas are stateless", v.Name)
		}
	}
	pdb := only[*policyv1.PodDisruptionBudget](t, objs)
	if u := pdb.Spec.MaxUnavailable; u == nil || u.Type != intstr.Int || u.IntVal < 1 || u.IntVal >= w.Replicas {
		t.Errorf("PodDisruptionBudget maxUnavailable %v with %d replicas, want between 1 and replicas-1", u, w.Replicas)
	}
	np := only[*networkingv1.NetworkPolicy](t, objs)
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].Ports) != 1 || np.Spec.Ingress[0].Ports[0].Port.String() != "http" || len(np.Spec.Ingress[0].From) != 1 {
		t.Errorf("NetworkPolicy ingress %+v, want the http port from the one peer of the values", np.Spec.Ingress)
	}
	if dir := envValue(c, "RELAY_TEMPLATES"); dir == "" {
		t.Error("RELAY_TEMPLATES is not set, yet the values give templates")
	} else if vol, at := mountFor(c, dir); at != dir || w.volume(vol) == nil || w.volume(vol).ConfigMap == nil {
		t.Errorf("RELAY_TEMPLATES %s is not where a ConfigMap is mounted", dir)
	} else if cm := named[*corev1.ConfigMap](objs, w.volume(vol).ConfigMap.Name); cm == nil || !strings.Contains(cm.Data["ops.tmpl"], `define "ops"`) {
		t.Errorf("the templates ConfigMap %s lacks the values' ops.tmpl", w.volume(vol).ConfigMap.Name)
	}
	if len(w.Template.Spec.TopologySpreadConstraints) == 0 {
		t.Error("no topologySpreadConstraints: replicas may share a node")
	}
}

// checkMonitoringShape: a ServiceMonitor of /metrics whose targets get
// job="relay", a PrometheusRule holding deploy/prometheus's rules, both
// labelled for kube-prometheus-stack; an Ingress exposing only /v1.
func checkMonitoringShape(t *testing.T, objs []object, w workload) {
	t.Helper()
	sm := only[*monitoringv1.ServiceMonitor](t, objs)
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("ServiceMonitor endpoints %+v, want 1", sm.Spec.Endpoints)
	}
	ep := sm.Spec.Endpoints[0]
	if ep.Port != "http" || ep.Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoint port %v path %q, want http /metrics", ep.Port, ep.Path)
	}
	jobRelay := slices.ContainsFunc(ep.RelabelConfigs, func(r monitoringv1.RelabelConfig) bool {
		return r.TargetLabel == "job" && r.Replacement != nil && *r.Replacement == "relay" && len(r.SourceLabels) == 0 &&
			(r.Action == "" || strings.EqualFold(r.Action, "replace"))
	})
	if !jobRelay {
		t.Errorf("ServiceMonitor relabelings %+v do not set job=\"relay\", which RelayDown selects", ep.RelabelConfigs)
	}
	pr := only[*monitoringv1.PrometheusRule](t, objs)
	for _, o := range []interface{ GetLabels() map[string]string }{sm, pr} {
		if o.GetLabels()["release"] != "kube-prometheus-stack" {
			t.Errorf("labels %v, want the values' release=kube-prometheus-stack", o.GetLabels())
		}
	}
	want := deployRules(t)
	if !reflect.DeepEqual(pr.Spec, want) {
		got, _ := json.MarshalIndent(pr.Spec, "", "  ")
		exp, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("the PrometheusRule's rules differ from deploy/prometheus/relay-rules.yml:\n--- got\n%s\n--- want\n%s", got, exp)
	}
	if !slices.ContainsFunc(want.Groups, func(g monitoringv1.RuleGroup) bool {
		return slices.ContainsFunc(g.Rules, func(r monitoringv1.Rule) bool {
			return r.Alert == "RelayDown" && strings.Contains(r.Expr.String(), `job="relay"`)
		})
	}) {
		t.Error(`no RelayDown rule selecting job="relay", as the ServiceMonitor labels relay's targets`)
	}
	ing := only[*networkingv1.Ingress](t, objs)
	for _, r := range ing.Spec.Rules {
		for _, p := range r.HTTP.Paths {
			if p.Path != "/v1" {
				t.Errorf("Ingress exposes %s on %s, want only /v1 (not /metrics nor /-/reload)", p.Path, r.Host)
			}
		}
	}
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "relay.example.com" || len(ing.Spec.TLS) != 1 {
		t.Errorf("Ingress rules %+v tls %+v, want relay.example.com with TLS", ing.Spec.Rules, ing.Spec.TLS)
	}
}

// deployRules returns deploy/prometheus/relay-rules.yml as a PrometheusRule's spec.
func deployRules(t *testing.T) monitoringv1.PrometheusRuleSpec {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "prometheus", "relay-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var spec monitoringv1.PrometheusRuleSpec
	if err := decodeStrict(b, &spec); err != nil {
		t.Fatalf("deploy/prometheus/relay-rules.yml: %v", err)
	}
	if len(spec.Groups) == 0 {
		t.Fatal("deploy/prometheus/relay-rules.yml has no rule groups")
	}
	return spec
}

// checkExistingSecretsShape: no Secret and no ConfigMap rendered; the pod
// reads the existing ones the values name.
func checkExistingSecretsShape(t *testing.T, objs []object, w workload) {
	t.Helper()
	if s := ofKind[*corev1.Secret](objs); len(s) != 0 {
		t.Errorf("got %d Secrets, want none: the values name an existing one", len(s))
	}
	if cm := ofKind[*corev1.ConfigMap](objs); len(cm) != 0 {
		t.Errorf("got %d ConfigMaps, want none: the values name an existing one", len(cm))
	}
	c := w.relay(t)
	if !slices.ContainsFunc(c.EnvFrom, func(e corev1.EnvFromSource) bool { return e.SecretRef != nil && e.SecretRef.Name == "relay-tokens" }) {
		t.Errorf("envFrom %+v, want the existing Secret relay-tokens", c.EnvFrom)
	}
	if store := envVar(c, "RELAY_STORE"); store == nil || store.ValueFrom == nil || store.ValueFrom.SecretKeyRef == nil ||
		store.ValueFrom.SecretKeyRef.Name != "relay-store" || store.ValueFrom.SecretKeyRef.Key != "dsn" {
		t.Errorf("RELAY_STORE %+v, want secretKeyRef relay-store, key dsn", store)
	}
	file := envValue(c, "RELAY_CONFIG")
	if _, key, err := configMapFile(objs, w, file, []string{"relay-routes"}); err != nil || key != "routes.yml" {
		t.Errorf("RELAY_CONFIG %q is key %q (%v), want key routes.yml of ConfigMap relay-routes", file, key, err)
	}
	if sa := ofKind[*corev1.ServiceAccount](objs); len(sa) != 0 || w.Template.Spec.ServiceAccountName != "default" {
		t.Errorf("got %d ServiceAccounts and serviceAccountName %q, want none and default", len(sa), w.Template.Spec.ServiceAccountName)
	}
}

func TestChartRoutesPassCheckConfig(t *testing.T) {
	t.Parallel()
	for _, shape := range []string{"default", "postgres", "monitoring"} {
		t.Run(shape, func(t *testing.T) {
			t.Parallel()
			objs := render(t, ciValuesFile(t, shape))
			out, err := checkConfig(t, objs, onlyWorkload(t, objs))
			if err != nil || !strings.Contains(out, ": OK (") {
				t.Errorf("relay check-config of the rendered routes file: %v\n%s", err, out)
			}
		})
	}
	t.Run("a broken routes file fails", func(t *testing.T) {
		t.Parallel()
		broken := valuesFile(t, "config:\n  routes:\n    routes:\n      ops:\n        targets:\n          - sender: no-such-sender\n            room: \"1\"\n")
		objs := render(t, ciValuesFile(t, "default"), broken)
		out, err := checkConfig(t, objs, onlyWorkload(t, objs))
		if err == nil || !strings.Contains(out, "no-such-sender") {
			t.Errorf("relay check-config of a route to an unknown sender: err %v, output:\n%s\nwant a failure naming the sender", err, out)
		}
	})
}

func TestChartChecksumAnnotationFollowsConfig(t *testing.T) {
	t.Parallel()
	base := ciValuesFile(t, "default")
	annotations := func(t *testing.T, values ...string) map[string]string {
		t.Helper()
		return onlyWorkload(t, render(t, values...)).Template.Annotations
	}
	before := annotations(t, base)
	tests := []struct {
		name                     string
		values                   []string
		configChanges, secretChg bool
	}{
		{"same values", []string{base}, false, false},
		{"another room", []string{base, valuesFile(t, "config:\n  routes:\n    routes:\n      ops:\n        targets:\n          - sender: chatwork\n            room: \"999999\"\n")}, true, false},
		{"another token", []string{base, valuesFile(t, "secret:\n  env:\n    RELAY_CHATWORK_TOKEN: rotated\n")}, false, true},
		{"a template", []string{base, valuesFile(t, "config:\n  templates:\n    x.tmpl: '{{ define \"x\" }}x{{ end }}'\n")}, true, false},
		{"log level", []string{base, valuesFile(t, "logLevel: debug\n")}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			after := annotations(t, tt.values...)
			if changed := after["checksum/config"] != before["checksum/config"]; changed != tt.configChanges {
				t.Errorf("checksum/config changed: %v, want %v", changed, tt.configChanges)
			}
			if changed := after["checksum/secret"] != before["checksum/secret"]; changed != tt.secretChg {
				t.Errorf("checksum/secret changed: %v, want %v", changed, tt.secretChg)
			}
		})
	}
}

func TestChartRejectsBadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values string
		want   string // in helm's error
	}{
		{"misspelt top-level key", "replicaCont: 1\n", "replicaCont"},
		{"misspelt nested key", "store:\n  sqllite: {size: 1Gi}\n", "sqllite"},
		{"misspelt switch", "serviceMonitor:\n  enable: true\n", "enable"},
		{"unknown store", "store:\n  type: mysql\n", "/store/type"},
		{"several SQLite replicas", "replicaCount: 3\n", "replicaCount"},
		{"PostgreSQL without its Secret", "store:\n  type: postgres\nreplicaCount: 2\n", "existingSecret"},
		{"routes twice", "config:\n  existingConfigMap: x\n  routes: {routes: {}}\n", "not both"},
		{"a Secret key that is no variable name", "secret:\n  env:\n    chatwork-token: x\n", "chatwork-token"},
		{"unknown log level", "logLevel: verbose\n", "/logLevel"},
		{"a duration that is none", "shutdownTimeout: 25\n", "shutdownTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := renderChart(t, valuesFile(t, tt.values))
			if err == nil {
				t.Fatalf("helm template accepted %q:\n%s", tt.values, out)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("helm template of %q: %v\nwant an error naming %q", tt.values, err, tt.want)
			}
		})
	}
}

func TestChartCIValuesRenderEveryTemplate(t *testing.T) {
	t.Parallel()
	rendered := map[string]bool{}
	for _, f := range ciValues(t) {
		for _, o := range render(t, f) {
			rendered[filepath.Base(o.Source)] = true
		}
	}
	templates, err := filepath.Glob(filepath.Join(chartDir, "templates", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tmpl := range templates {
		if !rendered[filepath.Base(tmpl)] {
			t.Errorf("no ci/*-values.yaml renders %s: chart-testing and these tests never see it", filepath.Base(tmpl))
		}
	}
}

func TestChartNotes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		values string
		want   []string
	}{
		{"default", []string{"http://ops-relay.alerting.svc:8080/v1/alertmanager/<route>", "SQLite outbox on the volume data-ops-relay-0"}},
		{"postgres", []string{"3 replicas (Deployment)", "Secret relay-store"}},
		{"monitoring", []string{"https://relay.example.com/v1/", "does not go through relay"}},
		{"existing-secrets", []string{"rollout restart deployment/ops-relay", "ConfigMap relay-routes and Secret relay-tokens"}},
	}
	chart := chartWithNotesAsConfigMap(t)
	for _, tt := range tests {
		t.Run(tt.values, func(t *testing.T) {
			t.Parallel()
			out, err := renderChartAt(t, chart, ciValuesFile(t, tt.values))
			if err != nil {
				t.Fatal(err)
			}
			notes := named[*corev1.ConfigMap](decodeObjects(t, "helm template", []byte(out)), "notes-under-test").Data["notes"]
			for _, w := range tt.want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
		})
	}
}

// chartWithNotesAsConfigMap copies the chart into a temporary folder and
// adds a ConfigMap holding NOTES.txt as rendered, since helm template does
// not print the notes and helm install needs a cluster.
func chartWithNotesAsConfigMap(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "relay")
	err := filepath.WalkDir(chartDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		writeFile(t, filepath.Join(dir, rel), string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join(chartDir, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "templates", "_notes_under_test.tpl"), `{{- define "notes-under-test" -}}`+string(notes)+`{{- end -}}`)
	writeFile(t, filepath.Join(dir, "templates", "notes-under-test.yaml"),
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-under-test\ndata:\n  notes: {{ include \"notes-under-test\" . | toJson }}\n")
	return dir
}

// TestChartRulesAreDeploysRules compares the chart's rule file with
// deploy/prometheus's without helm; TestChartShapes compares the rendered
// PrometheusRule too.
func TestChartRulesAreDeploysRules(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(chartDir, "files", "relay-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart monitoringv1.PrometheusRuleSpec
	if err := decodeStrict(b, &chart); err != nil {
		t.Fatalf("charts/relay/files/relay-rules.yml: %v", err)
	}
	if want := deployRules(t); !reflect.DeepEqual(chart, want) {
		t.Error("charts/relay/files/relay-rules.yml and deploy/prometheus/relay-rules.yml hold different rules; keep them equal")
	}
}
