package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// deployDir holds the deployment files these tests check.
const deployDir = "../deploy"

// relayMetrics are the metrics relay exports that the alerting rules and the
// dashboard may query, with their type: histograms may also be queried as
// _bucket, _sum and _count.
var relayMetrics = map[string]string{
	"relay_webhooks_received_total":           "counter",
	"relay_messages_enqueued_total":           "counter",
	"relay_messages_sent_total":               "counter",
	"relay_messages_retried_total":            "counter",
	"relay_messages_dead_lettered_total":      "counter",
	"relay_queue_depth":                       "gauge",
	"relay_queue_oldest_age_seconds":          "gauge",
	"relay_upstream_request_duration_seconds": "histogram",
	"relay_limiter_wait_seconds":              "histogram",
	"relay_upstream_rate_limited_total":       "counter",
	"relay_template_fallbacks_total":          "counter",
	"relay_coalesced_messages":                "histogram",
	"relay_config_last_reload_successful":     "gauge",
	"relay_build_info":                        "gauge",
}

// metricToken finds relay metric names, and Prometheus's up, in PromQL.
var metricToken = regexp.MustCompile(`\b(relay_[a-z0-9_]+|up)\b`)

// metricsIn returns the metric names expr queries, histogram suffixes
// removed, and the names relay does not export.
func metricsIn(expr string) (used, unknown []string) {
	for _, tok := range metricToken.FindAllString(expr, -1) {
		if tok == "up" {
			used = append(used, tok)
			continue
		}
		name := tok
		if _, ok := relayMetrics[name]; !ok {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, cut := strings.CutSuffix(tok, suffix); cut && relayMetrics[base] == "histogram" {
					name = base
				}
			}
		}
		if _, ok := relayMetrics[name]; !ok {
			unknown = append(unknown, tok)
			continue
		}
		used = append(used, name)
	}
	return used, unknown
}

// k8sObject is one Kubernetes object of deploy/kubernetes.
type k8sObject struct {
	File       string
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	node *yaml.Node
}

// decode decodes the whole object into v.
func (m k8sObject) decode(t *testing.T, v any) {
	t.Helper()
	if err := m.node.Decode(v); err != nil {
		t.Fatalf("%s: decode %s %s: %v", m.File, m.Kind, m.Metadata.Name, err)
	}
}

// yamlDocuments parses every document of a YAML file.
func yamlDocuments(t *testing.T, file string) []*yaml.Node {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("parse %s: %v", file, err)
		}
		docs = append(docs, &n)
	}
}

// deployFiles lists the files under deploy/ whose names end in one of exts.
func deployFiles(t *testing.T, exts ...string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(deployDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && slices.Contains(exts, filepath.Ext(p)) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no %v files under %s", exts, deployDir)
	}
	return files
}

// manifests returns every Kubernetes object under deploy/kubernetes.
func manifests(t *testing.T) []k8sObject {
	t.Helper()
	var out []k8sObject
	for _, f := range deployFiles(t, ".yaml", ".yml") {
		if !strings.HasPrefix(f, filepath.Join(deployDir, "kubernetes")) {
			continue
		}
		for _, doc := range yamlDocuments(t, f) {
			m := k8sObject{File: f, node: doc}
			m.decode(t, &m)
			out = append(out, m)
		}
	}
	return out
}

// findObject returns the only object of kind and name, failing the test otherwise.
func findObject(t *testing.T, all []k8sObject, kind, name string) k8sObject {
	t.Helper()
	var found []k8sObject
	for _, m := range all {
		if m.Kind == kind && m.Metadata.Name == name {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("got %d %s objects named %q, want 1", len(found), kind, name)
	}
	return found[0]
}

func TestDeployYAMLFilesParse(t *testing.T) {
	t.Parallel()
	for _, f := range deployFiles(t, ".yaml", ".yml") {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			if docs := yamlDocuments(t, f); len(docs) == 0 {
				t.Errorf("%s has no YAML document", f)
			}
		})
	}
}

func TestDeployKubernetesObjectsAreComplete(t *testing.T) {
	t.Parallel()
	for _, m := range manifests(t) {
		if m.APIVersion == "" || m.Kind == "" {
			t.Errorf("%s: object without apiVersion or kind", m.File)
		}
		if m.Kind != "Kustomization" && m.Metadata.Name == "" {
			t.Errorf("%s: %s without metadata.name", m.File, m.Kind)
		}
	}
}

func TestDeployKustomizationsListEveryManifest(t *testing.T) {
	t.Parallel()
	for _, m := range manifests(t) {
		if m.Kind != "Kustomization" {
			continue
		}
		var k struct {
			Resources []string `yaml:"resources"`
		}
		m.decode(t, &k)
		dir := filepath.Dir(m.File)
		for _, r := range k.Resources {
			if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
				t.Errorf("%s: resource %s: %v", m.File, r, err)
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.IsDir() && e.Name() != "kustomization.yaml" && !slices.Contains(k.Resources, e.Name()) {
				t.Errorf("%s does not list %s", m.File, e.Name())
			}
		}
	}
}

// k8sPodSpec is the part of a Deployment's or StatefulSet's pod these tests read.
type k8sPodSpec struct {
	TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               struct {
		RunAsNonRoot bool  `yaml:"runAsNonRoot"`
		RunAsUser    int64 `yaml:"runAsUser"`
	} `yaml:"securityContext"`
	Containers []k8sContainer `yaml:"containers"`
	Volumes    []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
	} `yaml:"volumes"`
}

type k8sContainer struct {
	Name string `yaml:"name"`
	Env  []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		ReadOnlyRootFilesystem   bool `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation bool `yaml:"allowPrivilegeEscalation"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
	} `yaml:"httpGet"`
}

// env returns the plain value of the variable name.
func (c k8sContainer) env(name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// mountFor returns the volume mounted at the deepest mount path holding p.
func (c k8sContainer) mountFor(p string) (volume, mountPath string) {
	for _, m := range c.VolumeMounts {
		if (p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/")) && len(m.MountPath) > len(mountPath) {
			volume, mountPath = m.Name, m.MountPath
		}
	}
	return volume, mountPath
}

// k8sWorkload is a Deployment or StatefulSet.
type k8sWorkload struct {
	Spec struct {
		Replicas int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec k8sPodSpec `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		} `yaml:"volumeClaimTemplates"`
	} `yaml:"spec"`
}

// relayContainer decodes m as a workload and returns it with its relay container.
func relayContainer(t *testing.T, m k8sObject) (k8sWorkload, k8sContainer) {
	t.Helper()
	var w k8sWorkload
	m.decode(t, &w)
	for _, c := range w.Spec.Template.Spec.Containers {
		if c.Name == "relay" {
			return w, c
		}
	}
	t.Fatalf("%s: %s %s has no container named relay", m.File, m.Kind, m.Metadata.Name)
	return w, k8sContainer{}
}

// secretValues returns the stringData of every Secret, by Secret name.
func secretValues(t *testing.T, all []k8sObject) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, m := range all {
		if m.Kind == "Secret" {
			var s struct {
				StringData map[string]string `yaml:"stringData"`
			}
			m.decode(t, &s)
			out[m.Metadata.Name] = s.StringData
		}
	}
	return out
}

func TestDeployWorkloadsRunRelaySafely(t *testing.T) {
	t.Parallel()
	all := manifests(t)
	secrets := secretValues(t, all)
	tests := []struct {
		name         string
		kind         string
		wantReplicas func(int) bool
	}{
		{name: "sqlite statefulset", kind: "StatefulSet", wantReplicas: func(n int) bool { return n == 1 }},
		{name: "postgres deployment", kind: "Deployment", wantReplicas: func(n int) bool { return n > 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := findObject(t, all, tt.kind, "relay")
			w, c := relayContainer(t, m)
			pod := w.Spec.Template.Spec
			if !tt.wantReplicas(w.Spec.Replicas) {
				t.Errorf("replicas = %d", w.Spec.Replicas)
			}
			for k, v := range w.Spec.Selector.MatchLabels {
				if w.Spec.Template.Metadata.Labels[k] != v {
					t.Errorf("selector %s=%s does not match the pod labels %v", k, v, w.Spec.Template.Metadata.Labels)
				}
			}
			if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
				t.Errorf("liveness probe %+v, want GET /healthz", c.LivenessProbe)
			}
			if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
				t.Errorf("readiness probe %+v, want GET /readyz", c.ReadinessProbe)
			}
			shutdown := 25 * time.Second
			if v := c.env("RELAY_SHUTDOWN_TIMEOUT"); v != "" {
				d, err := time.ParseDuration(v)
				if err != nil {
					t.Fatalf("RELAY_SHUTDOWN_TIMEOUT: %v", err)
				}
				shutdown = d
			}
			if grace := time.Duration(pod.TerminationGracePeriodSeconds) * time.Second; grace <= shutdown {
				t.Errorf("terminationGracePeriodSeconds %v, want more than RELAY_SHUTDOWN_TIMEOUT %v", grace, shutdown)
			}
			if !pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.RunAsUser == 0 {
				t.Errorf("pod securityContext %+v, want runAsNonRoot and a non-zero runAsUser", pod.SecurityContext)
			}
			sc := c.SecurityContext
			if !sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation || !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
				t.Errorf("container securityContext %+v, want a read-only root, no privilege escalation, drop ALL", sc)
			}
			if c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
				t.Errorf("resources %+v, want memory requests and limits", c.Resources)
			}
			if a := w.Spec.Template.Metadata.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" {
				t.Errorf("pod annotations %v, want prometheus.io scrape of /metrics", a)
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					continue
				}
				ref := e.ValueFrom.SecretKeyRef
				if _, ok := secrets[ref.Name][ref.Key]; !ok {
					t.Errorf("%s refers to secret %s key %s, which no Secret under deploy/kubernetes has", e.Name, ref.Name, ref.Key)
				}
			}
			checkConfigMount(t, all, pod, c)
		})
	}
}

// checkConfigMount checks that RELAY_CONFIG names a key of a mounted ConfigMap.
func checkConfigMount(t *testing.T, all []k8sObject, pod k8sPodSpec, c k8sContainer) {
	t.Helper()
	file := c.env("RELAY_CONFIG")
	vol, dir := c.mountFor(file)
	if file == "" || vol == "" {
		t.Fatalf("RELAY_CONFIG %q is not on a mounted volume", file)
	}
	for _, v := range pod.Volumes {
		if v.Name != vol || v.ConfigMap == nil {
			continue
		}
		var cm struct {
			Data map[string]string `yaml:"data"`
		}
		findObject(t, all, "ConfigMap", v.ConfigMap.Name).decode(t, &cm)
		if _, ok := cm.Data[strings.TrimPrefix(file, dir+"/")]; !ok {
			t.Errorf("RELAY_CONFIG %s: ConfigMap %s has no such key", file, v.ConfigMap.Name)
		}
		return
	}
	t.Errorf("RELAY_CONFIG %s: volume %s is not a ConfigMap", file, vol)
}

func TestDeployStatefulSetKeepsOutboxOnItsVolume(t *testing.T) {
	t.Parallel()
	m := findObject(t, manifests(t), "StatefulSet", "relay")
	w, c := relayContainer(t, m)
	store := c.env("RELAY_STORE")
	db, ok := strings.CutPrefix(store, "sqlite://")
	if !ok || !path.IsAbs(db) {
		t.Fatalf("RELAY_STORE = %q, want sqlite:// and an absolute path", store)
	}
	vol, _ := c.mountFor(db)
	if vol == "" {
		t.Fatalf("%s is on no mounted volume: the outbox would die with the pod", db)
	}
	var claims []string
	for _, v := range w.Spec.VolumeClaimTemplates {
		claims = append(claims, v.Metadata.Name)
	}
	if !slices.Contains(claims, vol) {
		t.Errorf("%s is on volume %q, want one of the volumeClaimTemplates %v", db, vol, claims)
	}
}

func TestDeployPostgresReplicasShareADatabaseAndABudget(t *testing.T) {
	t.Parallel()
	all := manifests(t)
	w, c := relayContainer(t, findObject(t, all, "Deployment", "relay"))
	var ref *struct {
		Name string `yaml:"name"`
		Key  string `yaml:"key"`
	}
	for _, e := range c.Env {
		if e.Name == "RELAY_STORE" && e.ValueFrom != nil {
			ref = e.ValueFrom.SecretKeyRef
		}
	}
	if ref == nil {
		t.Fatal("RELAY_STORE is not read from a Secret; it holds the database password")
	}
	if url := secretValues(t, all)[ref.Name][ref.Key]; !strings.HasPrefix(url, "postgres://") {
		t.Errorf("secret %s key %s = %q, want a postgres:// URL", ref.Name, ref.Key, url)
	}
	var pdb struct {
		Spec struct {
			MinAvailable int `yaml:"minAvailable"`
			Selector     struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
		} `yaml:"spec"`
	}
	findObject(t, all, "PodDisruptionBudget", "relay").decode(t, &pdb)
	if pdb.Spec.MinAvailable < 1 || pdb.Spec.MinAvailable >= w.Spec.Replicas {
		t.Errorf("PodDisruptionBudget minAvailable %d with %d replicas, want between 1 and replicas-1", pdb.Spec.MinAvailable, w.Spec.Replicas)
	}
	for k, v := range pdb.Spec.Selector.MatchLabels {
		if w.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("PodDisruptionBudget selector %s=%s does not select the relay pods", k, v)
		}
	}
}

func TestDeployRoutesFilePassesCheckConfig(t *testing.T) {
	t.Parallel()
	all := manifests(t)
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	findObject(t, all, "ConfigMap", "relay-config").decode(t, &cm)
	dir := t.TempDir()
	file := filepath.Join(dir, "relay.yml")
	if err := os.WriteFile(file, []byte(cm.Data["relay.yml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	// The pod's environment, secrets included, with local paths.
	_, c := relayContainer(t, findObject(t, all, "StatefulSet", "relay"))
	secrets := secretValues(t, all)
	cmd := exec.Command(relayBin, "check-config")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			v = secrets[e.ValueFrom.SecretKeyRef.Name][e.ValueFrom.SecretKeyRef.Key]
		}
		switch e.Name {
		case "RELAY_CONFIG":
			v = file
		case "RELAY_STORE":
			v = "sqlite://" + filepath.Join(dir, "relay.db")
		}
		cmd.Env = append(cmd.Env, e.Name+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("relay check-config of the ConfigMap's relay.yml: %v\n%s", err, out)
	}
}

// ruleFile is a Prometheus rule file.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestDeployAlertingRules(t *testing.T) {
	t.Parallel()
	var rf ruleFile
	if err := yamlDocuments(t, filepath.Join(deployDir, "prometheus", "relay-rules.yml"))[0].Decode(&rf); err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: want a name and rules", g.Name)
		}
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("rule %q: want alert and expr", r.Alert)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
				t.Errorf("%s: severity %q, want critical, warning or info", r.Alert, s)
			}
			for _, a := range []string{"summary", "description", "runbook"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for: %v", r.Alert, err)
				}
			}
			used, unknown := metricsIn(r.Expr)
			if len(used) == 0 {
				t.Errorf("%s: expr %q queries no relay metric nor up", r.Alert, r.Expr)
			}
			if len(unknown) > 0 {
				t.Errorf("%s: expr queries metrics relay does not export: %v", r.Alert, unknown)
			}
		}
	}
	for _, want := range []string{"RelayDown", "RelayQueueGrowing", "RelayQueueOldestMessage", "RelayDeadLetters",
		"RelayRateLimited", "RelayDeliveryFailing", "RelayConfigReloadFailed"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no %s alert; have %v", want, alerts)
		}
	}
}

// dashboardPanel is a Grafana panel; rows may nest panels.
type dashboardPanel struct {
	Type    string           `json:"type"`
	Title   string           `json:"title"`
	Panels  []dashboardPanel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func TestDeployDashboard(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(deployDir, "grafana", "relay-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title         string           `json:"title"`
		UID           string           `json:"uid"`
		SchemaVersion int              `json:"schemaVersion"`
		Panels        []dashboardPanel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("parse dashboard: %v", err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion != 39 {
		t.Errorf("title %q, uid %q, schemaVersion %d; want a title, a uid and schema 39", d.Title, d.UID, d.SchemaVersion)
	}
	seen := map[string]bool{}
	var check func(p dashboardPanel)
	check = func(p dashboardPanel) {
		for _, sub := range p.Panels {
			check(sub)
		}
		if p.Type == "row" {
			return
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no targets", p.Title)
		}
		for _, tg := range p.Targets {
			used, unknown := metricsIn(tg.Expr)
			if len(used) == 0 {
				t.Errorf("panel %q: expr %q queries no relay metric", p.Title, tg.Expr)
			}
			if len(unknown) > 0 {
				t.Errorf("panel %q: expr queries metrics relay does not export: %v", p.Title, unknown)
			}
			for _, u := range used {
				seen[u] = true
			}
		}
	}
	for _, p := range d.Panels {
		check(p)
	}
	for name := range relayMetrics {
		if !seen[name] {
			t.Errorf("no panel shows %s", name)
		}
	}
}

func TestDeployUpstreamExamplesUseTheConfiguredRoute(t *testing.T) {
	t.Parallel()
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	findObject(t, manifests(t), "ConfigMap", "relay-config").decode(t, &cm)
	var routes struct {
		Routes map[string]struct {
			Auth map[string]any `yaml:"auth"`
		} `yaml:"routes"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["relay.yml"]), &routes); err != nil {
		t.Fatal(err)
	}

	var am struct {
		Receivers []struct {
			WebhookConfigs []struct {
				URL          string `yaml:"url"`
				SendResolved bool   `yaml:"send_resolved"`
				HTTPConfig   struct {
					Authorization struct {
						CredentialsFile string `yaml:"credentials_file"`
					} `yaml:"authorization"`
				} `yaml:"http_config"`
			} `yaml:"webhook_configs"`
		} `yaml:"receivers"`
	}
	if err := yamlDocuments(t, filepath.Join(deployDir, "alertmanager", "alertmanager.yml"))[0].Decode(&am); err != nil {
		t.Fatal(err)
	}
	var hooks int
	for _, r := range am.Receivers {
		for _, w := range r.WebhookConfigs {
			hooks++
			route, ok := strings.CutPrefix(w.URL, "http://relay:8080/v1/alertmanager/")
			if !ok || routes.Routes[route].Auth["bearer_token_env"] == nil {
				t.Errorf("alertmanager webhook %s: want a route of relay.yml with bearer auth", w.URL)
			}
			if !w.SendResolved || w.HTTPConfig.Authorization.CredentialsFile == "" {
				t.Errorf("alertmanager webhook %s: want send_resolved and authorization.credentials_file", w.URL)
			}
		}
	}
	if hooks == 0 {
		t.Error("alertmanager.yml has no webhook_configs")
	}

	var cp struct {
		ContactPoints []struct {
			Receivers []struct {
				Type     string `yaml:"type"`
				Settings struct {
					URL        string `yaml:"url"`
					HMACConfig struct {
						Secret string `yaml:"secret"`
						Header string `yaml:"header"`
					} `yaml:"hmacConfig"`
				} `yaml:"settings"`
			} `yaml:"receivers"`
		} `yaml:"contactPoints"`
	}
	if err := yamlDocuments(t, filepath.Join(deployDir, "grafana", "contact-point.yaml"))[0].Decode(&cp); err != nil {
		t.Fatal(err)
	}
	if len(cp.ContactPoints) == 0 || len(cp.ContactPoints[0].Receivers) == 0 {
		t.Fatal("contact-point.yaml has no receiver")
	}
	r := cp.ContactPoints[0].Receivers[0]
	route, ok := strings.CutPrefix(r.Settings.URL, "http://relay:8080/v1/grafana/")
	if r.Type != "webhook" || !ok || routes.Routes[route].Auth["grafana_hmac"] == nil {
		t.Errorf("grafana contact point %s %s: want a webhook to a route of relay.yml with grafana_hmac", r.Type, r.Settings.URL)
	}
	if r.Settings.HMACConfig.Secret == "" || r.Settings.HMACConfig.Header != "X-Grafana-Alerting-Signature" {
		t.Errorf("grafana hmacConfig %+v, want a secret and the X-Grafana-Alerting-Signature header", r.Settings.HMACConfig)
	}
}

func TestDeployDockerfile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	// Instructions of the final stage, continuation lines joined.
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	var all, final []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		all = append(all, line)
		if strings.HasPrefix(line, "FROM ") {
			final = nil
		}
		final = append(final, line)
	}
	has := func(lines []string, prefix, substr string) bool {
		return slices.ContainsFunc(lines, func(l string) bool {
			return strings.HasPrefix(l, prefix) && strings.Contains(l, substr)
		})
	}
	tests := []struct {
		name          string
		lines         []string
		prefix, value string
	}{
		{"static build", all, "RUN ", "CGO_ENABLED=0"},
		{"trimmed paths", all, "RUN ", "-trimpath"},
		{"version stamped", all, "RUN ", "-X main.version="},
		{"outbox on the volume", final, "ENV ", "RELAY_STORE=sqlite:///data/relay.db"},
		{"data volume", final, "VOLUME ", "/data"},
		{"port", final, "EXPOSE ", "8080"},
	}
	for _, tt := range tests {
		if !has(tt.lines, tt.prefix, tt.value) {
			t.Errorf("%s: no %s instruction with %q", tt.name, strings.TrimSpace(tt.prefix), tt.value)
		}
	}
	var user string
	for _, l := range final {
		if u, ok := strings.CutPrefix(l, "USER "); ok {
			user = strings.TrimSpace(u)
		}
	}
	if name, _, _ := strings.Cut(user, ":"); name == "" || name == "0" || name == "root" {
		t.Errorf("final stage USER %q, want a non-root user", user)
	}
}
